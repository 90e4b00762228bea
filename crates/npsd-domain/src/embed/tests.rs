use super::*;
use serde_json::json;

#[test]
fn origins_are_scheme_host_and_port_only() {
    assert_eq!(
        parse_origin("o", "https://Shop.Example").unwrap(),
        "https://shop.example"
    );
    assert_eq!(
        parse_origin("o", "https://shop.example:443/").unwrap(),
        "https://shop.example"
    );
    assert_eq!(
        parse_origin("o", "http://127.0.0.1:8080").unwrap(),
        "http://127.0.0.1:8080"
    );
    for bad in [
        "shop.example",
        "https://shop.example/path",
        "https://shop.example?x",
        "ftp://shop.example",
        "https://user@shop.example",
        "*",
        "null",
        "",
        "https://*",
        "https://*.shop.example",
        "https://a.example;sandbox",
        "https://a,b.example",
    ] {
        assert!(parse_origin("o", bad).is_err(), "{bad}");
    }
    let allowed = parse_origins(
        "o",
        &["https://a.example".into(), "https://a.example/".into()],
    )
    .unwrap();
    assert_eq!(allowed, vec!["https://a.example"]);
    assert!(origin_allowed(&allowed, "https://a.example"));
    assert!(!origin_allowed(&allowed, "https://b.example"));
    assert!(!origin_allowed(&allowed, "https://a.example.evil"));
    assert!(!origin_allowed(&[], "https://a.example"));
    assert_eq!(origins_from_stored(&origins_to_stored(&allowed)), allowed);
    assert!(origins_from_stored("").is_empty());
}

/// An answer from JSON strings and a whole-number score (the embed API's own reading, with
/// every JSON shape, is tested at its door).
fn parse_json(v: &serde_json::Value) -> Result<WebAnswer, ValidationError> {
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    WebAnswer::try_from(WebAnswerFields {
        score: v.get("score").and_then(|s| s.as_i64()).and_then(Score::new),
        comment: text("comment"),
        email: text("email"),
        customer_id: text("customer_id"),
        name: text("name"),
        properties: Vec::new(),
        page_url: text("page_url"),
        signature: text("signature"),
        visitor_id: text("visitor_id"),
        honeypot: text(HONEYPOT_FIELD),
    })
}

#[test]
fn only_an_answer_whose_every_identity_field_is_signed_is_verified() {
    let now = chrono::DateTime::from_timestamp(1_780_304_400, 0)
        .unwrap()
        .naive_utc();
    let day = chrono::Duration::hours(24);
    let sig = |email: Option<&str>, customer_id: Option<&str>| {
        let identity = Identity {
            email,
            customer_id,
            name: None,
        };
        signature::sign("s", &identity, now.and_utc().timestamp())
    };
    let answer = |v: serde_json::Value| parse_json(&v).unwrap();
    let verify = |a: &WebAnswer, secret: Option<&str>| a.signed_identity(secret, now, day);
    // A signature of one's own customer id does not vouch for an address sent beside it.
    let a = answer(
        json!({"score": 1, "email": "ann@example.com", "customer_id": "eve", "signature": sig(None, Some("eve"))}),
    );
    assert_eq!(verify(&a, Some("s")), Err(Unverified::Mismatch));
    let a = answer(
        json!({"score": 1, "email": "ann@example.com", "customer_id": "42", "signature": sig(Some("ann@example.com"), Some("42"))}),
    );
    assert_eq!(verify(&a, Some("s")), Ok(Respondent::Customer("42".into())));
    assert_eq!(verify(&a, None), Err(Unverified::NoSecret));
    assert_eq!(verify(&a, Some("other")), Err(Unverified::Mismatch));
    let a = answer(
        json!({"score": 1, "email": "ann@example.com", "signature": sig(Some("ann@example.com"), None)}),
    );
    assert_eq!(
        verify(&a, Some("s")),
        Ok(Respondent::Email("ann@example.com".into()))
    );
    let a = answer(json!({"score": 1, "visitor_id": "v", "signature": sig(None, None)}));
    assert_eq!(verify(&a, Some("s")), Err(Unverified::NoIdentity));
    let a = answer(json!({"score": 1, "email": "ann@example.com"}));
    assert_eq!(verify(&a, Some("s")), Err(Unverified::Unsigned));
    // The old bare hex is read, and verifies nothing.
    let a = answer(json!({"score": 1, "email": "ann@example.com", "signature": "ab".repeat(32)}));
    assert_eq!(verify(&a, Some("s")), Err(Unverified::OldFormat));
}

#[test]
fn repeat_answers_are_matched_by_the_strongest_identity() {
    let mut a = parse_json(&json!({"score": 5, "visitor_id": "v1"})).unwrap();
    assert_eq!(a.respondent().key(false).unwrap(), "visitor:v1");
    a.email = Some(EmailAddress::parse("email", "ann@example.com").unwrap());
    assert_eq!(
        a.respondent().key(false).unwrap(),
        "email:claimed:ann@example.com"
    );
    a.customer_id = Some("42".into());
    assert_eq!(a.respondent().key(true).unwrap(), "customer:verified:42");
    a.visitor_id = None;
    a.email = None;
    a.customer_id = None;
    assert_eq!(a.respondent().key(false), None);
}
