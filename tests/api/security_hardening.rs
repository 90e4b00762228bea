//! Security (issue 18), the smaller hardenings, each reproducing its attack: stalled request
//! bodies and connections held per address (4), Strict-Transport-Security (9), a key revoked from
//! the command line while the server runs (10), the dashboard's CSV export kept by no cache (11),
//! and an unsubscribe link that cannot answer the survey (13).
use crate::backend_tests;
use crate::cli::npsd_in;
use crate::dashboard::{add_admin, Session, ADMIN, PASSWORD};
use crate::helpers::{spawn_app, spawn_app_with, Backend};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Sends `head` and part of the body it announces, then waits: what came back, and how long the
/// server took to answer and close the connection (None: it was still open after `patience`).
fn stall(port: u16, head: &str, patience: Duration) -> (String, Option<Duration>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(patience)).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => {
                return (
                    String::from_utf8_lossy(&got).into_owned(),
                    Some(started.elapsed()),
                )
            }
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), None),
        }
    }
}

fn stalled_post(path: &str, content_type: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\n\
         Origin: https://shop.example\r\nContent-Length: 400\r\n\r\nemail=a"
    )
}

/// The three unauthenticated POSTs of the report: a body that stops arriving is answered 408
/// within the deadline (1 s here), and the connection closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_request_body_is_timed_out_and_its_connection_closed() {
    let app = spawn_app_with(
        Backend::Sqlite,
        &[("NPSD_REQUEST_BODY_TIMEOUT_SECONDS", "1")],
    )
    .await;
    app.patch_survey(
        "default",
        json!({"allowed_origins": ["https://shop.example"], "reply_to": "Help <help@acme.example>"}),
    )
    .await;
    let port = app.port;
    let cases = [
        ("/login", "application/x-www-form-urlencoded"),
        (
            "/r/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "application/x-www-form-urlencoded",
        ),
        ("/api/v1/embed/default/responses", "application/json"),
    ];
    for (path, content_type) in cases {
        let head = stalled_post(path, content_type);
        let (answer, closed_after) =
            tokio::task::spawn_blocking(move || stall(port, &head, Duration::from_secs(8)))
                .await
                .unwrap();
        let closed_after =
            closed_after.unwrap_or_else(|| panic!("{path}: still open after 8 s: {answer:?}"));
        assert!(
            answer.starts_with("HTTP/1.1 408"),
            "{path}: answered {answer:?}"
        );
        assert!(
            closed_after < Duration::from_secs(6),
            "{path}: closed after {closed_after:?}"
        );
    }
    // Many at once are all let go, and the server still answers.
    let stalled: Vec<_> = (0..50)
        .map(|_| {
            let head = stalled_post("/login", "application/x-www-form-urlencoded");
            tokio::task::spawn_blocking(move || stall(port, &head, Duration::from_secs(8)))
        })
        .collect();
    for s in stalled {
        let (answer, closed) = s.await.unwrap();
        assert!(
            closed.is_some() && answer.starts_with("HTTP/1.1 408"),
            "{answer:?}"
        );
    }
    let res = app.client.get(app.url("/livez")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // A body that arrives in time is read as ever.
    let r = app
        .post_transaction(json!({"transaction_id": "t-1", "email": "ann@example.com"}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
}

/// One address may hold only so many connections: the next one is answered 429 and closed, and
/// a place is free again once a connection closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_per_address_are_bounded() {
    let app = spawn_app_with(Backend::Sqlite, &[("NPSD_CONNECTIONS_PER_ADDRESS", "3")]).await;
    let port = app.port;
    let held: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    // The server counts a connection when it accepts it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let head = "GET /livez HTTP/1.1\r\nHost: localhost\r\n\r\n".to_string();
    let (answer, closed) =
        tokio::task::spawn_blocking(move || stall(port, &head, Duration::from_secs(5)))
            .await
            .unwrap();
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer:?}");
    assert!(closed.is_some(), "the refused connection stays open");
    let api = "GET /api/v1/surveys HTTP/1.1\r\nHost: localhost\r\n\r\n".to_string();
    let (answer, _) =
        tokio::task::spawn_blocking(move || stall(port, &api, Duration::from_secs(5)))
            .await
            .unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 429") && answer.contains("too_many_connections"),
        "{answer:?}"
    );
    drop(held);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let res = reqwest::Client::new()
        .get(app.url("/livez"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_public_url_gets_strict_transport_security() {
    let app = spawn_app_with(
        Backend::Sqlite,
        &[("NPSD_PUBLIC_URL", "https://nps.shop.example")],
    )
    .await;
    for path in ["/livez", "/login", "/api/v1/surveys", "/no-such-page"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(
            res.headers()
                .get("strict-transport-security")
                .and_then(|v| v.to_str().ok()),
            Some("max-age=31536000"),
            "{path}"
        );
    }
    // Served over plain http, a browser must not be told to insist on https.
    let plain = spawn_app(Backend::Sqlite).await;
    let res = plain.client.get(plain.url("/login")).send().await.unwrap();
    assert!(res.headers().get("strict-transport-security").is_none());
}

/// `npsd keys revoke` is another process: the running server refuses the key at its next
/// request, though it used the key a moment before.
async fn a_key_revoked_from_the_command_line_stops_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app
        .api(
            reqwest::Method::POST,
            "/api/v1/api-keys",
            Some(json!({"name": "script", "scopes": ["read"]})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let key = created.body["key"].as_str().unwrap().to_string();
    let id = created.body["id"].as_str().unwrap().to_string();
    let get = |key: String| {
        let app = &app;
        async move {
            app.client
                .get(app.url("/api/v1/surveys"))
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(get(key.clone()).await, StatusCode::OK);
    let db = app.db.url().to_string();
    let (ok, _, err) = tokio::task::spawn_blocking(move || {
        npsd_in(
            &std::env::temp_dir(),
            &[("NPSD_DATABASE_URL", &db)],
            &["keys", "revoke", &id],
        )
    })
    .await
    .unwrap();
    assert!(ok, "{err}");
    assert_eq!(get(key).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboards_csv_export_is_kept_by_no_cache() {
    let app = crate::insights::app(Backend::Sqlite).await;
    add_admin(&app);
    let mut admin = Session::new(&app);
    admin.sign_in(ADMIN, PASSWORD).await;
    let csv = admin.get("/dashboard/default/export.csv").await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    assert_eq!(
        csv.headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
}

/// What a mailbox provider or gateway sees (the List-Unsubscribe URL) unsubscribes, and cannot
/// answer the survey or open its form; the score links still work.
async fn the_unsubscribe_link_cannot_answer_the_survey(backend: Backend) {
    let app = spawn_app(backend).await;
    let mail = app.transaction_and_email("o-1", "ann@example.com").await;
    let unsubscribe = mail.unsubscribe_link();
    let unsubscribe_token = unsubscribe.rsplit('/').next().unwrap().to_string();
    assert_ne!(unsubscribe_token, mail.token());
    for path in [
        format!("/r/{unsubscribe_token}?score=10"),
        format!("/r/{unsubscribe_token}"),
    ] {
        let (status, _) = app.get_page(&app.url(&path)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _) = app
        .post_form(
            &app.url(&format!("/r/{unsubscribe_token}")),
            &[("score", "10"), ("comment", "forged")],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let nps: Value = app.nps("").await;
    assert_eq!(nps["responses"], 0, "{nps}");
    // It still does its own job, and the survey's own link still answers.
    let (status, page) = app.get_page(&unsubscribe).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let (status, _) = app.get_page(&mail.score_link(9)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.one_click_unsubscribe(&mail).await, StatusCode::OK);
    let r = app
        .post_transaction(json!({"transaction_id": "o-2", "email": "ann@example.com"}))
        .await;
    assert_eq!(r.body["invitation"]["reason"], "unsubscribed", "{}", r.body);
}

backend_tests!(
    a_key_revoked_from_the_command_line_stops_at_once,
    the_unsubscribe_link_cannot_answer_the_survey
);
