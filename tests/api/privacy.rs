//! Suppressions (no survey emails a suppressed address again), personal data export and erasure,
//! and backups of the SQLite database while the service runs.
use crate::backend_tests;
use crate::helpers::{spawn_app, Backend, TestApp};
use npsd::domain::clock::Clock;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

backend_tests!(
    a_suppressed_address_is_never_emailed_again,
    suppressions_are_listed_page_by_page,
    a_person_is_exported_and_erased,
    suppression_hashes_are_keyed_with_a_secret,
    a_suppression_from_before_the_key_still_suppresses,
);

async fn suppress(app: &TestApp, email: &str, reason: &str) -> (StatusCode, Value) {
    let r = app
        .api(
            Method::POST,
            "/api/v1/suppressions",
            Some(json!({"email": email, "reason": reason})),
        )
        .await;
    (r.status, r.body)
}

async fn a_suppressed_address_is_never_emailed_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let r = app
        .api(
            Method::POST,
            "/api/v1/surveys",
            Some(json!({"slug": "support"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);

    let (status, body) = suppress(&app, "Ann@Example.com", "bounce").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["reason"], "bounce");
    let (status, _) = suppress(&app, "ann@example.com", "complaint").await;
    assert_eq!(status, StatusCode::OK, "suppressing twice is not an error");
    let (status, body) = suppress(&app, "ann@example.com", "spam").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "reason");

    // No survey emails the address: each ingest answers skipped / suppressed.
    for survey in ["default", "support"] {
        let r = app
            .post_transaction(json!({"transaction_id": format!("o-{survey}"), "email": "ann@example.com", "survey": survey}))
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        assert_eq!(r.body["invitation"]["status"], "skipped");
        assert_eq!(r.body["invitation"]["reason"], "suppressed");
    }
    // An invitation scheduled before the suppression is not sent either.
    let r = app
        .post_transaction(
            json!({"transaction_id": "later", "email": "bob@example.com", "delay_seconds": 1}),
        )
        .await;
    assert_eq!(r.body["invitation"]["status"], "scheduled");
    suppress(&app, "bob@example.com", "manual").await;
    app.clock.advance(chrono::Duration::seconds(2));
    let inv = app
        .drain_and_expect_status("later", "bob@example.com", "skipped")
        .await;
    assert_eq!(inv["reason"], "suppressed");
    assert!(app.smtp.messages_to("ann@example.com").is_empty());
    assert!(app.smtp.messages_to("bob@example.com").is_empty());

    // Lifted: mailable again (unsubscribes stay per survey, and there are none here).
    let res = app
        .client
        .delete(app.url("/api/v1/suppressions/ann@example.com"))
        .bearer_auth(crate::helpers::API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let r = app
        .api(Method::DELETE, "/api/v1/suppressions/ann@example.com", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    app.transaction_and_email("o-after", "ann@example.com")
        .await;
}

async fn suppressions_are_listed_page_by_page(backend: Backend) {
    let app = spawn_app(backend).await;
    for i in 0..5 {
        suppress(&app, &format!("p{i}@example.com"), "manual").await;
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/suppressions?limit=2".to_string();
    loop {
        let r = app.get_api(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        for s in r.body["suppressions"].as_array().unwrap() {
            seen.push(s["email"].as_str().unwrap().to_string());
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/suppressions?limit=2&cursor={c}"),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        (0..5)
            .map(|i| format!("p{i}@example.com"))
            .collect::<Vec<_>>()
    );
    // An address in a path as encodeURIComponent writes it (+ is %2B, @ is %40).
    suppress(&app, "ann+shop@example.com", "bounce").await;
    let res = app
        .client
        .delete(app.url("/api/v1/suppressions/ann%2Bshop%40example.com"))
        .bearer_auth(crate::helpers::API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let r = app.get_api("/api/v1/suppressions?cursor=garbage").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn a_person_is_exported_and_erased(backend: Backend) {
    let app = spawn_app(backend).await;
    let mail = app
        .transaction_and_email("order-1", "ann@example.com")
        .await;
    app.post_form(
        &mail.form_link(),
        &[("score", "4"), ("comment", "Too slow")],
    )
    .await;
    app.one_click_unsubscribe(&mail).await;
    app.transaction_and_email("order-2", "bob@example.com")
        .await;

    let r = app.get_api("/api/v1/people/ANN@example.com").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let export = r.body;
    assert_eq!(export["invitations"][0]["transaction_id"], "order-1");
    assert_eq!(export["invitations"][0]["properties"]["plan"], "pro");
    assert_eq!(export["responses"][0]["score"], 4);
    assert_eq!(export["responses"][0]["comment"], "Too slow");
    assert_eq!(export["unsubscribes"][0]["survey"], "default");
    assert_eq!(export["suppression"], Value::Null);
    assert!(export["person"]["id"].is_string(), "{export}");

    // Suppressed, then erased: nothing about Ann is left but the hash that keeps her unmailable.
    suppress(&app, "ann@example.com", "complaint").await;
    let r = app
        .api(Method::DELETE, "/api/v1/people/ann@example.com", None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["erased"]["invitations"], 1);
    assert_eq!(r.body["erased"]["responses"], 1);
    assert_eq!(r.body["erased"]["unsubscribes"], 1);
    assert_eq!(r.body["erased"]["suppressed"], true);

    let after = app.get_api("/api/v1/people/ann@example.com").await.body;
    assert_eq!(after["invitations"], json!([]));
    assert_eq!(after["responses"], json!([]));
    assert_eq!(after["unsubscribes"], json!([]));
    assert_eq!(after["person"], Value::Null, "the person record goes too");
    assert_eq!(after["suppression"]["reason"], "complaint");
    let list = app.get_api("/api/v1/suppressions").await.body;
    assert_eq!(list["suppressions"][0]["email"], Value::Null, "{list}");
    assert!(!list.to_string().contains("ann@"), "{list}");
    assert_eq!(app.comments("").await["comments"], json!([]));
    assert_eq!(app.nps("").await["responses"], 0);
    // Her links are gone; she stays unmailable.
    let (status, _) = app.get_page(&mail.score_link(9)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let r = app
        .post_transaction(json!({"transaction_id": "order-3", "email": "ann@example.com"}))
        .await;
    assert_eq!(r.body["invitation"]["reason"], "suppressed");
    // Bob is untouched.
    let bob = app.get_api("/api/v1/people/bob@example.com").await.body;
    assert_eq!(bob["invitations"].as_array().unwrap().len(), 1);

    // Someone never suppressed is mailable again after erasure.
    let r = app
        .api(Method::DELETE, "/api/v1/people/bob@example.com", None)
        .await;
    assert_eq!(r.body["erased"]["suppressed"], false);
    app.transaction_and_email("order-4", "bob@example.com")
        .await;
}

/// The plain SHA-256 of an address, as suppression rows carried it before issue 18.
fn plain_sha256(email_key: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(email_key.as_bytes()))
}

/// The suppressions table as stored: (email_hash, email, hash_kind).
async fn suppression_rows(app: &TestApp) -> Vec<(String, Option<String>, String)> {
    app.store
        .read(|c| {
            use diesel::prelude::*;
            use npsd::store::schema::suppressions as s;
            Ok(s::table
                .select((s::email_hash, s::email, s::hash_kind))
                .order(s::created_at)
                .load(c)?)
        })
        .await
        .unwrap()
}

/// A stolen copy of the suppressions table (or a page cursor of its list) does not tell whether
/// a guessed address is in it: the hash is keyed with the installation's secret.
async fn suppression_hashes_are_keyed_with_a_secret(backend: Backend) {
    let app = spawn_app(backend).await;
    suppress(&app, "Keyed@Example.com", "bounce").await;
    app.transaction_and_email("o-1", "erased@example.com").await;
    suppress(&app, "erased@example.com", "complaint").await;
    let r = app
        .api(Method::DELETE, "/api/v1/people/erased@example.com", None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let rows = suppression_rows(&app).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    for (hash, _, kind) in &rows {
        assert_eq!(hash.len(), 64);
        assert_eq!(kind, "hmac-sha256");
        for guess in [
            "keyed@example.com",
            "erased@example.com",
            "Keyed@Example.com",
        ] {
            assert_ne!(hash, &plain_sha256(guess), "a plain hash of {guess}");
        }
    }
    assert_eq!(rows[1].1, None, "the erased address is kept as a hash only");
    let list = app.get_api("/api/v1/suppressions?limit=1").await.body;
    let cursor = list["next_cursor"].as_str().unwrap_or_default().to_string();
    assert!(
        !cursor.contains(&plain_sha256("keyed@example.com")),
        "{cursor}"
    );
    // Still in force.
    let r = app
        .post_transaction(json!({"transaction_id": "o-2", "email": "erased@example.com"}))
        .await;
    assert_eq!(r.body["invitation"]["reason"], "suppressed", "{}", r.body);
}

/// Rows written before the upgrade hold a plain SHA-256 (the migration cannot re-key them: an
/// erased row no longer has its address). They keep suppressing, and are re-keyed as soon as
/// their address is seen.
async fn a_suppression_from_before_the_key_still_suppresses(backend: Backend) {
    let app = spawn_app(backend).await;
    let now = app.clock.now();
    for (email, kept) in [
        ("old@example.com", None),
        ("kept@example.com", Some("Kept@Example.com")),
    ] {
        let hash = plain_sha256(email);
        app.store
            .write(move |c| {
                use diesel::RunQueryDsl;
                // As the migration leaves an older row: no hash_kind given, the default applies.
                diesel::sql_query(
                    "INSERT INTO suppressions (email_hash, email, reason, created_at) \
                     VALUES ($1, $2, 'bounce', $3)",
                )
                .bind::<diesel::sql_types::Text, _>(&hash)
                .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(kept)
                .bind::<diesel::sql_types::Timestamp, _>(now)
                .execute(c)?;
                Ok(())
            })
            .await
            .unwrap();
    }
    assert!(suppression_rows(&app).await.iter().all(|r| r.2 == "sha256"));

    // The erased one: no sending, then re-keyed.
    let r = app
        .post_transaction(json!({"transaction_id": "o-1", "email": "Old@Example.com"}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.body["invitation"]["status"], "skipped", "{}", r.body);
    assert_eq!(r.body["invitation"]["reason"], "suppressed");
    let rows = suppression_rows(&app).await;
    let old = rows.iter().find(|r| r.1.is_none()).unwrap();
    assert_eq!(old.2, "hmac-sha256", "{rows:?}");
    assert_ne!(old.0, plain_sha256("old@example.com"));
    let r = app
        .post_transaction(json!({"transaction_id": "o-2", "email": "old@example.com"}))
        .await;
    assert_eq!(
        r.body["invitation"]["reason"], "suppressed",
        "still, once re-keyed"
    );

    // The one still holding its address: exported, then lifted.
    let export = app.get_api("/api/v1/people/kept@example.com").await.body;
    assert_eq!(export["suppression"]["reason"], "bounce", "{export}");
    let res = app
        .client
        .delete(app.url("/api/v1/suppressions/kept@example.com"))
        .bearer_auth(crate::helpers::API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(suppression_rows(&app).await.len(), 1);
    app.transaction_and_email("o-4", "kept@example.com").await;
}
