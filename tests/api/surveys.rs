//! /api/v1/surveys: the default survey, create, read, change.
use crate::backend_tests;
use crate::helpers::{spawn_app, Backend};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn the_default_survey_exists_and_can_be_changed(backend: Backend) {
    let app = spawn_app(backend).await;
    let r = app.get_api("/api/v1/surveys/default").await;
    assert_eq!(r.status, StatusCode::OK);
    let s = &r.body;
    assert_eq!(s["slug"], "default");
    assert_eq!(s["send_delay_seconds"], 0);
    assert_eq!(s["throttle_days"], 90);
    assert_eq!(s["response_window_days"], 30);
    assert_eq!(s["locale"], "en");

    let r = app
        .api(
            Method::PATCH,
            "/api/v1/surveys/default",
            Some(json!({"brand": "Shoe Shop", "sender": "Shoe Shop <hello@shoes.example>", "reply_to": "help@shoes.example", "accent_color": "#FF6600", "question": "Would you recommend {brand} to a friend?"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["brand"], "Shoe Shop");
    assert_eq!(r.body["accent_color"], "#ff6600");
    assert_eq!(
        r.body["question_text"],
        "Would you recommend Shoe Shop to a friend?"
    );

    // The email follows the survey.
    let mail = app
        .transaction_and_email("order-1", "ann@example.com")
        .await;
    assert!(mail
        .mail
        .header("From")
        .unwrap()
        .contains("hello@shoes.example"));
    assert!(mail
        .mail
        .header("Reply-To")
        .unwrap()
        .contains("help@shoes.example"));
    assert!(mail
        .text
        .contains("Would you recommend Shoe Shop to a friend?"));
    let (_, page) = app.get_page(&mail.score_link(5)).await;
    assert!(page.contains("Would you recommend Shoe Shop to a friend?"));

    // What was read can be sent back as it is, changed.
    let mut read = app.get_api("/api/v1/surveys/default").await.body;
    read["throttle_days"] = json!(14);
    let r = app.patch_survey("default", read).await;
    assert_eq!(r.body["throttle_days"], 14);

    // Clearing an optional field with null.
    let r = app.patch_survey("default", json!({"question": null})).await;
    assert!(r.body["question"].is_null());
    assert_eq!(
        r.body["question_text"],
        "How likely are you to recommend Shoe Shop to a friend or colleague?"
    );
}

async fn surveys_are_created_listed_and_checked(backend: Backend) {
    let app = spawn_app(backend).await;
    let r = app
        .api(Method::POST, "/api/v1/surveys", Some(json!({"slug": "support", "brand": "ACME Support", "send_delay_seconds": 600, "throttle_days": 30, "locale": "de"})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["send_delay_seconds"], 600);
    assert_eq!(r.body["locale"], "de");

    let again = app
        .api(
            Method::POST,
            "/api/v1/surveys",
            Some(json!({"slug": "support"})),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.body["error"]["code"], "conflict");

    let list = app.get_api("/api/v1/surveys").await;
    let slugs: Vec<&str> = list.body["surveys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, vec!["default", "support"]);

    for (body, field) in [
        (json!({"brand": "x"}), "slug"),
        (json!({"slug": "Has Spaces"}), "slug"),
        (
            json!({"slug": "ok", "accent_color": "blue"}),
            "accent_color",
        ),
        (
            json!({"slug": "ok", "throttle_days": "ten"}),
            "throttle_days",
        ),
        (json!({"slug": "ok", "sender": "nobody"}), "sender"),
        (
            json!({"slug": "ok", "unknown_setting": 1}),
            "unknown_setting",
        ),
    ] {
        let r = app
            .api(Method::POST, "/api/v1/surveys", Some(body.clone()))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(r.body["error"]["field"], field, "{}", r.body);
    }
    let r = app
        .api(
            Method::PATCH,
            "/api/v1/surveys/support",
            Some(json!({"response_window_days": 0})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.get_api("/api/v1/surveys/support").await.body["response_window_days"],
        30,
        "unchanged"
    );

    let r = app.get_api("/api/v1/surveys/nope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["error"]["code"], "not_found");
    let r = app.get_api("/api/v1/surveys/nope/nps").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .get_api("/api/v1/surveys/default/nps?from=yesterday")
        .await;
    assert_eq!(r.body["error"]["field"], "from");
    let r = app
        .get_api("/api/v1/surveys/default/comments?category=fans")
        .await;
    assert_eq!(r.body["error"]["field"], "category");
    let r = app
        .get_api("/api/v1/surveys/default/comments?cursor=garbage")
        .await;
    assert_eq!(r.body["error"]["field"], "cursor");
}

/// Liveness answers without the database; readiness asks it.
async fn livez_and_healthz_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/livez", "/healthz"] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body, json!({"status": "ok"}), "{path}");
    }
}

backend_tests!(
    the_default_survey_exists_and_can_be_changed,
    surveys_are_created_listed_and_checked,
    livez_and_healthz_answer
);
