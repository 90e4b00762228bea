//! The SQLite and PostgreSQL migrations create the same tables with the same columns.
use crate::helpers::{postgres_available, Backend, TestDb};
use diesel::{Connection, QueryableByName, RunQueryDsl};
use npsd::store::{DatabaseUrl, Store};
use std::collections::BTreeSet;

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_name: String,
}

fn migrate(db: &TestDb) {
    let url = DatabaseUrl::parse(db.url()).unwrap();
    Store::open(&url, 1).expect("migrations run");
}

#[test]
fn both_backends_have_the_same_tables_and_columns() {
    if !postgres_available() {
        return;
    }
    let sqlite = TestDb::create(Backend::Sqlite);
    let postgres = TestDb::create(Backend::Postgres);
    migrate(&sqlite);
    migrate(&postgres);
    let path = sqlite.url().trim_start_matches("sqlite://").to_string();
    let mut conn = diesel::sqlite::SqliteConnection::establish(&path).unwrap();
    let lite: BTreeSet<(String, String)> = diesel::sql_query(
        "SELECT m.name AS table_name, p.name AS column_name FROM sqlite_master m \
         JOIN pragma_table_info(m.name) p \
         WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite_%' AND m.name != '__diesel_schema_migrations' \
         AND m.name NOT LIKE 'responses_fts%' AND m.name != 'response_search'",
    )
    .load::<Column>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|c| (c.table_name, c.column_name))
    .collect();
    let mut conn = diesel::pg::PgConnection::establish(postgres.url()).unwrap();
    let pg: BTreeSet<(String, String)> = diesel::sql_query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name != '__diesel_schema_migrations'",
    )
    .load::<Column>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|c| (c.table_name, c.column_name))
    .collect();
    assert!(lite.len() > 40, "{lite:?}");
    let only_sqlite: Vec<_> = lite.difference(&pg).collect();
    let only_pg: Vec<_> = pg.difference(&lite).collect();
    assert!(
        only_sqlite.is_empty() && only_pg.is_empty(),
        "migrations out of step: only in SQLite {only_sqlite:?}, only in PostgreSQL {only_pg:?}"
    );
}

#[derive(QueryableByName, Debug)]
struct PersonRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    email_key: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    email: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    name: Option<String>,
}

/// Undoes the migration `version` (and those after it) and runs them again, as on a database
/// from before it.
fn redo_migrations_from<C>(conn: &mut C, dir: &str, version: &str)
where
    C: diesel::connection::Connection + diesel_migrations::MigrationHarness<C::Backend>,
    C::Backend: Default,
{
    use diesel_migrations::FileBasedMigrations;
    let migrations = FileBasedMigrations::from_path(dir).unwrap();
    loop {
        let reverted = conn.revert_last_migration(migrations.clone()).unwrap();
        if reverted.to_string() == version {
            break;
        }
        assert!(
            reverted.to_string().as_str() > version,
            "reverted past migration {version}"
        );
    }
    conn.run_pending_migrations(migrations).unwrap();
}

const PEOPLE: &str = "20261203000001";
const SKIP_REASONS: &str = "20261208000001";

/// The people migration makes a person of every address already held (invitations, answers
/// that gave one), with UUIDv7-shaped ids in the order they first appeared.
async fn people_are_made_from_the_data_already_held(backend: Backend) {
    use serde_json::json;
    let app = crate::helpers::spawn_app(backend).await;
    for (i, (email, name)) in [("Ann@Example.com", Some("Ann")), ("bob@example.com", None)]
        .into_iter()
        .enumerate()
    {
        let mut tx = json!({"transaction_id": format!("t{i}"), "email": email});
        if let Some(n) = name {
            tx["name"] = json!(n);
        }
        let r = app.post_transaction(tx).await;
        assert!(r.status.is_success(), "{}", r.body);
        app.clock.advance(chrono::Duration::minutes(1));
    }
    let r = app
        .client
        .post(app.url("/v1/people"))
        .basic_auth(crate::helpers::API_KEY, Some(""))
        .json(&json!({"email": "cat@example.com", "name": "Cat", "send": false}))
        .send()
        .await
        .unwrap();
    let cat: serde_json::Value = r.json().await.unwrap();
    let r = app
        .client
        .post(app.url("/v1/survey_responses"))
        .basic_auth(crate::helpers::API_KEY, Some(""))
        .json(&json!({"person": cat["id"], "score": 9}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let query = "SELECT id, email_key, email, name FROM people ORDER BY id";
    let people: Vec<PersonRow> = match backend {
        Backend::Sqlite => {
            let mut conn = sqlite_beside(&app);
            // Cat is known only from an answer once the people are gone.
            diesel::sql_query("DELETE FROM invitations WHERE email_key = 'cat@example.com'")
                .execute(&mut conn)
                .unwrap();
            redo_migrations_from(&mut conn, "migrations/sqlite", PEOPLE);
            diesel::sql_query(query).load(&mut conn).unwrap()
        }
        Backend::Postgres => {
            let mut conn = diesel::pg::PgConnection::establish(app.db.url()).unwrap();
            redo_migrations_from(&mut conn, "migrations/postgres", PEOPLE);
            diesel::sql_query(query).load(&mut conn).unwrap()
        }
    };
    let keys: Vec<&str> = people.iter().map(|p| p.email_key.as_str()).collect();
    assert_eq!(
        keys,
        ["ann@example.com", "bob@example.com", "cat@example.com"],
        "in the order they appeared: {people:?}"
    );
    assert_eq!(people[0].email, "Ann@Example.com");
    assert_eq!(people[0].name.as_deref(), Some("Ann"));
    assert_eq!(people[2].name.as_deref(), Some("Cat"));
    for p in &people {
        assert_eq!(p.id.len(), 36, "{p:?}");
        assert_eq!(&p.id[14..15], "7", "UUIDv7-shaped: {p:?}");
        assert!(
            p.id.chars().all(|c| c.is_ascii_hexdigit() || c == '-'),
            "{p:?}"
        );
    }
}

#[derive(QueryableByName, Debug, PartialEq)]
struct Reasons {
    #[diesel(sql_type = diesel::sql_types::Text)]
    transaction_id: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    reason: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    skip_reason: Option<String>,
}

/// The skip reasons migration moves a skipped invitation's reason into `skip_reason`, and its
/// down migration moves it back; what the API shows is the same before and after.
async fn skip_reasons_move_to_their_own_column(backend: Backend) {
    use reqwest::Method;
    use serde_json::json;
    let app = crate::helpers::spawn_app(backend).await;
    let r = app
        .api(
            Method::POST,
            "/api/v1/suppressions",
            Some(json!({"email": "gone@example.com"})),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    for (id, email) in [
        ("t-suppressed", "gone@example.com"),
        ("t-cancelled", "ann@example.com"),
    ] {
        let r = app
            .post_transaction(json!({"transaction_id": id, "email": email, "delay_seconds": 3600}))
            .await;
        assert!(r.status.is_success(), "{}", r.body);
    }
    let cancel = app.invitation("t-cancelled", "ann@example.com").await;
    let r = app
        .api(
            Method::DELETE,
            &format!("/api/v1/invitations/{}", cancel["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let expected = vec![
        ("t-cancelled".to_string(), "cancelled".to_string()),
        ("t-suppressed".to_string(), "suppressed".to_string()),
    ];
    assert_eq!(reasons_shown(&app).await, expected);
    let query =
        "SELECT transaction_id, reason, skip_reason FROM invitations ORDER BY transaction_id";
    let stored = |reason: Option<&str>, skip: Option<&str>| {
        ["t-cancelled", "t-suppressed"]
            .iter()
            .zip(["cancelled", "suppressed"])
            .map(|(t, r)| Reasons {
                transaction_id: t.to_string(),
                reason: reason.map(|_| r.to_string()),
                skip_reason: skip.map(|_| r.to_string()),
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        load::<Reasons>(&app, backend, query),
        stored(None, Some("")),
        "written in the new column"
    );
    // Back to before the migration: the reasons are in `reason`, as an older npsd wrote them.
    let revert = "UPDATE invitations SET reason = skip_reason, skip_reason = NULL";
    execute(&app, backend, revert);
    assert_eq!(
        load::<Reasons>(&app, backend, query),
        stored(Some(""), None)
    );
    match backend {
        Backend::Sqlite => {
            let mut conn = sqlite_beside(&app);
            redo_migrations_from(&mut conn, "migrations/sqlite", SKIP_REASONS);
        }
        Backend::Postgres => {
            let mut conn = diesel::pg::PgConnection::establish(app.db.url()).unwrap();
            redo_migrations_from(&mut conn, "migrations/postgres", SKIP_REASONS);
        }
    }
    assert_eq!(
        load::<Reasons>(&app, backend, query),
        stored(None, Some(""))
    );
    assert_eq!(reasons_shown(&app).await, expected);
}

#[derive(QueryableByName, Debug, PartialEq)]
struct Counted {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Counted responses, and what the tally tables alone (without the journal) hold of them.
fn counted_and_tallied(app: &crate::helpers::TestApp, backend: Backend) -> (i64, i64) {
    let sums = (0..=10)
        .map(|i| format!("COALESCE(SUM(s{i}), 0)"))
        .collect::<Vec<_>>()
        .join(" + ");
    let counted = load::<Counted>(
        app,
        backend,
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM responses WHERE status = 'counted'",
    );
    let tallied = load::<Counted>(
        app,
        backend,
        &format!("SELECT CAST({sums} AS BIGINT) AS n FROM score_tallies"),
    );
    (counted[0].n, tallied[0].n)
}

/// The tally journal's migration reverted folds what the journal holds into the tallies and
/// puts back the triggers that add to them directly; applied again, answers journal again.
/// Nothing is counted twice or lost either way.
async fn the_tally_journal_migration_reverts_and_reapplies_without_losing_a_count(
    backend: Backend,
) {
    use diesel_migrations::{FileBasedMigrations, MigrationHarness};
    use serde_json::json;
    let app = crate::insights::app(backend).await;
    let answer = |i: u32| json!({"score": i % 11, "visitor_id": format!("m{i}"), "properties": {"plan": "pro"}});
    for i in 0..12 {
        app.web_answer_created(crate::insights::SHOP, &answer(i))
            .await;
    }
    // Journal rows not folded yet, whatever the projection did meanwhile.
    execute(
        &app,
        backend,
        "INSERT INTO tally_journal (survey_id, hour, day, channel, s10) \
         SELECT survey_id, hour, hour, channel, 0 FROM score_tallies LIMIT 1",
    );
    macro_rules! migrate {
        ($conn:expr, $dir:expr) => {{
            let migrations = FileBasedMigrations::from_path($dir).unwrap();
            // The migrations that came after it are reverted first, newest first.
            loop {
                let reverted = $conn.revert_last_migration(migrations.clone()).unwrap();
                let reverted = reverted.to_string();
                if reverted == TALLY_JOURNAL {
                    break;
                }
                assert!(reverted.as_str() > TALLY_JOURNAL, "{reverted}");
            }
            // Reverted: everything is in the tally tables.
            assert_eq!(counted_and_tallied(&app, backend), (12, 12));
            $conn.run_pending_migrations(migrations).unwrap();
        }};
    }
    match backend {
        Backend::Sqlite => {
            let mut conn = sqlite_beside(&app);
            migrate!(conn, "migrations/sqlite");
        }
        Backend::Postgres => {
            let mut conn = diesel::pg::PgConnection::establish(app.db.url()).unwrap();
            migrate!(conn, "migrations/postgres");
        }
    }
    app.web_answer_created(crate::insights::SHOP, &answer(12))
        .await;
    assert_eq!(app.nps("").await["responses"], 13);
    // The new answer went to the journal; folded, the tallies hold all thirteen.
    app.store
        .write(|c| npsd::store::journal::fold_all(c, false))
        .await
        .unwrap();
    assert_eq!(counted_and_tallied(&app, backend), (13, 13));
}

const TALLY_JOURNAL: &str = "20261209000001";

crate::backend_tests!(
    people_are_made_from_the_data_already_held,
    skip_reasons_move_to_their_own_column,
    the_tally_journal_migration_reverts_and_reapplies_without_losing_a_count
);

/// The invitations' `reason` as the API shows them, by transaction id.
async fn reasons_shown(app: &crate::helpers::TestApp) -> Vec<(String, String)> {
    let list = app.get_api("/api/v1/invitations").await.body;
    let mut reasons: Vec<(String, String)> = list["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["transaction_id"].as_str().unwrap().to_string(),
                i["reason"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect();
    reasons.sort();
    reasons
}

/// A connection of the test's own to the app's SQLite file, waiting its turn while the app writes
/// (the projection folds the tally journal in the background).
fn sqlite_beside(app: &crate::helpers::TestApp) -> diesel::sqlite::SqliteConnection {
    use diesel::connection::SimpleConnection;
    let path = app.db.url().trim_start_matches("sqlite://").to_string();
    let mut conn = diesel::sqlite::SqliteConnection::establish(&path).unwrap();
    conn.batch_execute("PRAGMA busy_timeout = 10000").unwrap();
    conn
}

fn load<T: QueryableByName<diesel::sqlite::Sqlite> + QueryableByName<diesel::pg::Pg> + 'static>(
    app: &crate::helpers::TestApp,
    backend: Backend,
    query: &str,
) -> Vec<T> {
    match backend {
        Backend::Sqlite => {
            let mut conn = sqlite_beside(app);
            diesel::sql_query(query).load(&mut conn).unwrap()
        }
        Backend::Postgres => {
            let mut conn = diesel::pg::PgConnection::establish(app.db.url()).unwrap();
            diesel::sql_query(query).load(&mut conn).unwrap()
        }
    }
}

fn execute(app: &crate::helpers::TestApp, backend: Backend, statement: &str) {
    match backend {
        Backend::Sqlite => {
            let mut conn = sqlite_beside(app);
            diesel::sql_query(statement).execute(&mut conn).unwrap();
        }
        Backend::Postgres => {
            let mut conn = diesel::pg::PgConnection::establish(app.db.url()).unwrap();
            diesel::sql_query(statement).execute(&mut conn).unwrap();
        }
    }
}

/// The generated migrations (the insights, daily tallies, privacy and tally journal triggers, written for both
/// backends by tools/gen_insights_migration.py) are what the generator writes today: a hand edit
/// of one backend's file, or a generator change not run, fails here.
#[test]
fn the_generator_reproduces_the_generated_migrations() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("python3")
        .arg(root.join("tools/gen_insights_migration.py"))
        .arg(out.path())
        .status()
        .expect("python3 runs the migration generator");
    assert!(status.success(), "the generator failed: {status}");
    let mut compared = 0;
    for backend in ["sqlite", "postgres"] {
        let generated = out.path().join("migrations").join(backend);
        for dir in std::fs::read_dir(&generated).unwrap() {
            let dir = dir.unwrap().path();
            for file in ["up.sql", "down.sql"] {
                let name = dir.file_name().unwrap();
                let committed = root.join("migrations").join(backend).join(name).join(file);
                assert_eq!(
                    std::fs::read_to_string(dir.join(file)).unwrap(),
                    std::fs::read_to_string(&committed).unwrap_or_default(),
                    "{} differs from what the generator writes",
                    committed.display()
                );
                compared += 1;
            }
        }
    }
    assert_eq!(
        compared, 16,
        "the generator writes four migrations for both backends"
    );
}
