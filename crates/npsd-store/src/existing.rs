//! Opening a database that must be there already. The operator's commands (`keys`, `users`,
//! `import`...) work on the service's database: run in the wrong folder or without the service's
//! settings, they refuse instead of creating an empty database of their own. Only `serve` and
//! `migrate` create one ([`Store::open`], [`super::run_migrations`]).
use super::{DatabaseUrl, DbConn, Manager, Store, StoreError};
use diesel::r2d2::ManageConnection;
use diesel::RunQueryDsl;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum OpenExistingError {
    /// No file at the SQLite path.
    #[error("no database at {0}")]
    Missing(String),
    /// A database npsd never set up: it has no migrations table.
    #[error("the {0} is not an npsd database: it has no npsd tables")]
    NotNpsd(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// Opens a database that `serve` or `migrate` created, applying the migrations a newer npsd
    /// brings; refuses one that does not exist or has no npsd tables, and creates nothing.
    pub fn open_existing(url: &DatabaseUrl, pool_size: u32) -> Result<Store, OpenExistingError> {
        check_npsd_database(url)?;
        Ok(Store::open(url, pool_size)?)
    }
}

/// Whether `url` names a database npsd has set up, without creating one: a SQLite file must exist
/// before it is opened (opening creates it otherwise); a PostgreSQL database that does not exist
/// fails to connect anyway.
pub fn check_npsd_database(url: &DatabaseUrl) -> Result<(), OpenExistingError> {
    if let DatabaseUrl::Sqlite(raw) = url {
        if !sqlite_file(raw).exists() {
            return Err(OpenExistingError::Missing(shown(url)));
        }
    }
    let mut conn = Manager { url: url.clone() }
        .connect()
        .map_err(|e| StoreError::Connect(e.to_string()))?;
    if has_migrations_table(&mut conn).map_err(StoreError::Query)? {
        Ok(())
    } else {
        Err(OpenExistingError::NotNpsd(shown(url)))
    }
}

/// The file of `sqlite://PATH`, also when PATH is a `file:` URI with parameters (`?mode=ro`).
fn sqlite_file(raw: &str) -> &Path {
    let path = raw.strip_prefix("file:").unwrap_or(raw);
    Path::new(path.split('?').next().unwrap_or(path))
}

/// The database for a message: a SQLite file by its absolute path, so the message says where
/// the command looked; a PostgreSQL database without credentials.
fn shown(url: &DatabaseUrl) -> String {
    match url {
        DatabaseUrl::Sqlite(raw) => {
            let file = sqlite_file(raw);
            let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
            format!("SQLite file {}", file.display())
        }
        DatabaseUrl::Postgres(_) => url.to_string(),
    }
}

#[derive(diesel::QueryableByName)]
struct Found {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    found: bool,
}

/// diesel's own table, made by the first migration run.
fn has_migrations_table(conn: &mut DbConn) -> diesel::QueryResult<bool> {
    let found = match conn {
        #[cfg(feature = "sqlite")]
        DbConn::Sqlite(c) => diesel::sql_query(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master \
             WHERE type = 'table' AND name = '__diesel_schema_migrations') AS found",
        )
        .get_result::<Found>(c)?,
        // Looked up as the migrations find it: by the search path.
        #[cfg(feature = "postgres")]
        DbConn::Postgresql(c) => diesel::sql_query(
            "SELECT to_regclass('__diesel_schema_migrations') IS NOT NULL AS found",
        )
        .get_result::<Found>(c)?,
    };
    Ok(found.found)
}
