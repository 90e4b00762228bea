//! NPSD_DATABASE_READ_URL (issue 20): figures, lists, search and export read from a streaming
//! replica, writes and what must see them stay on the primary. Against a real replica: a second
//! PostgreSQL cluster on this machine, made with pg_basebackup by tests/replica/start.sh (which
//! .ci/run runs), at NPSD_TEST_POSTGRES_REPLICA_URL.
use crate::helpers::{postgres_available, spawn_on, Backend, TestDb};
use crate::insights::SHOP;
use crate::smtp::TestSmtp;
use diesel::{Connection, RunQueryDsl};
use serde_json::json;
use std::time::{Duration, Instant};

/// The replica's admin URL, or None (the test is skipped) unless NPSD_TEST_REQUIRE_REPLICA=1.
fn replica_admin_url() -> Option<String> {
    match std::env::var("NPSD_TEST_POSTGRES_REPLICA_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("NPSD_TEST_REQUIRE_REPLICA").as_deref() == Ok("1") => {
            panic!("NPSD_TEST_REQUIRE_REPLICA=1 but NPSD_TEST_POSTGRES_REPLICA_URL is not set: run tests/replica/start.sh")
        }
        _ => {
            eprintln!("SKIPPED: no read replica (run tests/replica/start.sh and set NPSD_TEST_POSTGRES_REPLICA_URL)");
            None
        }
    }
}

/// Pauses the replica's replay until dropped: what the primary commits meanwhile is not on the
/// replica yet, as with a replica that lags.
struct ReplayPaused(String);

impl ReplayPaused {
    fn start(admin: &str) -> ReplayPaused {
        let mut c = diesel::pg::PgConnection::establish(admin).unwrap();
        diesel::sql_query("SELECT pg_wal_replay_pause()")
            .execute(&mut c)
            .unwrap();
        ReplayPaused(admin.to_string())
    }
}

impl Drop for ReplayPaused {
    fn drop(&mut self) {
        if let Ok(mut c) = diesel::pg::PgConnection::establish(&self.0) {
            let _ = diesel::sql_query("SELECT pg_wal_replay_resume()").execute(&mut c);
        }
    }
}

async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{what}: not within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figures_read_from_the_replica_and_answers_write_to_the_primary() {
    if !postgres_available() {
        return;
    }
    let Some(admin) = replica_admin_url() else {
        return;
    };
    let db = TestDb::migrated(Backend::Postgres);
    let mut replica = url::Url::parse(&admin).unwrap();
    replica.set_path(url::Url::parse(db.url()).unwrap().path());
    let replica = replica.to_string();
    // The new database reaches the replica through the WAL, like everything else.
    until("the test database on the replica", || {
        let replica = replica.clone();
        async move {
            diesel::pg::PgConnection::establish(&replica)
                .and_then(|mut c| {
                    diesel::sql_query("SELECT 1 FROM surveys LIMIT 1")
                        .execute(&mut c)
                        .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))
                })
                .is_ok()
        }
    })
    .await;
    let app = spawn_on(
        db,
        TestSmtp::start(),
        &[
            ("NPSD_DATABASE_READ_URL", &replica),
            ("NPSD_EMBED_RATE_LIMIT", "0"),
        ],
    )
    .await;
    app.patch_survey("default", json!({"allowed_origins": [SHOP]}))
        .await;
    let answer = |n: u32| json!({"score": 10, "comment": format!("replica word{n}"), "visitor_id": format!("v{n}")});
    app.web_answer_created(SHOP, &answer(1)).await;
    until("the first answer in the figures", || async {
        app.nps("").await["responses"] == 1
    })
    .await;

    // With the replica held back, answers are still taken (the primary), each acknowledged with
    // what it stored, while figures, comment search and the export show the replica's state.
    let paused = ReplayPaused::start(&admin);
    let stored = app.web_answer_created(SHOP, &answer(2)).await;
    assert_eq!(stored["response"]["score"], 10, "{stored}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.nps("").await["responses"],
        1,
        "figures come from the replica"
    );
    let found = app.comments("?q=word2").await;
    assert_eq!(
        found["comments"].as_array().map(Vec::len),
        Some(0),
        "{found}"
    );
    assert!(!app.export_csv().await.contains("word2"));
    // Replay resumes: the replica catches up, and so do the figures.
    drop(paused);
    until("the second answer in the figures", || async {
        app.nps("").await["responses"] == 2
    })
    .await;
    let found = app.comments("?q=word2").await;
    assert_eq!(
        found["comments"].as_array().map(Vec::len),
        Some(1),
        "{found}"
    );
}

/// A read URL is a PostgreSQL replica of a PostgreSQL database: with SQLite on either side the
/// configuration is refused, naming the variable.
#[test]
fn a_read_url_needs_postgresql_on_both_sides() {
    use npsd::config::{Config, Sources};
    for (primary, replica) in [
        (
            "sqlite://npsd.db",
            "postgres://postgres@127.0.0.1:5433/npsd",
        ),
        (
            "postgres://postgres@127.0.0.1:5432/npsd",
            "sqlite://replica.db",
        ),
    ] {
        let refused = Config::from_sources(&Sources::from_pairs(vec![
            ("NPSD_DATABASE_URL", primary),
            ("NPSD_DATABASE_READ_URL", replica),
        ]))
        .expect_err("refused");
        let text = refused.to_string();
        assert!(text.contains("NPSD_DATABASE_READ_URL"), "{text}");
    }
    let accepted = Config::from_sources(&Sources::from_pairs(vec![
        (
            "NPSD_DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/npsd",
        ),
        (
            "NPSD_DATABASE_READ_URL",
            "postgres://postgres@127.0.0.1:5433/npsd",
        ),
    ]))
    .expect("a PostgreSQL replica");
    assert!(accepted.database_read_url.is_some());
}
