//! Who gets in: keys with scopes, created, listed and revoked through the API; every route walked
//! without credentials and with each wrong scope; repeated wrong keys slowed down with 429.
use crate::backend_tests;
use crate::helpers::{spawn_app, spawn_app_with, Backend, TestApp, API_KEY};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

backend_tests!(
    keys_are_created_listed_and_revoked,
    every_route_needs_a_key_with_its_scope,
    repeated_wrong_keys_are_slowed_down,
    unknown_link_tokens_are_slowed_down,
);

async fn create_key(app: &TestApp, name: &str, scopes: &[&str]) -> Value {
    let r = app
        .api(
            Method::POST,
            "/api/v1/api-keys",
            Some(json!({"name": name, "scopes": scopes})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

async fn call_get(app: &TestApp, key: Option<&str>, path: &str) -> (StatusCode, Value) {
    call(app, key, Method::GET, path, None).await
}

async fn call_post(
    app: &TestApp,
    key: Option<&str>,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    call(app, key, Method::POST, path, Some(body)).await
}

async fn call_delete(app: &TestApp, key: Option<&str>, path: &str) -> (StatusCode, Value) {
    call(app, key, Method::DELETE, path, None).await
}

async fn call(
    app: &TestApp,
    key: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = app.client.request(method, app.url(path));
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
    };
    (status, body)
}

async fn keys_are_created_listed_and_revoked(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = create_key(&app, "shop backend", &["ingest"]).await;
    for field in ["id", "name", "scopes", "prefix", "key"] {
        assert!(!created[field].is_null(), "{field} in {created}");
    }
    assert_eq!(created["scopes"], json!(["ingest"]));
    let key = created["key"].as_str().unwrap().to_string();
    assert!(key.starts_with(created["prefix"].as_str().unwrap()));

    // The new key ingests...
    let (status, _) = call_post(
        &app,
        Some(&key),
        "/api/v1/transactions",
        json!({"transaction_id": "o-1", "email": "ann@example.com"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // ...but reads nothing.
    let (status, body) = call_get(&app, Some(&key), "/api/v1/surveys/default/nps").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "forbidden");

    // Listed without the key itself.
    let r = app.get_api("/api/v1/api-keys").await;
    assert_eq!(r.status, StatusCode::OK);
    let listed = r.body["api_keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == created["id"])
        .cloned()
        .expect("the new key is listed");
    assert!(listed.get("key").is_none(), "{listed}");
    assert!(!r.body.to_string().contains(&key));
    assert_eq!(listed["revoked_at"], Value::Null);

    // Bad requests name the field.
    for (body, field) in [
        (json!({"scopes": ["read"]}), "name"),
        (json!({"name": "x", "scopes": []}), "scopes"),
        (json!({"name": "x", "scopes": ["root"]}), "scopes"),
        (json!({"name": "x"}), "scopes"),
    ] {
        let r = app.api(Method::POST, "/api/v1/api-keys", Some(body)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.body["error"]["field"], field);
    }

    // Revoked: refused at once, listed as revoked, a second revoke is 404.
    let id = created["id"].as_str().unwrap();
    let (status, _) = call_delete(&app, Some(API_KEY), &format!("/api/v1/api-keys/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call_post(
        &app,
        Some(&key),
        "/api/v1/transactions",
        json!({"transaction_id": "o-2", "email": "bob@example.com"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call_delete(&app, Some(API_KEY), &format!("/api/v1/api-keys/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let r = app.get_api("/api/v1/api-keys").await;
    assert!(r.body["api_keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["id"] == id && k["revoked_at"].is_string()));
}

/// Every API route, with the scope it needs and a body that passes authentication.
fn routes() -> Vec<(Method, &'static str, Option<Value>, &'static str)> {
    let tx = json!({"transaction_id": "walk-1", "email": "walk@example.com"});
    vec![
        (
            Method::POST,
            "/api/v1/transactions",
            Some(tx.clone()),
            "ingest",
        ),
        (
            Method::POST,
            "/api/v1/transactions/batch",
            Some(json!([tx])),
            "ingest",
        ),
        (Method::GET, "/api/v1/surveys", None, "read"),
        (Method::GET, "/api/v1/surveys/default", None, "read"),
        (Method::GET, "/api/v1/surveys/default/nps", None, "read"),
        (
            Method::GET,
            "/api/v1/surveys/default/comments",
            None,
            "read",
        ),
        (Method::GET, "/api/v1/suppressions", None, "read"),
        (
            Method::POST,
            "/api/v1/surveys",
            Some(json!({"slug": "walked"})),
            "admin",
        ),
        (
            Method::PATCH,
            "/api/v1/surveys/default",
            Some(json!({"brand": "Walk"})),
            "admin",
        ),
        (Method::GET, "/api/v1/api-keys", None, "admin"),
        (
            Method::POST,
            "/api/v1/api-keys",
            Some(json!({"name": "w", "scopes": ["read"]})),
            "admin",
        ),
        (
            Method::DELETE,
            "/api/v1/api-keys/nonexistent",
            None,
            "admin",
        ),
        (
            Method::POST,
            "/api/v1/suppressions",
            Some(json!({"email": "s@example.com", "reason": "manual"})),
            "admin",
        ),
        (
            Method::DELETE,
            "/api/v1/suppressions/s@example.com",
            None,
            "admin",
        ),
        (
            Method::GET,
            "/api/v1/people/walk@example.com",
            None,
            "admin",
        ),
        (
            Method::DELETE,
            "/api/v1/people/nobody@example.com",
            None,
            "admin",
        ),
    ]
}

async fn every_route_needs_a_key_with_its_scope(backend: Backend) {
    let app = spawn_app(backend).await;
    let ingest = create_key(&app, "ingest", &["ingest"]).await["key"]
        .as_str()
        .unwrap()
        .to_string();
    let read = create_key(&app, "read", &["read"]).await["key"]
        .as_str()
        .unwrap()
        .to_string();
    let both = create_key(&app, "both", &["ingest", "read"]).await["key"]
        .as_str()
        .unwrap()
        .to_string();
    let admin = create_key(&app, "admin", &["admin"]).await["key"]
        .as_str()
        .unwrap()
        .to_string();
    let keys: Vec<(&str, &str, Vec<&str>)> = vec![
        ("ingest", &ingest, vec!["ingest"]),
        ("read", &read, vec!["read"]),
        ("ingest+read", &both, vec!["ingest", "read"]),
        ("admin", &admin, vec!["ingest", "read", "admin"]),
    ];
    for (method, path, body, scope) in routes() {
        let (status, answer) = call(&app, None, method.clone(), path, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} without a key"
        );
        assert_eq!(answer["error"]["code"], "unauthorized");
        let (status, _) = call(
            &app,
            Some("npsd_not-a-key-at-all-xxxxxxxx"),
            method.clone(),
            path,
            body.clone(),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} with a wrong key"
        );
        for (name, key, allowed) in &keys {
            let (status, answer) = call(&app, Some(key), method.clone(), path, body.clone()).await;
            if allowed.contains(&scope) {
                assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "{method} {path} with {name}: {status} {answer}"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{method} {path} with {name}: {answer}"
                );
                assert_eq!(answer["error"]["code"], "forbidden");
            }
        }
    }
}

async fn repeated_wrong_keys_are_slowed_down(backend: Backend) {
    let app = spawn_app_with(backend, &[("NPSD_AUTH_FAILURE_LIMIT", "5")]).await;
    let mut statuses = Vec::new();
    for i in 0..8 {
        let (status, _) = call_get(
            &app,
            Some(&format!("npsd_guess-{i:030}")),
            "/api/v1/surveys",
        )
        .await;
        statuses.push(status.as_u16());
    }
    assert_eq!(statuses[..4], [401, 401, 401, 401], "{statuses:?}");
    assert!(statuses[4..].iter().all(|s| *s == 429), "{statuses:?}");
    let res = app
        .client
        .get(app.url("/api/v1/surveys"))
        .bearer_auth("npsd_one-more-guess-xxxxxxxxxxxxx")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_requests");
    // A valid key from the same address still gets in: only guesses are slowed down.
    let (status, _) = call_get(&app, Some(API_KEY), "/api/v1/surveys").await;
    assert_eq!(status, StatusCode::OK);
}

async fn unknown_link_tokens_are_slowed_down(backend: Backend) {
    let app = spawn_app_with(backend, &[("NPSD_AUTH_FAILURE_LIMIT", "5")]).await;
    let mail = app
        .transaction_and_email("order-1", "ann@example.com")
        .await;
    let mut statuses = Vec::new();
    for i in 0..7 {
        let (status, _) = app
            .get_page(&app.url(&format!("/r/guessedtoken{i:020}?score=9")))
            .await;
        statuses.push(status.as_u16());
    }
    assert_eq!(statuses[..4], [404, 404, 404, 404], "{statuses:?}");
    assert!(statuses[4..].iter().all(|s| *s == 429), "{statuses:?}");
    let (_, page) = app
        .get_page(&app.url("/r/guessedtoken-again-0000000?score=9"))
        .await;
    assert!(page.contains("Too many attempts"), "{page}");
    // A person's real link from the same address (one office, one scanner) still works.
    let (status, _) = app.get_page(&mail.score_link(9)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.nps("").await["promoters"], 1);
}
