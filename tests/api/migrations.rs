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
