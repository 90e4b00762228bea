//! Security (issue 18): erasure leaves no copy behind. After `DELETE /api/v1/people/{email}` the
//! address, the name, a comment's words and a property value are nowhere in the database: not in
//! SQLite's files (the database, its WAL and shared-memory files, freed pages, the comment search
//! index) nor in a backup, not in any PostgreSQL table, not among the dashboard's filter values;
//! and a digest recipient's deliveries go with the address. The export lists every click and
//! delivery held before.
use crate::backend_tests;
use crate::helpers::{spawn_app, Backend, SurveyMail, TestApp};
use diesel::{Connection, QueryableByName, RunQueryDsl};
use reqwest::{Method, StatusCode};
use serde_json::json;

backend_tests!(erasure_leaves_no_copy_behind);

/// The customer to erase, and what only they ever gave.
const EMAIL: &str = "zq.vesperfield@erasure.example";
const NAME: &str = "Quillon Vesperfield";
const WORD: &str = "zqxglimmerwhisk";
const VALUE: &str = "zqplatinumtier";
/// A colleague on the survey's digest list, erased by the same API.
const TEAM: &str = "zq.teammate@shop.example";

/// Everything that must be gone.
const NEEDLES: [&str; 5] = [EMAIL, NAME, WORD, VALUE, TEAM];

fn found_in(bytes: &[u8]) -> Vec<&'static str> {
    NEEDLES
        .iter()
        .copied()
        .filter(|n| bytes.windows(n.len()).any(|w| w == n.as_bytes()))
        .collect()
}

/// The SQLite database's own files (the database, its WAL and shared memory), as they are now.
fn sqlite_files(app: &TestApp) -> Vec<(String, Vec<u8>)> {
    let path = app.db.url().trim_start_matches("sqlite://").to_string();
    ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| format!("{path}{suffix}"))
        .filter_map(|p| std::fs::read(&p).ok().map(|b| (p, b)))
        .collect()
}

#[derive(QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    text: String,
}

/// Every row of every table in the PostgreSQL test database, as text.
fn postgres_rows(app: &TestApp) -> Vec<String> {
    let mut conn = diesel::pg::PgConnection::establish(app.db.url()).unwrap();
    let tables: Vec<Text> = diesel::sql_query(
        "SELECT table_name::text AS text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .load(&mut conn)
    .unwrap();
    assert!(tables.len() > 20, "every table is checked");
    let mut rows = Vec::new();
    for t in tables {
        let sql = format!("SELECT t::text AS text FROM \"{}\" t", t.text);
        let found: Vec<Text> = diesel::sql_query(sql).load(&mut conn).unwrap();
        rows.extend(found.into_iter().map(|r| format!("{}: {}", t.text, r.text)));
    }
    rows
}

/// What the dashboard offers as values of `plan` to filter by.
async fn offered_plans(app: &TestApp) -> Vec<String> {
    app.store
        .read(|c| {
            let survey = npsd::store::surveys::find_by_slug(c, "default")?.expect("default");
            npsd::store::tallies::property_values(c, &survey.id, "plan")
        })
        .await
        .unwrap()
}

async fn answered(app: &TestApp, tx: &str, email: &str, name: &str, plan: &str, comment: &str) {
    let r = app
        .post_transaction(json!({"transaction_id": tx, "email": email, "name": name, "properties": {"plan": plan}}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let mail = SurveyMail::new(app.drain_and_messages_to(email, 1).await.remove(0));
    // A click, then the comment from the form.
    let (status, _) = app.get_page(&mail.score_link(9)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .post_form(&mail.form_link(), &[("score", "9"), ("comment", comment)])
        .await;
    assert_eq!(status, StatusCode::OK);
}

async fn erasure_leaves_no_copy_behind(backend: Backend) {
    let app = spawn_app(backend).await;
    // A colleague gets the weekly digest; set up after this week's slot, last week's goes at once.
    let r = app
        .patch_survey(
            "default",
            json!({"digest": {"enabled": true, "recipients": [TEAM, "ops@shop.example"], "weekday": "mon", "hour": 0, "time_zone": "UTC"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    answered(
        &app,
        "o-bob",
        "bob@example.com",
        "Bob",
        "basic",
        "Quick delivery",
    )
    .await;
    answered(
        &app,
        "o-zq",
        EMAIL,
        NAME,
        VALUE,
        &format!("The {WORD} broke"),
    )
    .await;
    assert_eq!(app.smtp.messages_to(TEAM).len(), 1, "the digest went out");
    assert!(offered_plans(&app).await.contains(&VALUE.to_string()));

    // The export holds every click and delivery.
    let export = app.get_api(&format!("/api/v1/people/{EMAIL}")).await.body;
    let clicks: Vec<(&str, i64)> = export["link_events"]
        .as_array()
        .expect("clicks exported")
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["score"].as_i64().unwrap()))
        .collect();
    assert_eq!(clicks, vec![("click", 9), ("submit", 9)], "{export}");
    let team = app.get_api(&format!("/api/v1/people/{TEAM}")).await.body;
    let deliveries = team["digest_deliveries"]
        .as_array()
        .expect("deliveries exported");
    assert_eq!(deliveries.len(), 1, "{team}");
    assert_eq!(deliveries[0]["survey"], "default");
    assert_eq!(deliveries[0]["status"], "sent");

    for address in [EMAIL, TEAM] {
        let r = app
            .api(Method::DELETE, &format!("/api/v1/people/{address}"), None)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let plans = offered_plans(&app).await;
    assert_eq!(
        plans,
        vec!["basic".to_string()],
        "the erased value is no filter"
    );
    let after = app.get_api(&format!("/api/v1/people/{TEAM}")).await.body;
    assert_eq!(after["digest_deliveries"], json!([]), "{after}");

    match backend {
        Backend::Sqlite => {
            // As the files are right after the erasure, without a checkpoint of ours.
            for (file, bytes) in sqlite_files(&app) {
                assert_eq!(found_in(&bytes), Vec::<&str>::new(), "in {file}");
            }
            // A backup taken now.
            let dir = tempfile::tempdir().unwrap();
            let copy = dir.path().join("backup.db");
            let (ok, out, err) = crate::cli::npsd_in(
                dir.path(),
                &[("NPSD_DATABASE_URL", app.db.url())],
                &["backup", copy.to_str().unwrap()],
            );
            assert!(ok, "{out}{err}");
            let bytes = std::fs::read(&copy).unwrap();
            assert_eq!(found_in(&bytes), Vec::<&str>::new(), "in the backup");
            // And after a checkpoint moved everything into the database file.
            let path = app.db.url().trim_start_matches("sqlite://").to_string();
            let mut conn = diesel::sqlite::SqliteConnection::establish(&path).unwrap();
            diesel::sql_query("PRAGMA wal_checkpoint(FULL)")
                .execute(&mut conn)
                .unwrap();
            for (file, bytes) in sqlite_files(&app) {
                assert_eq!(found_in(&bytes), Vec::<&str>::new(), "in {file}");
            }
        }
        Backend::Postgres => {
            let rows = postgres_rows(&app);
            let left: Vec<&String> = rows
                .iter()
                .filter(|r| !found_in(r.as_bytes()).is_empty())
                .collect();
            assert!(left.is_empty(), "left behind: {left:?}");
        }
    }
    // The rest still counts, and still searches.
    assert_eq!(app.nps("").await["responses"], 1);
    let found = app.comments("?q=quick").await;
    assert_eq!(
        found["comments"].as_array().map(Vec::len),
        Some(1),
        "{found}"
    );
}
