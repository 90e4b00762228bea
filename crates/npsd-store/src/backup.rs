//! `npsd backup FILE`: a consistent copy of the SQLite database, taken while the service runs.
//! `VACUUM INTO` reads one snapshot (WAL lets the service go on writing meanwhile) and writes a
//! compact, self-contained database file. It goes to `FILE.partial` first and is renamed into
//! place when complete, so FILE is never a half-written copy.
//!
//! Also what keeps erased data out of SQLite's files: [`empty_wal`].
use super::{DatabaseUrl, DbConn, Manager, StoreResult};
use anyhow::{bail, Context};
use diesel::r2d2::ManageConnection;
use diesel::RunQueryDsl;
use std::path::Path;

pub fn sqlite_backup(url: &DatabaseUrl, dest: &Path) -> anyhow::Result<()> {
    let DatabaseUrl::Sqlite(source) = url else {
        bail!("npsd backup copies SQLite databases; for PostgreSQL use pg_dump (see docs/OPERATIONS.md, Backups)");
    };
    if dest.exists() {
        bail!("{} exists already; name a new file", dest.display());
    }
    let source_path = source.strip_prefix("file:").unwrap_or(source);
    let source_path = source_path.split('?').next().unwrap_or(source_path);
    if !Path::new(source_path).exists() {
        bail!("NPSD_DATABASE_URL: the SQLite file {source_path} does not exist");
    }
    let partial = dest.with_file_name(format!(
        "{}.partial",
        dest.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "npsd-backup".into())
    ));
    let _ = std::fs::remove_file(&partial);
    let mut conn = Manager { url: url.clone() }
        .connect()
        .with_context(|| format!("NPSD_DATABASE_URL: cannot open the {url}"))?;
    let DbConn::Sqlite(ref mut c) = conn else {
        unreachable!("a SQLite URL opens a SQLite connection")
    };
    diesel::sql_query("PRAGMA busy_timeout = 10000").execute(c)?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<diesel::sql_types::Text, _>(partial.to_string_lossy().into_owned())
        .execute(c)
        .with_context(|| format!("cannot write the copy to {}", partial.display()))?;
    std::fs::rename(&partial, dest)
        .with_context(|| format!("cannot move the copy to {}", dest.display()))?;
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct Checkpoint {
    /// 1 when a reader or writer kept the checkpoint from completing.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    busy: i32,
}

/// Moves every page in SQLite's write-ahead log into the database file and empties the log file
/// (`wal_checkpoint(TRUNCATE)`): the log otherwise keeps the earlier versions of pages, erased
/// rows included, until later writes happen to overwrite them. The database file's own copies
/// were zeroed by `secure_delete` when the rows went. Waits out readers and the writer up to the
/// busy timeout; answers whether the log is empty (false: it empties at a later checkpoint).
/// Nothing to do on PostgreSQL. Not inside a transaction.
pub fn empty_wal(conn: &mut DbConn) -> StoreResult<bool> {
    match conn {
        #[cfg(feature = "sqlite")]
        DbConn::Sqlite(c) => {
            let done: Checkpoint =
                diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)").get_result(c)?;
            Ok(done.busy == 0)
        }
        #[cfg(feature = "postgres")]
        DbConn::Postgresql(_) => Ok(true),
    }
}
