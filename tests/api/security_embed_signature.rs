//! Security (issue 18, items 2 and 12): a signature of the embedded form vouches for exactly the
//! identity fields it signed, and only for a while; the page's query string stays on the page.
//!
//! Item 2: a shop's server signs every identity field the page sends (email, customer id, name)
//! and the issue time. Before the fix a signature of the attacker's own customer id marked an
//! answer carrying a victim's unsigned email `verified: true`: it counted in the verified NPS
//! and renamed the victim. Item 12: the widget sent `location.href`, query string and all.
use crate::browser::{start, PHONE};
use crate::embed::{sign, sign_at, Signed};
use crate::embed_browser::{allow_origins, in_widget, Site};
use crate::helpers::{spawn_app, spawn_app_with, Backend, TestApp};
use hmac::{Hmac, Mac};
use npsd::domain::clock::Clock;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;
use std::time::{Duration, Instant};

const SHOP: &str = "https://shop.example";
const HOUR: i64 = 3600;

/// An app whose default survey may be embedded on the shop's site, and its embed secret.
async fn app_with_secret(app: TestApp) -> (TestApp, String) {
    app.patch_survey("default", json!({"allowed_origins": [SHOP]}))
        .await;
    let r = app
        .api(Method::POST, "/api/v1/surveys/default/embed-secret", None)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let secret = r.body["secret"].as_str().unwrap().to_string();
    (app, secret)
}

/// Posts an answer from the shop's page; returns its `verified`.
async fn verified(app: &TestApp, body: Value) -> bool {
    // Whatever its signature, a well-formed answer counts (unverified when it does not hold).
    let reply = app.web_answer_created(SHOP, &body).await;
    reply["response"]["verified"].as_bool().unwrap()
}

/// Everything npsd holds about an address (the GDPR export).
async fn person(app: &TestApp, email: &str) -> Value {
    let r = app.get_api(&format!("/api/v1/people/{email}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

fn now(app: &TestApp) -> i64 {
    app.clock.now().and_utc().timestamp()
}

const ANN: Signed<'static> = Signed {
    email: Some("ann@example.com"),
    customer_id: Some("c-1"),
    name: Some("Ann Lee"),
};

/// Ann answers 10 through the shop's page, signed: she is a verified person named "Ann Lee".
async fn ann_answers_signed(app: &TestApp, secret: &str) {
    let body = json!({"score": 10, "email": "ann@example.com", "customer_id": "c-1",
        "name": "Ann Lee", "signature": sign(app, secret, ANN)});
    assert!(verified(app, body).await);
    assert_eq!(
        person(app, "ann@example.com").await["person"]["name"],
        "Ann Lee"
    );
}

/// The attack of the issue: Eve's server-made signature of her own customer id, sent with Ann's
/// address and a new name. Also Ann's own signature (copied from her page) with a name added or
/// changed. None is verified, none renames Ann, none counts in the verified NPS or replaces Ann's
/// verified answer.
async fn a_signature_of_ones_own_customer_id_does_not_verify_someone_elses_email(backend: Backend) {
    let (app, secret) = app_with_secret(spawn_app(backend).await).await;
    ann_answers_signed(&app, &secret).await;

    let eve = Signed {
        customer_id: Some("eve-7"),
        ..Signed::default()
    };
    let eves_own = sign(&app, &secret, eve);
    assert!(
        verified(
            &app,
            json!({"score": 3, "customer_id": "eve-7", "signature": eves_own})
        )
        .await,
        "the signature is good for what it signed"
    );
    let attack = json!({"score": 0, "customer_id": "eve-7", "email": "ann@example.com",
        "name": "Eve Owns This", "signature": eves_own});
    assert!(
        !verified(&app, attack).await,
        "an unsigned email is not verified"
    );
    // The same attack with the signature as the docs described it before (the bare hex HMAC of
    // the customer id), which verified this answer and renamed Ann: read, and verifies nothing.
    let bare_hex = {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(b"eve-7");
        hex::encode(mac.finalize().into_bytes())
    };
    let attack = json!({"score": 0, "customer_id": "eve-7", "email": "ann@example.com",
        "name": "Eve Owns This", "signature": bare_hex});
    assert!(!verified(&app, attack).await, "an old-format signature");
    let anns = sign(&app, &secret, ANN);
    for (score, name) in [(1, "Eve Owns This"), (2, "")] {
        let replay = json!({"score": score, "email": "ann@example.com", "customer_id": "c-1",
            "name": name, "signature": anns});
        assert!(
            !verified(&app, replay).await,
            "Ann's signature with the name {name:?} instead of hers"
        );
    }

    let ann = person(&app, "ann@example.com").await;
    assert_eq!(ann["person"]["name"], "Ann Lee", "not renamed: {ann:#}");
    let verified_nps = app.nps("?channel=web&verified=true").await;
    assert_eq!(
        verified_nps["responses"], 2,
        "Ann's 10 and Eve's own 3: {verified_nps}"
    );
    assert_eq!(verified_nps["distribution"][10], 1, "{verified_nps}");
    assert_eq!(verified_nps["distribution"][0], 0, "{verified_nps}");
    // The unverified answers count as what they are.
    let unverified = app.nps("?channel=web&verified=false").await;
    assert!(
        unverified["responses"].as_i64().unwrap() >= 1,
        "{unverified}"
    );
    // Ann's own verified answer is still hers, unchanged.
    let anns_answers: Vec<&Value> = ann["responses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verified"] == true)
        .collect();
    assert_eq!(anns_answers.len(), 1, "{ann:#}");
    assert_eq!(anns_answers[0]["score"], 10, "{ann:#}");
    assert_eq!(anns_answers[0]["name"], "Ann Lee", "{ann:#}");
}

/// A signature older than the allowed age (24 h by default, `NPSD_EMBED_SIGNATURE_MAX_AGE`),
/// or issued well ahead of npsd's clock, verifies nothing; the answer still counts.
async fn an_expired_signature_verifies_nothing(backend: Backend) {
    let (app, secret) = app_with_secret(spawn_app(backend).await).await;
    let answer = |sig: String| {
        json!({"score": 9, "email": "ann@example.com", "customer_id": "c-1", "name": "Ann Lee",
            "signature": sig})
    };
    let t = now(&app);
    assert!(!verified(&app, answer(sign_at(&secret, ANN, t - 24 * HOUR - 60))).await);
    assert!(!verified(&app, answer(sign_at(&secret, ANN, t + HOUR))).await);
    assert_eq!(app.nps("?channel=web&verified=true").await["responses"], 0);
    assert!(verified(&app, answer(sign_at(&secret, ANN, t - 23 * HOUR))).await);
    assert!(verified(&app, answer(sign_at(&secret, ANN, t + 60))).await);
    // The same signature, a day on by npsd's clock: expired.
    let sig = sign(&app, &secret, ANN);
    assert!(verified(&app, answer(sig.clone())).await);
    app.clock.advance(chrono::Duration::hours(25));
    assert!(!verified(&app, answer(sig)).await);
    // One visitor: one verified answer and one unverified, each updated by the later tries.
    assert_eq!(app.nps("?channel=web&verified=true").await["responses"], 1);
    assert_eq!(app.nps("?channel=web&verified=false").await["responses"], 1);

    // A shop that wants shorter-lived signatures says so.
    let (app, secret) =
        app_with_secret(spawn_app_with(backend, &[("NPSD_EMBED_SIGNATURE_MAX_AGE", "1h")]).await)
            .await;
    let t = now(&app);
    assert!(!verified(&app, answer(sign_at(&secret, ANN, t - 2 * HOUR))).await);
    assert!(verified(&app, answer(sign_at(&secret, ANN, t - HOUR / 2))).await);
}

/// A signature of every identity field the page sends verifies the answer, through the widget's
/// endpoint and the iframe form alike: it counts in the verified NPS and names the person.
async fn a_signature_covering_every_field_verifies_the_answer(backend: Backend) {
    let (app, secret) = app_with_secret(spawn_app(backend).await).await;
    ann_answers_signed(&app, &secret).await;
    let nps = app.nps("?channel=web&verified=true").await;
    assert_eq!(nps["responses"], 1, "{nps}");
    assert_eq!(nps["distribution"][10], 1, "{nps}");
    // Only some fields sent, each signed: verified too.
    let bob = Signed {
        email: Some("bob@example.com"),
        ..Signed::default()
    };
    let body =
        json!({"score": 4, "email": "bob@example.com", "signature": sign(&app, &secret, bob)});
    assert!(verified(&app, body).await);
    // A renamed person, when the shop's server signed the new name.
    let renamed = Signed {
        name: Some("Ann Lee-Smith"),
        ..ANN
    };
    let body = json!({"score": 8, "email": "ann@example.com", "customer_id": "c-1",
        "name": "Ann Lee-Smith", "signature": sign(&app, &secret, renamed)});
    assert!(verified(&app, body).await);
    assert_eq!(
        person(&app, "ann@example.com").await["person"]["name"],
        "Ann Lee-Smith"
    );

    // The iframe form carries the signature from its address through its form.
    let cara = Signed {
        email: Some("cara@example.com"),
        name: Some("Cara"),
        ..Signed::default()
    };
    let query = serde_urlencoded::to_string([
        ("email", "cara@example.com"),
        ("name", "Cara"),
        ("signature", sign(&app, &secret, cara).as_str()),
    ])
    .unwrap();
    let (status, page) = app
        .get_page(&app.url(&format!("/embed/default?{query}")))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    submit_iframe_score(&app, &page, "9").await;
    let cara = person(&app, "cara@example.com").await;
    assert_eq!(cara["responses"][0]["verified"], true, "{cara:#}");
    assert_eq!(cara["person"]["name"], "Cara", "{cara:#}");
    assert_eq!(app.nps("?channel=web&verified=true").await["responses"], 3);
}

/// The hidden fields of the iframe form, in order.
/// Sends the iframe's form on `page` with `score` picked, as a browser without script would.
async fn submit_iframe_score(app: &TestApp, page: &str, score: &str) {
    let mut form = hidden_fields(page);
    form.push(("score".into(), score.into()));
    let res = app
        .client
        .post(app.url("/embed/default"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

fn hidden_fields(page: &str) -> Vec<(String, String)> {
    page.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|rest| {
            let (name, rest) = rest.split_once("\" value=\"").unwrap();
            let value = rest.split('"').next().unwrap();
            let unescape = |s: &str| {
                s.replace("&#x3d;", "=")
                    .replace("&#61;", "=")
                    .replace("&#x2c;", ",")
                    .replace("&amp;", "&")
            };
            (name.to_string(), unescape(value))
        })
        .collect()
}

/// An issue time changed after signing, to revive an expired signature or to move a fresh one,
/// verifies nothing.
async fn a_tampered_issue_time_verifies_nothing(backend: Backend) {
    let (app, secret) = app_with_secret(spawn_app(backend).await).await;
    let answer = |sig: &str| {
        json!({"score": 9, "email": "ann@example.com", "customer_id": "c-1", "name": "Ann Lee",
            "signature": sig})
    };
    let t = now(&app);
    let old = sign_at(&secret, ANN, t - 30 * HOUR);
    let revived = old.replace(&format!("t={}", t - 30 * HOUR), &format!("t={t}"));
    assert_ne!(old, revived);
    assert!(!verified(&app, answer(&revived)).await);
    let fresh = sign_at(&secret, ANN, t);
    let moved = fresh.replace(&format!("t={t}"), &format!("t={}", t - 1));
    assert!(!verified(&app, answer(&moved)).await);
    assert!(!verified(&app, answer(&old)).await);
    assert_eq!(app.nps("?channel=web&verified=true").await["responses"], 0);
    assert!(verified(&app, answer(&fresh)).await, "untouched, it holds");
}

/// Item 12 without script: the iframe form takes the embedding page from the `Referer` when the
/// page does not name it, and leaves out its query string and fragment.
async fn the_iframe_form_records_the_referer_without_its_query(backend: Backend) {
    let (app, _) = app_with_secret(spawn_app(backend).await).await;
    let res = app
        .client
        .get(app.url("/embed/default?email=dan@example.com"))
        .header("Referer", "https://shop.example/orders/9?token=secret#frag")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(!page.contains("secret"), "{page}");
    submit_iframe_score(&app, &page, "6").await;
    let dan = person(&app, "dan@example.com").await;
    assert_eq!(
        dan["responses"][0]["page_url"], "https://shop.example/orders/9",
        "{dan:#}"
    );
}

crate::backend_tests!(
    a_signature_of_ones_own_customer_id_does_not_verify_someone_elses_email,
    an_expired_signature_verifies_nothing,
    a_signature_covering_every_field_verifies_the_answer,
    a_tampered_issue_time_verifies_nothing,
    the_iframe_form_records_the_referer_without_its_query,
);

/// The page URL of the one web answer, once it has the score `score`.
async fn stored_page_url(app: &TestApp, score: u8) -> String {
    let deadline = Instant::now() + crate::browser::BROWSER_WAIT;
    loop {
        let ann = person(app, "ann@example.com").await;
        if let Some(r) = ann["responses"].as_array().and_then(|r| r.first()) {
            if r["score"] == score {
                return r["page_url"].as_str().unwrap_or("").to_string();
            }
        }
        assert!(Instant::now() < deadline, "no answer of {score}: {ann:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Item 12 in Chromium: on a page at `?token=secret#frag` the widget sends the page's address
/// without its query string and fragment; with `data-send-query="true"` the query goes along
/// (the fragment never does).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_sends_the_page_address_without_its_query_unless_the_shop_opts_in() {
    let test = "the_widget_sends_the_page_address_without_its_query_unless_the_shop_opts_in";
    let Some((browser, app, _turn)) = start(test, PHONE).await else {
        return;
    };
    let site = Site::start(&app.address);
    allow_origins(&app, &[&site.origin]).await;

    browser
        .goto(&site.url("/inline?token=secret&order=9#frag"))
        .await;
    browser
        .tap(&in_widget(&browser, ".scale-choice:nth-child(10)").await)
        .await;
    assert_eq!(stored_page_url(&app, 9).await, site.url("/inline"));

    // The same visitor (customer c-42) on the page that opts in: the answer is updated.
    browser
        .goto(&site.url("/inline-with-query?token=secret&order=9#frag"))
        .await;
    browser
        .tap(&in_widget(&browser, ".scale-choice:nth-child(8)").await)
        .await;
    assert_eq!(
        stored_page_url(&app, 7).await,
        site.url("/inline-with-query?token=secret&order=9")
    );
    browser.close().await;
}
