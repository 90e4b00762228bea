//! The embedded form over HTTP, as a site's visitors' browsers and a hostile client would use it:
//! the public endpoint with its CORS, rate limits, honeypot, body limit and signatures; the
//! iframe page; web answers counted beside email answers.
use crate::backend_tests;
use crate::helpers::{spawn_app, spawn_app_with, Backend, TestApp};
use hmac::{Hmac, Mac};
use npsd::domain::clock::Clock;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;

const SHOP: &str = "https://shop.example";
const OTHER: &str = "https://evil.example";

/// An answer to the default survey from a page on `origin`.
async fn post_answer(app: &TestApp, origin: &str, body: &str) -> Reply {
    embed(
        app,
        Method::POST,
        "/api/v1/embed/default/responses",
        origin,
        body,
    )
    .await
}

/// A request from a page on `origin`.
async fn embed(app: &TestApp, method: Method, path: &str, origin: &str, body: &str) -> Reply {
    let res = app
        .client
        .request(method, app.url(path))
        .header("Origin", origin)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("request");
    Reply::read(res).await
}

struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Reply {
    async fn read(res: reqwest::Response) -> Reply {
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let body =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        Reply {
            status,
            headers,
            body,
        }
    }

    fn allow_origin(&self) -> Option<&str> {
        self.headers
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok())
    }

    fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

async fn answer(app: &TestApp, body: Value) -> Reply {
    embed(
        app,
        Method::POST,
        "/api/v1/embed/default/responses",
        SHOP,
        &body.to_string(),
    )
    .await
}

async fn allow_shop(app: &TestApp) {
    app.patch_survey(
        "default",
        json!({"allowed_origins": [SHOP], "reply_to": "Help <help@acme.example>"}),
    )
    .await;
}

/// The value of a hidden field of a page's form.
fn hidden_field(page: &str, name: &str) -> String {
    page.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no hidden {name} in:\n{page}"))
        .to_string()
}

/// The identity fields a shop's server signs; None is a field the page does not send.
#[derive(Clone, Copy, Default)]
pub(crate) struct Signed<'a> {
    pub email: Option<&'a str>,
    pub customer_id: Option<&'a str>,
    pub name: Option<&'a str>,
}

/// The `signature` a shop's server makes, exactly as docs/EMBEDDING.md shows: the lines
/// `npsd-embed-v1`, `t=<issued_at>`, `email=…`, `customer_id=…`, `name=…` joined by `\n`,
/// HMAC-SHA256 with the survey's secret, sent as `t=<issued_at>,v1=<hex>`.
pub(crate) fn sign_at(secret: &str, who: Signed<'_>, issued_at: i64) -> String {
    let message = [
        "npsd-embed-v1".to_string(),
        format!("t={issued_at}"),
        format!("email={}", who.email.unwrap_or("")),
        format!("customer_id={}", who.customer_id.unwrap_or("")),
        format!("name={}", who.name.unwrap_or("")),
    ]
    .join("\n");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    format!(
        "t={issued_at},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// A signature issued now, by the app's clock.
pub(crate) fn sign(app: &TestApp, secret: &str, who: Signed<'_>) -> String {
    sign_at(secret, who, app.clock.now().and_utc().timestamp())
}

fn email(address: &str) -> Signed<'_> {
    Signed {
        email: Some(address),
        ..Signed::default()
    }
}

async fn web_nps(app: &TestApp, extra: &str) -> Value {
    app.nps(&format!("?channel=web{extra}")).await
}

async fn web_answers_count_in_the_same_nps_as_email_answers(backend: Backend) {
    let app = spawn_app(backend).await;
    allow_shop(&app).await;
    let r = app.get_api("/api/v1/surveys/default").await;
    assert_eq!(r.body["allowed_origins"], json!([SHOP]));
    assert_eq!(r.body["embed_enabled"], true);
    assert_eq!(r.body["embed_secret_set"], false);

    // The widget's configuration: the survey as it is shown.
    let r = embed(&app, Method::GET, "/api/v1/embed/default", SHOP, "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.allow_origin(), Some(SHOP));
    assert_eq!(r.body["brand"], "ACME");
    assert_eq!(r.body["reply_to"], "help@acme.example");
    assert_eq!(r.body["text"]["not_likely"], "Not likely");
    assert_eq!(r.body["throttle_days"], 90);
    let r = embed(
        &app,
        Method::GET,
        "/api/v1/embed/default?locale=de-CH",
        SHOP,
        "",
    )
    .await;
    assert_eq!(r.body["locale"], "de-CH");
    let r = embed(
        &app,
        Method::GET,
        "/api/v1/embed/default?locale=!!",
        SHOP,
        "",
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "a bad page language never hides the widget"
    );
    assert_eq!(r.body["locale"], "en");

    // An email answer...
    let mail = app
        .transaction_and_email("order-1", "ann@example.com")
        .await;
    let (status, _) = app.get_page(&mail.score_link(10)).await;
    assert_eq!(status, StatusCode::OK);
    // ...and a web answer, score first, then the comment through the edit token.
    let r = answer(
        &app,
        json!({"score": 3, "visitor_id": "v-1", "page_url": "https://shop.example/thanks?order=9#top", "properties": {"plan": "pro"}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.allow_origin(), Some(SHOP));
    let response = &r.body["response"];
    assert_eq!(response["score"], 3);
    assert_eq!(response["verified"], false);
    let id = response["id"].as_str().unwrap().to_string();
    let token = response["edit_token"].as_str().unwrap().to_string();
    assert!(token.len() >= 32);
    let r = embed(
        &app,
        Method::PATCH,
        &format!("/api/v1/embed/default/responses/{id}"),
        SHOP,
        &json!({"edit_token": token, "comment": "Delivery was late"}).to_string(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // One NPS over both channels, and each channel on its own.
    let all = app.nps("").await;
    assert_eq!(all["responses"], 2);
    assert_eq!(all["promoters"], 1);
    assert_eq!(all["detractors"], 1);
    assert_eq!(
        all["response_rate"], 1.0,
        "web answers are not email answers"
    );
    let web = web_nps(&app, "").await;
    assert_eq!(web["responses"], 1);
    assert_eq!(web["distribution"][3], 1);
    assert_eq!(
        web["response_rate"],
        Value::Null,
        "web answers had no email"
    );
    assert_eq!(app.nps("?channel=email").await["responses"], 1);
    let comments = app.comments("?channel=web").await;
    let c = &comments["comments"][0];
    assert_eq!(c["channel"], "web");
    assert_eq!(c["comment"], "Delivery was late");
    assert_eq!(c["page_url"], "https://shop.example/thanks?order=9");
    assert_eq!(c["properties"], json!({"plan": "pro"}));
    assert_eq!(c["verified"], false);
    assert_eq!(comments["comments"].as_array().unwrap().len(), 1);
    let r = app.get_api("/api/v1/surveys/default/nps?channel=fax").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["error"]["field"], "channel");

    // The same visitor answering again within the throttle days changes their answer.
    let r = answer(&app, json!({"score": 8, "visitor_id": "v-1"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["response"]["id"], id.as_str());
    // (The earlier comment belonged to the earlier score.)
    assert_eq!(app.comments("?channel=web").await["comments"], json!([]));
    let web = web_nps(&app, "").await;
    assert_eq!(web["responses"], 1);
    assert_eq!(web["distribution"][8], 1);
    // By customer id or email when the page gives one.
    for body in [
        json!({"score": 9, "customer_id": "c-1", "visitor_id": "v-2"}),
        json!({"score": 6, "customer_id": "c-1", "visitor_id": "v-3"}),
        json!({"score": 9, "email": "Bob@Example.com"}),
        json!({"score": 10, "email": "bob@example.com"}),
    ] {
        assert_eq!(answer(&app, body).await.status, StatusCode::CREATED);
    }
    let web = web_nps(&app, "").await;
    assert_eq!(web["responses"], 3, "{web}");
    assert_eq!(web["distribution"][6], 1);
    assert_eq!(web["distribution"][10], 1);
    // A new visitor counts on their own.
    answer(&app, json!({"score": 9, "visitor_id": "v-9"})).await;
    assert_eq!(web_nps(&app, "").await["responses"], 4);

    // The person's export holds their web answers with what the page gave.
    let r = app.get_api("/api/v1/people/bob@example.com").await;
    let web_answers: Vec<&Value> = r.body["responses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["channel"] == "web")
        .collect();
    assert_eq!(web_answers.len(), 1, "{}", r.body);
    assert_eq!(web_answers[0]["email"], "bob@example.com");
    assert_eq!(web_answers[0]["score"], 10);
    // Erasing a person erases the web answers that gave their address too.
    let r = app
        .api(Method::DELETE, "/api/v1/people/bob@example.com", None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(web_nps(&app, "").await["responses"], 3);
}

async fn only_the_surveys_allowed_origins_may_use_the_endpoint(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = json!({"score": 9}).to_string();
    // No origin allowed yet: refused, with a JSON error and no CORS header.
    let r = post_answer(&app, SHOP, &body).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error_code(), "origin_not_allowed");
    assert_eq!(r.allow_origin(), None);
    allow_shop(&app).await;

    // Preflight from the allowed origin.
    let res = app
        .client
        .request(Method::OPTIONS, app.url("/api/v1/embed/default/responses"))
        .header("Origin", SHOP)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let h = res.headers();
    assert_eq!(h["access-control-allow-origin"], SHOP);
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("PATCH"));
    assert!(h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("content-type"));
    assert_eq!(h["vary"], "Origin");
    // Preflight from any other origin: refused.
    let res = app
        .client
        .request(Method::OPTIONS, app.url("/api/v1/embed/default/responses"))
        .header("Origin", OTHER)
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    let r = Reply::read(res).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.allow_origin(), None);
    assert_eq!(r.error_code(), "origin_not_allowed");

    // Answers from another origin, or with no Origin at all, are refused and not stored.
    for origin in [OTHER, "https://shop.example.evil.example", "null"] {
        let r = post_answer(&app, origin, &body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{origin}");
        assert_eq!(r.allow_origin(), None);
    }
    let res = app
        .client
        .post(app.url("/api/v1/embed/default/responses"))
        .json(&json!({"score": 9}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(web_nps(&app, "").await["responses"], 0);

    // Errors to the allowed origin carry CORS, so the widget can read them.
    let r = post_answer(&app, SHOP, "{").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.allow_origin(), Some(SHOP));
    // Unknown survey: 404 JSON. Embedding turned off: 403.
    let r = embed(
        &app,
        Method::POST,
        "/api/v1/embed/nope/responses",
        SHOP,
        &body,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.error_code(), "not_found");
    app.patch_survey("default", json!({"embed_enabled": false}))
        .await;
    let r = post_answer(&app, SHOP, &body).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error_code(), "embed_disabled");

    // Origins are checked when set.
    let r = app
        .api(
            Method::PATCH,
            "/api/v1/surveys/default",
            Some(json!({"allowed_origins": ["https://shop.example/checkout"]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["error"]["field"], "allowed_origins");
    let r = app
        .api(
            Method::PATCH,
            "/api/v1/surveys/default",
            Some(json!({"allowed_origins": "https://shop.example"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn abuse_is_answered_with_clear_errors_and_never_stored(backend: Backend) {
    let app = spawn_app_with(backend, &[("NPSD_EMBED_RATE_LIMIT", "5")]).await;
    allow_shop(&app).await;
    let post = |body: String| {
        let app = &app;
        async move {
            embed(
                app,
                Method::POST,
                "/api/v1/embed/default/responses",
                SHOP,
                &body,
            )
            .await
        }
    };
    // Bad input: a JSON error naming the field, never a 500, never counted.
    let r = post("{\"score\": ".into()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_code(), "invalid_json");
    assert!(!r.body["error"]["message"].as_str().unwrap().is_empty());
    for (body, field) in [
        (json!({"score": 11}), "score"),
        (json!({"score": -1}), "score"),
        (json!({"score": "ten"}), "score"),
        (json!({}), "score"),
        (json!({"score": 5, "comment": "x".repeat(5001)}), "comment"),
        (json!({"score": 5, "email": "not-an-address"}), "email"),
        (
            json!({"score": 5, "page_url": "javascript:alert(1)"}),
            "page_url",
        ),
        (json!({"score": 5, "properties": "plan=pro"}), "properties"),
        (json!({"score": 5, "comment": "a\u{0}b"}), "comment"),
    ] {
        let r = post(body.to_string()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
        assert_eq!(r.body["error"]["field"], field, "{body}");
    }
    // More than 16 KB: 413 JSON.
    let big = json!({"score": 5, "comment": "x".repeat(17 * 1024)}).to_string();
    let r = post(big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.error_code(), "too_large");
    assert_eq!(r.allow_origin(), Some(SHOP), "the page can read the error");
    // The honeypot: acknowledged as if stored, nothing counted.
    let r = post(json!({"score": 10, "website": "http://spam.example"}).to_string()).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(web_nps(&app, "").await["responses"], 0);

    // Edit token misuse.
    let r = post(json!({"score": 4, "visitor_id": "v"}).to_string()).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let id = r.body["response"]["id"].as_str().unwrap().to_string();
    let token = r.body["response"]["edit_token"]
        .as_str()
        .unwrap()
        .to_string();
    let patch = |id: String, body: Value| {
        let app = &app;
        async move {
            embed(
                app,
                Method::PATCH,
                &format!("/api/v1/embed/default/responses/{id}"),
                SHOP,
                &body.to_string(),
            )
            .await
        }
    };
    let r = patch(
        id.clone(),
        json!({"edit_token": "not-the-token", "comment": "x"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error_code(), "invalid_edit_token");
    let r = patch(id.clone(), json!({"comment": "x"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["error"]["field"], "edit_token");
    let r = patch(
        "no-such-id".into(),
        json!({"edit_token": token, "comment": "x"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = patch(id.clone(), json!({"edit_token": token, "score": 12})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = patch(
        id.clone(),
        json!({"edit_token": token, "score": 7, "comment": "ok"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["response"]["score"], 7);
    // Valid for one hour.
    app.clock.advance(chrono::Duration::minutes(61));
    let r = patch(id.clone(), json!({"edit_token": token, "comment": "later"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error_code(), "edit_token_expired");
    assert_eq!(
        app.comments("?channel=web").await["comments"][0]["comment"],
        "ok"
    );

    // Five answers a minute from one address (the limit set above), then 429 with Retry-After.
    for n in 0..4 {
        let r = post(json!({"score": 9, "visitor_id": format!("r{n}")}).to_string()).await;
        assert_eq!(r.status, StatusCode::CREATED, "answer {n}: {}", r.body);
    }
    let r = post(json!({"score": 9, "visitor_id": "r9"}).to_string()).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.error_code(), "rate_limited");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(r.allow_origin(), Some(SHOP));
    assert_eq!(r.headers["access-control-expose-headers"], "Retry-After");
    assert_eq!(web_nps(&app, "").await["responses"], 5);
}

async fn signed_identities_are_verified_and_forged_ones_are_not(backend: Backend) {
    let app = spawn_app(backend).await;
    allow_shop(&app).await;
    let r = app
        .api(Method::POST, "/api/v1/surveys/default/embed-secret", None)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let secret = r.body["secret"].as_str().unwrap().to_string();
    assert!(secret.len() >= 32);
    // Never shown again.
    let survey = app.get_api("/api/v1/surveys/default").await.body;
    assert_eq!(survey["embed_secret_set"], true);
    assert!(!survey.to_string().contains(&secret));

    let r = answer(&app, json!({"score": 9, "email": "ann@example.com", "signature": sign(&app, &secret, email("ann@example.com"))})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["response"]["verified"], true);
    let r = answer(
        &app,
        json!({"score": 2, "customer_id": "c-7", "signature": sign(&app, &secret, Signed { customer_id: Some("c-7"), ..Signed::default() })}),
    )
    .await;
    assert_eq!(r.body["response"]["verified"], true);
    // Forged: a signature of another address, a made-up one, one made with another secret, one
    // in the old format (a bare hex HMAC of the address: read, and it verifies nothing).
    let old_format = {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(b"eve@example.com");
        hex::encode(mac.finalize().into_bytes())
    };
    for signature in [
        sign(&app, &secret, email("ann@example.com")),
        format!(
            "t={},v1={}",
            app.clock.now().and_utc().timestamp(),
            "ab".repeat(32)
        ),
        sign(&app, "guess", email("eve@example.com")),
        old_format,
    ] {
        let r = answer(
            &app,
            json!({"score": 0, "email": "eve@example.com", "signature": signature}),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(r.body["response"]["verified"], false);
    }
    // A signature of one's own address verifies nothing when a customer id one claims comes
    // with it, and does not touch c-7's verified answer.
    let r = answer(&app, json!({"score": 0, "email": "eve@example.com", "customer_id": "c-7", "signature": sign(&app, &secret, email("eve@example.com"))})).await;
    assert_eq!(r.body["response"]["verified"], false);
    let c7 = web_nps(&app, "&verified=true").await;
    assert_eq!(c7["responses"], 2, "c-7's verified answer stays: {c7}");
    assert_eq!(c7["distribution"][2], 1);
    // A forged answer in someone's name never replaces their verified one.
    let forged = answer(&app, json!({"score": 0, "email": "ann@example.com"})).await;
    assert_eq!(forged.body["response"]["verified"], false);
    let verified = web_nps(&app, "&verified=true").await;
    assert_eq!(verified["responses"], 2);
    assert_eq!(verified["distribution"][9], 1);
    // Unverified: eve's (one, updated by each try), the claimed c-7's, the forged ann's.
    assert_eq!(web_nps(&app, "&verified=false").await["responses"], 3);

    // Rotating the secret: the old signatures stop checking at once.
    let r = app
        .api(Method::POST, "/api/v1/surveys/default/embed-secret", None)
        .await;
    let rotated = r.body["secret"].as_str().unwrap().to_string();
    assert_ne!(rotated, secret);
    let r = answer(&app, json!({"score": 9, "email": "zoe@example.com", "signature": sign(&app, &secret, email("zoe@example.com"))})).await;
    assert_eq!(r.body["response"]["verified"], false);
    let r = answer(&app, json!({"score": 9, "email": "max@example.com", "signature": sign(&app, &rotated, email("max@example.com"))})).await;
    assert_eq!(r.body["response"]["verified"], true);
    // Unknown survey: 404.
    let r = app
        .api(Method::POST, "/api/v1/surveys/nope/embed-secret", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn the_iframe_page_works_without_script(backend: Backend) {
    let app = spawn_app(backend).await;
    // No origin allowed: a friendly 403 page that no site may frame.
    let res = app
        .client
        .get(app.url("/embed/default"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    let page = res.text().await.unwrap();
    assert!(page.contains("<header class=\"brand\">ACME</header>") && !page.contains("npsd"));
    app.patch_survey("default", json!({"allowed_origins": [SHOP, "http://localhost:3000"], "reply_to": "help@acme.example"}))
        .await;

    let res = app
        .client
        .get(app.url("/embed/default?email=ann@example.com&name=Ann&properties=%7B%22plan%22%3A%22pro%22%7D&page_url=https%3A%2F%2Fshop.example%2Fdone"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("frame-ancestors https://shop.example http://localhost:3000"),
        "{csp}"
    );
    assert!(res.headers().get("x-frame-options").is_none());
    let page = res.text().await.unwrap();
    assert!(!page.contains("<script"));
    assert!(page.contains("How likely are you to recommend ACME to a friend or colleague?"));
    assert_eq!(page.matches("type=\"submit\" name=\"score\"").count(), 11);
    assert!(page.contains("name=\"email\" value=\"ann@example.com\""));
    let visitor = hidden_field(&page, "visitor_id");

    // The score, stored at once; then the comment; then thanks in the brand, by category.
    let form = [
        ("email", "ann@example.com"),
        ("name", "Ann"),
        ("properties", "{\"plan\":\"pro\"}"),
        ("page_url", "https://shop.example/done"),
        ("visitor_id", visitor.as_str()),
        ("website", ""),
        ("score", "2"),
    ];
    let (status, page) = app.post_form(&app.url("/embed/default"), &form).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Thanks, your score of 2 is saved."));
    assert_eq!(web_nps(&app, "").await["distribution"][2], 1);
    let (id, token) = (
        hidden_field(&page, "response_id"),
        hidden_field(&page, "edit_token"),
    );
    // Sent twice (the back button): still one answer.
    let (status, _) = app.post_form(&app.url("/embed/default"), &form).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(web_nps(&app, "").await["responses"], 1);
    let comment = |token: String| {
        let (app, id) = (&app, id.clone());
        async move {
            app.post_form(
                &app.url("/embed/default/comment"),
                &[
                    ("response_id", id.as_str()),
                    ("edit_token", token.as_str()),
                    ("score", "2"),
                    ("comment", "Too slow"),
                ],
            )
            .await
        }
    };
    let (status, page) = comment(token).await;
    // (The second post gave a new edit token: the first one no longer matches.)
    assert_eq!(status, StatusCode::NOT_FOUND, "{page}");
    let (_, page) = app.post_form(&app.url("/embed/default"), &form).await;
    let (status, page) = comment(hidden_field(&page, "edit_token")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("sorry ACME fell short"));
    assert!(page.contains("mailto:help@acme.example"));
    let c = &app.comments("?channel=web").await["comments"][0];
    assert_eq!(c["comment"], "Too slow");
    assert_eq!(c["email"], "ann@example.com");
    assert_eq!(c["page_url"], "https://shop.example/done");
    assert_eq!(c["properties"]["plan"], "pro");

    // A page elsewhere cannot post answers into the form (a plain form POST needs no CORS).
    let res = app
        .client
        .post(app.url("/embed/default"))
        .header("Origin", OTHER)
        .form(&[("score", "0"), ("visitor_id", "evil")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // (also when that page hides its origin, as a no-referrer policy makes browsers do)
    let res = app
        .client
        .post(app.url("/embed/default"))
        .header("Origin", "null")
        .header("Sec-Fetch-Site", "cross-site")
        .form(&[("score", "0"), ("visitor_id", "evil")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(web_nps(&app, "").await["responses"], 1);
    let res = app
        .client
        .post(app.url("/embed/default"))
        .header("Origin", app.address.as_str())
        .form(&[("score", "9"), ("visitor_id", "own-origin")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the iframe's own form posts from npsd's origin"
    );
    assert_eq!(web_nps(&app, "").await["responses"], 2);
    // A score missing: the form again, with a message. A site's mistake: a clear page.
    let (status, page) = app
        .post_form(&app.url("/embed/default"), &[("visitor_id", "x")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Please choose a score from 0 to 10."));
    let (status, page) = app.get_page(&app.url("/embed/default?email=nope")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("email"));
    let (status, page) = app.get_page(&app.url("/embed/unknown-survey")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!page.contains("npsd"));
}

async fn the_widget_script_is_served_for_caching(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app.client.get(app.url("/embed.js")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(res.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let js = res.text().await.unwrap();
    assert!(js.contains(".scale-choice") && !js.contains("@SCALE_CSS@"));
    let res = app
        .client
        .get(app.url("/embed.js"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
}

backend_tests!(
    web_answers_count_in_the_same_nps_as_email_answers,
    only_the_surveys_allowed_origins_may_use_the_endpoint,
    abuse_is_answered_with_clear_errors_and_never_stored,
    signed_identities_are_verified_and_forged_ones_are_not,
    the_iframe_page_works_without_script,
    the_widget_script_is_served_for_caching,
);
