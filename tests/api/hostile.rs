//! Hostile and odd input: NUL characters, ids that went through a float, addresses no mailer can
//! use, malformed queries and wrong methods. Each answer is a clear 4xx in the reader's format
//! (JSON on the API, the friendly page in the browser), with the protective headers, and nothing
//! already stored is lost.
use crate::backend_tests;
use crate::helpers::{spawn_app, Backend, API_KEY};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

backend_tests!(
    nul_characters_are_refused_alike_on_both_backends,
    numeric_transaction_ids_must_be_exact,
    addresses_the_mailer_cannot_use_are_refused_at_ingest,
    every_answer_has_the_readers_format_and_headers,
);

async fn nul_characters_are_refused_alike_on_both_backends(backend: Backend) {
    let app = spawn_app(backend).await;
    for (body, field) in [
        (
            json!({"transaction_id": "o-1", "email": "ann@example.com", "name": "Ann\u{0}"}),
            "name",
        ),
        (
            json!({"transaction_id": "o-1", "email": "ann@example.com", "properties": {"plan": "pro\u{0}"}}),
            "properties.plan",
        ),
        (
            json!({"transaction_id": "o-\u{0}1", "email": "ann@example.com"}),
            "transaction_id",
        ),
    ] {
        let r = app.post_transaction(body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
        assert_eq!(r.body["error"]["field"], field, "{}", r.body);
    }
    // In a batch only the item with the NUL is refused.
    let r = app
        .api(
            Method::POST,
            "/api/v1/transactions/batch",
            Some(json!([
                {"transaction_id": "b-1", "email": "bea@example.com"},
                {"transaction_id": "b-2", "email": "bo@example.com", "name": "B\u{0}"},
            ])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["accepted"], 1, "{}", r.body);
    assert_eq!(r.body["results"][1]["status"], 422);
    assert_eq!(r.body["results"][1]["error"]["field"], "name");

    // A survey setting.
    let r = app
        .api(
            Method::PATCH,
            "/api/v1/surveys/default",
            Some(json!({"brand": "Shop\u{0}"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["error"]["field"], "brand");

    // CR/LF in anything that reaches an email header.
    for (field, value) in [
        ("brand", "Shop\r\nBcc: eve@example.com"),
        ("sender", "Shop <a@shop.example>\r\nBcc: eve@example.com"),
        ("reply_to", "Help\n <help@shop.example>"),
        ("question", "How likely?\r\nX-Evil: 1"),
    ] {
        let r = app
            .api(
                Method::PATCH,
                "/api/v1/surveys/default",
                Some(json!({field: value})),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            r.body
        );
        assert_eq!(r.body["error"]["field"], field);
    }
    let r = app
        .post_transaction(json!({"transaction_id": "o-9", "email": "ann@example.com", "name": "Ann\r\nBcc: eve@example.com"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["error"]["field"], "name");

    // In a path or a query: JSON on the API, a page in the browser.
    for path in [
        "/api/v1/surveys/de%00fault",
        "/api/v1/surveys/default/nps?from=%00",
    ] {
        let r = app.get_api(path).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.body);
        assert!(r.body["error"]["code"].is_string());
    }
    let (status, page) = app.get_page(&app.url("/r/abc%00def?score=9")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("<html"), "{page}");

    // The public comment form keeps the comment, without the NUL.
    let mail = app
        .transaction_and_email("order-1", "ann@example.com")
        .await;
    let (status, page) = app
        .post_form(
            &mail.form_link(),
            &[("score", "9"), ("comment", "Great\u{0} service")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let comments = app.comments("").await;
    assert_eq!(
        comments["comments"][0]["comment"], "Great service",
        "{comments}"
    );
}

async fn numeric_transaction_ids_must_be_exact(backend: Backend) {
    let app = spawn_app(backend).await;
    let post_raw = |id: &'static str| {
        let body = format!(
            r#"{{"transaction_id": {id}, "email": "ann-{}@example.com"}}"#,
            id.len()
        );
        app.client
            .post(app.url("/api/v1/transactions"))
            .bearer_auth(API_KEY)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    // Exact integers are ids; 2^64 and above, exponents and fractions went through a float.
    for id in ["18446744073709551615", "42", "-7"] {
        let res = post_raw(id).await.unwrap();
        assert_eq!(res.status(), StatusCode::ACCEPTED, "{id}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["invitation"]["transaction_id"], id);
    }
    for id in [
        "18446744073709551616",
        "18446744073709551617",
        "1e2",
        "100.0",
        "4.5",
    ] {
        let res = post_raw(id).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{id}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["field"], "transaction_id", "{body}");
    }
    // As strings, the two large ids are two customers.
    for (id, email) in [
        ("18446744073709551616", "x@example.com"),
        ("18446744073709551617", "y@example.com"),
    ] {
        let r = app
            .post_transaction(json!({"transaction_id": id, "email": email}))
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    }
}

async fn addresses_the_mailer_cannot_use_are_refused_at_ingest(backend: Backend) {
    let app = spawn_app(backend).await;
    for email in [
        "ann@[127.0.0.1]",
        "ann@127.0.0.1",
        "ann@localhost",
        "ann@exa_mple.com",
        "ann@example.com\r\nBcc: eve@example.com",
    ] {
        let r = app
            .post_transaction(json!({"transaction_id": "o-1", "email": email}))
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{email}: {}",
            r.body
        );
        assert_eq!(r.body["error"]["field"], "email");
    }
    // International names are fine.
    let r = app
        .post_transaction(json!({"transaction_id": "o-2", "email": "jörg@müller.example"}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
}

async fn every_answer_has_the_readers_format_and_headers(backend: Backend) {
    let app = spawn_app(backend).await;
    let mail = app
        .transaction_and_email("order-1", "ann@example.com")
        .await;

    // Pages: a policy that allows no script and no framing.
    let res = app.client.get(mail.score_link(9)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");

    // API: never cached, never sniffed.
    let res = app
        .client
        .get(app.url("/api/v1/surveys"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let res = app
        .client
        .get(app.url("/api/v1/surveys"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()["cache-control"], "no-store");

    // A link naming two scores: the friendly form, nothing counted.
    let (status, page) = app
        .get_page(&format!("{}?score=9&score=3", mail.form_link()))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("more than one score"), "{page}");

    // Wrong methods: JSON with a code on the API, the page in the browser.
    for (method, path) in [
        (Method::DELETE, "/api/v1/transactions"),
        (Method::PUT, "/api/v1/surveys/default"),
        (Method::DELETE, "/api/v1/surveys"),
    ] {
        let res = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(res.headers()["content-type"], "application/json");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "method_not_allowed", "{body}");
    }
    for (method, url) in [
        (Method::PUT, mail.form_link()),
        (Method::DELETE, mail.unsubscribe_link()),
    ] {
        let res = app
            .client
            .request(method.clone(), &url)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {url}"
        );
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(res.headers().contains_key("content-security-policy"));
        assert!(res.text().await.unwrap().contains("<html"));
    }

    // A body that is not JSON, or too large, or of another type: JSON errors.
    let res = app
        .client
        .post(app.url("/api/v1/transactions"))
        .bearer_auth(API_KEY)
        .header("Content-Type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unsupported_media_type");
}
