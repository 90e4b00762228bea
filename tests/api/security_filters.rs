//! Security (issue 18, item 1): property filters cannot stall the database. A request with more
//! than 10 property names or 50 values is refused at once (422, a page on the dashboard); a read
//! past its time budget is stopped and answered 503; a read whose client left is stopped; and
//! survey links keep answering while heavy filters run.
use crate::backend_tests;
use crate::dashboard::{add_admin, Session, ADMIN, PASSWORD};
use crate::helpers::{spawn_app, spawn_app_with, Backend, TestApp, API_KEY};
use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

/// Every API route that takes `property.NAME` filters, with the parameters it needs besides.
const ROUTES: &[&str] = &[
    "/api/v1/surveys/default/nps?",
    "/api/v1/surveys/default/nps/trend?",
    "/api/v1/surveys/default/nps/breakdown?by=p0&",
    "/api/v1/surveys/default/comments?",
    "/api/v1/surveys/default/responses?",
    "/api/v1/surveys/default/responses.csv?",
    "/api/v1/surveys/default/responses.ndjson?",
];

/// 3,000 values of one property, as the attack sent them.
fn many_values() -> String {
    (0..3000)
        .map(|i| format!("property.p0=v{i}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// 1,500 distinct property names.
fn many_names() -> String {
    (0..1500)
        .map(|i| format!("property.p{i}=v0"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The most a request may ask: 10 names of 5 values each; the first name matches every seeded
/// answer, the others none, so every answer in range is checked.
fn heaviest_allowed() -> String {
    (0..10)
        .flat_map(|k| {
            let value = if k == 0 { "v" } else { "none" };
            (0..5).map(move |v| format!("property.p{k}={value}{v}"))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A trend of 1,000 days under the heaviest filters: 3,000 statements, seconds of work.
fn heavy_trend() -> String {
    format!(
        "/api/v1/surveys/default/nps/trend?interval=day&from=2023-09-01&to=2026-05-27&{}",
        heaviest_allowed()
    )
}

/// Adds `n` counted answers to the default survey straight in the database, an hour apart
/// before the test epoch, each with `props` properties `p0`, `p1`... of five values `v0` to `v4`.
fn seed(app: &TestApp, backend: Backend, n: usize, props: usize) {
    let survey = "(SELECT id FROM surveys WHERE slug = 'default')";
    match backend {
        Backend::Sqlite => {
            let path = app.db.url().trim_start_matches("sqlite://");
            let mut c = diesel::sqlite::SqliteConnection::establish(path).unwrap();
            c.batch_execute(&format!(
                "PRAGMA busy_timeout = 10000; BEGIN IMMEDIATE;
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})
                 INSERT INTO responses (id, survey_id, channel, score, comment, status,
                     responded_at, created_at, updated_at, verified)
                 SELECT printf('seed-%07d', i), {survey}, 'api', i % 11, 'seeded answer ' || i,
                     'counted', datetime('2026-06-01 09:00:00', '-' || i || ' hours'),
                     '2026-06-01 09:00:00', '2026-06-01 09:00:00', 0 FROM n;
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}),
                     k(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM k WHERE k + 1 < {props})
                 INSERT INTO response_properties (response_id, name, value)
                 SELECT printf('seed-%07d', i), 'p' || k, 'v' || ((i + k) % 5) FROM n, k;
                 COMMIT;"
            ))
            .unwrap();
        }
        Backend::Postgres => {
            let mut c = diesel::pg::PgConnection::establish(app.db.url()).unwrap();
            c.batch_execute(&format!(
                "BEGIN;
                 INSERT INTO responses (id, survey_id, channel, score, comment, status,
                     responded_at, created_at, updated_at, verified)
                 SELECT 'seed-' || lpad(i::text, 7, '0'), {survey}, 'api', i % 11,
                     'seeded answer ' || i, 'counted',
                     timestamp '2026-06-01 09:00:00' - make_interval(hours => i),
                     timestamp '2026-06-01 09:00:00', timestamp '2026-06-01 09:00:00', false
                 FROM generate_series(1, {n}) i;
                 INSERT INTO response_properties (response_id, name, value)
                 SELECT 'seed-' || lpad(i::text, 7, '0'), 'p' || k, 'v' || ((i + k) % 5)
                 FROM generate_series(1, {n}) i, generate_series(0, {props} - 1) k;
                 COMMIT; ANALYZE;"
            ))
            .unwrap();
        }
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
    took: Duration,
}

async fn get(app: &TestApp, path: &str) -> Answer {
    let started = Instant::now();
    let res = app
        .client
        .get(app.url(path))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    let text = res.text().await.unwrap();
    Answer {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        took: started.elapsed(),
    }
}

async fn too_many_filters_are_refused_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    seed(&app, backend, 2_000, 3);
    let attacks = [
        (many_values(), "at most 50 property values"),
        (many_names(), "at most 10 property names"),
    ];
    for route in ROUTES {
        for (attack, limit) in &attacks {
            let r = get(&app, &format!("{route}{attack}")).await;
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{route}: {}",
                r.body
            );
            assert_eq!(r.body["error"]["code"], "validation_failed", "{}", r.body);
            assert_eq!(r.body["error"]["field"], "property", "{}", r.body);
            let message = r.body["error"]["message"].as_str().unwrap();
            assert!(message.contains(limit), "{route}: {message}");
            assert!(r.took < Duration::from_secs(1), "{route}: {:?}", r.took);
        }
    }
    // Up to the limits, filters are read as ever.
    let r = get(&app, &format!("{}{}", ROUTES[0], heaviest_allowed())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["responses"], 0, "{}", r.body);
    let r = get(&app, &format!("{}property.p0=v1&property.p1=v2", ROUTES[0])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["responses"], 400, "{}", r.body);

    // A dashboard viewer gets a page that names the limit.
    add_admin(&app);
    let mut browser = Session::new(&app);
    browser.sign_in(ADMIN, PASSWORD).await;
    for path in ["/dashboard/default?", "/dashboard/default/export.csv?"] {
        for (attack, limit) in &attacks {
            let started = Instant::now();
            let page = browser.get(&format!("{path}{attack}")).await;
            assert_eq!(
                page.status,
                StatusCode::BAD_REQUEST,
                "{path}: {}",
                page.body
            );
            assert!(page.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"));
            assert!(page.body.contains(limit), "{path}: {}", page.body);
            assert!(started.elapsed() < Duration::from_secs(1), "{path}");
        }
    }
}

async fn survey_links_answer_while_filters_run(backend: Backend) {
    let app = spawn_app(backend).await;
    seed(&app, backend, 2_000, 3);
    let mail = app
        .transaction_and_email("order-1", "ann@example.com")
        .await;
    let app = std::sync::Arc::new(app);
    let mut load = tokio::task::JoinSet::new();
    for i in 0..10 {
        let (app, also) = (app.clone(), app.clone());
        let attack = if i % 2 == 0 {
            many_values()
        } else {
            many_names()
        };
        load.spawn(async move {
            (
                "attack",
                get(&app, &format!("{}{attack}", ROUTES[i % ROUTES.len()])).await,
            )
        });
        load.spawn(async move { ("heavy", get(&also, &heavy_trend()).await) });
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for score in [9, 10] {
        let started = Instant::now();
        let (status, page) = app.get_page(&mail.score_link(score)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "a survey link took {:?} while filters ran",
            started.elapsed()
        );
    }
    while let Some(done) = load.join_next().await {
        let (kind, r) = done.unwrap();
        match kind {
            "attack" => assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body),
            // Heavy but allowed: answered, or (on a slow machine) stopped at the budget or not
            // let wait for long.
            _ => assert!(
                r.status == StatusCode::OK || r.status == StatusCode::SERVICE_UNAVAILABLE,
                "{}",
                r.status
            ),
        }
    }
}

async fn a_read_past_its_budget_answers_503(backend: Backend) {
    let app = spawn_app_with(backend, &[("NPSD_QUERY_TIMEOUT_MS", "100")]).await;
    // Everyday reads fit the budget.
    let r = get(&app, "/api/v1/surveys/default/nps").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let r = get(&app, &heavy_trend()).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "not stopped");
    assert_eq!(r.body["error"]["code"], "query_timeout", "{}", r.body);
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("NPSD_QUERY_TIMEOUT_MS"), "{message}");
    assert!(r.headers.contains_key("retry-after"));

    // Writes are not held to the read budget, and the stopped read left its connection usable.
    let w = app
        .post_transaction(json!({"transaction_id": "order-1", "email": "ann@example.com"}))
        .await;
    assert_eq!(w.status, StatusCode::ACCEPTED, "{}", w.body);
    let r = get(&app, "/api/v1/surveys/default/comments").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // The dashboard answers with a page.
    add_admin(&app);
    let mut browser = Session::new(&app);
    browser.sign_in(ADMIN, PASSWORD).await;
    let query = heavy_trend();
    let page = browser
        .get(&format!(
            "/dashboard/default?{}",
            query.split_once('?').unwrap().1
        ))
        .await;
    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        page.body
    );
    assert!(page.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
}

/// How many of npsd's connections run a filtered statement (over `response_properties` or
/// `invitation_properties`) now, or started one in the last 100 ms (a trend's statements are
/// short; between two the connection is idle).
#[derive(diesel::QueryableByName)]
struct Running {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn filter_statements(monitor: &mut diesel::pg::PgConnection) -> i64 {
    diesel::sql_query(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() \
         AND pid <> pg_backend_pid() AND query LIKE '%_properties%' \
         AND (state = 'active' OR query_start > clock_timestamp() - interval '100 milliseconds')",
    )
    .get_result::<Running>(monitor)
    .unwrap()
    .n
}

async fn a_read_stops_when_its_client_leaves(backend: Backend) {
    // A budget far away, and one read connection on SQLite: only the client leaving stops it.
    let app = spawn_app_with(
        backend,
        &[
            ("NPSD_QUERY_TIMEOUT_MS", "600000"),
            ("NPSD_DB_POOL_SIZE", "1"),
        ],
    )
    .await;
    seed(&app, backend, 2_000, 1);
    let full = get(&app, &heavy_trend()).await;
    assert_eq!(full.status, StatusCode::OK);

    let mut client = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {API_KEY}\r\n\r\n",
        heavy_trend()
    );
    client.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(full.took / 8).await;
    let mut monitor = (backend == Backend::Postgres)
        .then(|| diesel::pg::PgConnection::establish(app.db.url()).unwrap());
    if let Some(monitor) = monitor.as_mut() {
        assert!(filter_statements(monitor) > 0, "the read should be running");
    }
    drop(client);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The read connection is free again at once, not when the read would have ended.
    let started = Instant::now();
    let r = get(&app, "/api/v1/surveys/default").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        started.elapsed() < full.took / 2,
        "a read waited {:?} behind one whose client left (it runs {:?})",
        started.elapsed(),
        full.took
    );
    if let Some(monitor) = monitor.as_mut() {
        // A cancel that falls between two statements finds none, and is sent again until the
        // read has ended: on a loaded machine its last statement may still show for a moment.
        let deadline = Instant::now() + full.took / 2;
        while filter_statements(monitor) > 0 {
            assert!(
                Instant::now() < deadline,
                "the read still runs {:?} after its client left (it runs {:?})",
                started.elapsed(),
                full.took
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Once stopped, it stays stopped.
        for _ in 0..10 {
            assert_eq!(filter_statements(monitor), 0, "the read started again");
            tokio::time::sleep(full.took / 20).await;
        }
    }
}

backend_tests!(
    too_many_filters_are_refused_at_once,
    survey_links_answer_while_filters_run,
    a_read_past_its_budget_answers_503,
    a_read_stops_when_its_client_leaves,
);
