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
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name != '__diesel_schema_migrations' \
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

/// Undoes the people migration (and those after it) and runs them again, as on a database from
/// before it.
fn redo_people_migration<C>(conn: &mut C, dir: &str)
where
    C: diesel::connection::Connection + diesel_migrations::MigrationHarness<C::Backend>,
    C::Backend: Default,
{
    use diesel_migrations::FileBasedMigrations;
    let migrations = FileBasedMigrations::from_path(dir).unwrap();
    loop {
        let reverted = conn.revert_last_migration(migrations.clone()).unwrap();
        if reverted.to_string() == "20261203000001" {
            break;
        }
        assert!(
            reverted.to_string().as_str() > "20261203000001",
            "reverted past the people migration"
        );
    }
    conn.run_pending_migrations(migrations).unwrap();
}

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
            let path = app.db.url().trim_start_matches("sqlite://").to_string();
            let mut conn = diesel::sqlite::SqliteConnection::establish(&path).unwrap();
            // Cat is known only from an answer once the people are gone.
            diesel::sql_query("DELETE FROM invitations WHERE email_key = 'cat@example.com'")
                .execute(&mut conn)
                .unwrap();
            redo_people_migration(&mut conn, "migrations/sqlite");
            diesel::sql_query(query).load(&mut conn).unwrap()
        }
        Backend::Postgres => {
            let mut conn = diesel::pg::PgConnection::establish(app.db.url()).unwrap();
            redo_people_migration(&mut conn, "migrations/postgres");
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

crate::backend_tests!(people_are_made_from_the_data_already_held);

/// The generated migrations (the insights, daily tallies and privacy triggers, written for both
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
        compared, 12,
        "the generator writes three migrations for both backends"
    );
}
