//! Persistence: one connection type over SQLite and PostgreSQL, one schema, one file per table's queries.
//!
//! Every query is written once against [`DbConn`]; the rare statement that differs between the
//! backends (row locking when claiming outbox rows) is one explicit `match` on the connection.
//! (Over 400 lines: the connection enum, the pool with its SQLite pragmas, the errors and the
//! `Store` front every query goes through; they change together.)
// diesel's boxed, grouped queries over two backends nest deep types.
#![recursion_limit = "512"]
pub mod alerts;
pub mod answers;
pub mod api_keys;
pub mod backup;
pub mod budget;
pub mod digests;
pub mod erasure;
pub mod events;
pub mod existing;
pub mod filter;
pub mod ids;
pub mod invitations;
pub mod journal;
pub mod outbox;
pub mod people;
pub mod properties;
pub mod reports;
pub mod responses;
pub mod rows;
pub mod schema;
pub mod segment;
pub mod state;
mod state_sql;
pub mod suppressions;
pub mod surveys;
pub mod tallies;
pub mod unsubscribes;
pub mod users;
pub mod web_responses;
pub mod webhooks;
mod writer;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{CustomizeConnection, ManageConnection, Pool, R2D2Connection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    #[cfg(feature = "postgres")]
    Postgresql(diesel::pg::PgConnection),
    #[cfg(feature = "sqlite")]
    Sqlite(diesel::sqlite::SqliteConnection),
}

#[cfg(feature = "sqlite")]
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
#[cfg(feature = "postgres")]
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Where the data lives, parsed from `NPSD_DATABASE_URL`. A PostgreSQL URL may hold a password,
/// so it is kept as a secret that no `Debug` or `Display` prints.
#[derive(Debug, Clone)]
pub enum DatabaseUrl {
    /// A file path (`sqlite://PATH`).
    Sqlite(String),
    /// A libpq connection URL (`postgres://...`).
    Postgres(SecretString),
}

impl PartialEq for DatabaseUrl {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (DatabaseUrl::Sqlite(a), DatabaseUrl::Sqlite(b)) => a == b,
            (DatabaseUrl::Postgres(a), DatabaseUrl::Postgres(b)) => {
                a.expose_secret() == b.expose_secret()
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for DatabaseUrl {
    /// For messages: the SQLite path, or the PostgreSQL server and database without credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => write!(f, "SQLite file {path}"),
            DatabaseUrl::Postgres(url) => match url::Url::parse(url.expose_secret()) {
                Ok(u) => write!(
                    f,
                    "PostgreSQL database {}{} on {}",
                    u.path().trim_start_matches('/'),
                    if u.username().is_empty() {
                        String::new()
                    } else {
                        format!(" as {}", u.username())
                    },
                    u.host_str().unwrap_or("localhost")
                ),
                Err(_) => f.write_str("PostgreSQL database (URL not shown)"),
            },
        }
    }
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<DatabaseUrl, String> {
        let raw = raw.trim();
        if let Some(path) = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err("sqlite:// needs a file path, e.g. sqlite://npsd.db".into());
            }
            if !cfg!(feature = "sqlite") {
                return Err("this build of npsd has no SQLite support (feature \"sqlite\")".into());
            }
            Ok(DatabaseUrl::Sqlite(path.to_string()))
        } else if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            if !cfg!(feature = "postgres") {
                return Err(
                    "this build of npsd has no PostgreSQL support (feature \"postgres\")".into(),
                );
            }
            Ok(DatabaseUrl::Postgres(SecretString::from(raw)))
        } else {
            Err("must start with sqlite:// or postgres://".into())
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database query failed")]
    Query(#[from] DieselError),
    #[error("no database connection available")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("database connection failed: {0}")]
    Connect(String),
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("database task was cancelled")]
    Cancelled,
    /// A read ran past its time budget and was stopped (see [`budget`]).
    #[error("the read ran past its time budget and was stopped")]
    TimedOut,
    /// Too many reads of figures waited for their turn (see [`Store::read_insight`]).
    #[error("too many reads of figures at once")]
    Busy,
}

impl StoreError {
    /// The database was busy or unreachable rather than the query wrong: worth a retry.
    pub fn is_unavailable(&self) -> bool {
        self.is_contention()
            || matches!(
                self,
                StoreError::Pool(_)
                    | StoreError::Connect(_)
                    | StoreError::TimedOut
                    | StoreError::Busy
            )
            || matches!(
                self,
                StoreError::Query(DieselError::DatabaseError(
                    DatabaseErrorKind::ClosedConnection,
                    _
                ))
            )
    }
}

impl StoreError {
    /// PostgreSQL chose this transaction to end a deadlock, or could not serialise it: nothing of
    /// it was kept, and the same write run again may well succeed.
    pub fn is_contention(&self) -> bool {
        match self {
            StoreError::Query(DieselError::DatabaseError(
                DatabaseErrorKind::SerializationFailure,
                _,
            )) => true,
            // diesel has no kind for SQLSTATE 40P01; its message is fixed by PostgreSQL.
            StoreError::Query(DieselError::DatabaseError(DatabaseErrorKind::Unknown, info)) => {
                info.message().starts_with("deadlock detected")
            }
            _ => false,
        }
    }
}

pub fn is_unique_violation(e: &DieselError) -> bool {
    matches!(
        e,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

pub type StoreResult<T> = Result<T, StoreError>;

pub(crate) struct Manager {
    pub(crate) url: DatabaseUrl,
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        let conn = match &self.url {
            #[cfg(feature = "sqlite")]
            DatabaseUrl::Sqlite(path) => {
                DbConn::Sqlite(diesel::sqlite::SqliteConnection::establish(path)?)
            }
            #[cfg(feature = "postgres")]
            DatabaseUrl::Postgres(url) => {
                DbConn::Postgresql(diesel::pg::PgConnection::establish(url.expose_secret())?)
            }
            #[allow(unreachable_patterns)]
            _ => {
                return Err(diesel::r2d2::Error::ConnectionError(
                    diesel::ConnectionError::BadConnection("backend not compiled in".into()),
                ))
            }
        };
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        conn.is_broken()
    }
}

/// Writer threads on PostgreSQL, each with its own connection and batches.
const POSTGRES_WRITERS: usize = 2;

#[derive(Debug)]
struct ConnectionSetup;

/// What every new connection gets before its first query.
fn setup_connection(conn: &mut DbConn) -> Result<(), diesel::r2d2::Error> {
    ConnectionSetup.on_acquire(conn)
}

impl CustomizeConnection<DbConn, diesel::r2d2::Error> for ConnectionSetup {
    fn on_acquire(&self, conn: &mut DbConn) -> Result<(), diesel::r2d2::Error> {
        #[allow(irrefutable_let_patterns)]
        #[cfg(feature = "sqlite")]
        if let DbConn::Sqlite(c) = conn {
            // WAL lets readers go on while the one writer writes; the busy timeout covers a second
            // process on the same file. secure_delete overwrites deleted rows and freed pages
            // with zeros, so an erased person's data does not linger in the file.
            c.batch_execute(
                "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; \
                 PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                 PRAGMA secure_delete = ON;",
            )
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        let _ = conn;
        Ok(())
    }
}

/// A pool of read connections to `url`, each set up like every connection (`setup_connection`)
/// and given the read budget.
fn read_pool(
    url: &DatabaseUrl,
    pool_size: u32,
    read_budget: Duration,
) -> StoreResult<Pool<budget::ReadManager>> {
    let size = match url.backend() {
        Backend::Sqlite => pool_size.max(1),
        Backend::Postgres => pool_size.max(2),
    };
    Pool::builder()
        .max_size(size)
        // No idle minimum: r2d2 would replace a taken connection from a background
        // thread, and a short-lived `npsd` command exiting while that thread is inside
        // libpq's TLS set-up crashed (SIGSEGV in about one run in four on PostgreSQL).
        .min_idle(Some(0))
        // No `SELECT 1` before every read (a round trip each): a connection that broke is found
        // by `has_broken` when it comes back, and a read on it fails like any read would.
        .test_on_check_out(false)
        .connection_timeout(Duration::from_secs(10))
        .build(budget::ReadManager {
            manager: Manager { url: url.clone() },
            budget: read_budget,
        })
        .map_err(|e| StoreError::Connect(e.to_string()))
}

/// The pools. On SQLite all writes go through one connection (SQLite has one writer anyway, and
/// this way a write never meets SQLITE_BUSY inside the process); reads use several.
/// On PostgreSQL both are the same pool.
#[derive(Clone)]
pub struct Store {
    read: Pool<budget::ReadManager>,
    /// How long one read may run (see [`budget`]).
    read_budget: Duration,
    canceller: std::sync::Arc<budget::Canceller>,
    /// Room for reads of figures and lists (see [`Store::read_insight`]).
    insights: std::sync::Arc<tokio::sync::Semaphore>,
    /// A streaming replica for the reads that need not see the latest writes (see
    /// [`Store::read_replica`]), with its own canceller; None: those reads go to `read`.
    replica: Option<(Pool<budget::ReadManager>, std::sync::Arc<budget::Canceller>)>,
    write: writer::Writer,
    backend: Backend,
}

impl Store {
    /// Closes the store for good: the read pool's connections, then the writer threads, once
    /// every write is answered (when no other clone is left). For commands that exit after it.
    pub fn close(self) {
        drop(self.read);
        self.write.close();
    }

    /// Connects, and runs the pending migrations first. Reads get the default budget.
    pub fn open(url: &DatabaseUrl, pool_size: u32) -> StoreResult<Store> {
        Store::open_with_budget(url, pool_size, budget::DEFAULT_READ_BUDGET)
    }

    /// Like [`Store::open`], each read stopped after `read_budget` (see [`budget`]).
    pub fn open_with_budget(
        url: &DatabaseUrl,
        pool_size: u32,
        read_budget: Duration,
    ) -> StoreResult<Store> {
        run_migrations(url)?;
        let read = read_pool(url, pool_size, read_budget)?;
        // SQLite has one writer anyway: one thread, so a write never meets SQLITE_BUSY inside
        // the process. PostgreSQL takes writes side by side: a few threads, each batching.
        let writers = match url.backend() {
            Backend::Sqlite => 1,
            Backend::Postgres => POSTGRES_WRITERS,
        };
        let write = writer::Writer::start(Manager { url: url.clone() }, setup_connection, writers);
        Ok(Store {
            insights: std::sync::Arc::new(tokio::sync::Semaphore::new(budget::insight_room(
                read.max_size(),
            ))),
            read,
            read_budget,
            canceller: std::sync::Arc::new(budget::Canceller::new(Manager { url: url.clone() })),
            replica: None,
            write,
            backend: url.backend(),
        })
    }

    /// Sends the reads of figures, lists, search and export ([`Store::read_replica`]) to a
    /// streaming replica of the database, `pool_size` connections (NPSD_DATABASE_READ_URL).
    /// Connects lazily: a replica that is down fails those reads (503), not the start.
    pub fn with_replica(mut self, url: &DatabaseUrl, pool_size: u32) -> StoreResult<Store> {
        if url.backend() != Backend::Postgres || self.backend != Backend::Postgres {
            return Err(StoreError::Connect(
                "a read replica needs PostgreSQL on both sides".to_string(),
            ));
        }
        let pool = read_pool(url, pool_size, self.read_budget)?;
        let canceller = std::sync::Arc::new(budget::Canceller::new(Manager { url: url.clone() }));
        self.replica = Some((pool, canceller));
        Ok(self)
    }

    /// Whether reads of figures and lists go to a replica.
    pub fn has_replica(&self) -> bool {
        self.replica.is_some()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs read-only queries on a pooled connection, off the async threads, within the read
    /// budget; dropping the future stops the read (see [`budget`]).
    pub async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        F: FnOnce(&mut DbConn) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        budget::read(&self.read, self.read_budget, &self.canceller, f).await
    }

    /// Like [`Store::read`], for a read of figures or lists that a request's filters shape (and
    /// may make heavy): fewer of them run at once than the pool has connections, so survey links,
    /// answers and sign-ins always find one (see [`budget::insight_room`]).
    pub async fn read_insight<T, F>(&self, f: F) -> StoreResult<T>
    where
        F: FnOnce(&mut DbConn) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let _room = budget::insight_turn(&self.insights).await?;
        self.read_replica(f).await
    }

    /// Like [`Store::read`], on the read replica when there is one (NPSD_DATABASE_READ_URL): for
    /// reads that may be a moment behind the latest writes (figures, lists, search, export), never
    /// for a read that decides a write or shows a person what they just did.
    pub async fn read_replica<T, F>(&self, f: F) -> StoreResult<T>
    where
        F: FnOnce(&mut DbConn) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        match &self.replica {
            Some((pool, canceller)) => budget::read(pool, self.read_budget, canceller, f).await,
            None => self.read(f).await,
        }
    }

    /// Runs `f` as one atomic write: all of it or nothing, answered once committed. Writes
    /// waiting at the same moment share one transaction (each in its own savepoint; see
    /// [`writer`]), and may be run a second time on their own when that transaction cannot
    /// commit, so `f` must not have effects outside the database.
    pub async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        F: Fn(&mut DbConn) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.write.write(None, f).await
    }

    /// Like [`Store::write`], for a write that locks rows of one address only (`email_key`):
    /// a new transaction's invitation. See [`Store::write_keyed`].
    pub async fn write_for_address<T, F>(&self, email_key: String, f: F) -> StoreResult<T>
    where
        F: Fn(&mut DbConn) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.write.write(Some(email_key), f).await
    }

    /// Like [`Store::write`], for a write that locks the rows of these addresses (a chunk of a
    /// batch ingest). On PostgreSQL it runs in a transaction of its own on a pooled connection,
    /// beside the writer threads and other such chunks: it holds npsd's write lock shared and takes
    /// its addresses' ingest locks first, all at once and in order
    /// (`invitations::lock_people`), so it never waits in a circle with another ingest. A chunk that
    /// loses to a deadlock anyway runs again, at most three times in all.
    pub async fn write_for_addresses<T, F>(&self, email_keys: Vec<String>, f: F) -> StoreResult<T>
    where
        F: Fn(&mut DbConn) -> StoreResult<T> + Send + Sync + 'static,
        T: Send + 'static,
    {
        if self.backend == Backend::Sqlite {
            return self.write(f).await;
        }
        let f = std::sync::Arc::new(f);
        let keys = std::sync::Arc::new(email_keys);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (f, keys) = (f.clone(), keys.clone());
            let result = self
                .read(move |c| {
                    write_transaction(c, WriteLock::Shared, |c| {
                        invitations::lock_people(c, &keys)?;
                        f(c)
                    })
                })
                .await;
            match result {
                Err(e) if e.is_contention() && attempt < 3 => {
                    tokio::time::sleep(Duration::from_millis(5 * attempt)).await;
                }
                other => return other,
            }
        }
    }

    /// Like [`Store::write`], for a write that locks the rows of one key only (an address, an
    /// invitation, a web respondent) and otherwise only appends (the tally journal): a new
    /// transaction, an answer. Such writes run beside each other on PostgreSQL, in every writer
    /// thread and instance (they share npsd's write lock, see [`begin_write`]); a group of
    /// them is run in the order of its keys, so two groups never wait for each other in a circle.
    pub async fn write_keyed<T, F>(&self, key: String, f: F) -> StoreResult<T>
    where
        F: Fn(&mut DbConn) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.write.write(Some(key), f).await
    }

    /// Folds a batch of the tally journal into the tallies (see [`journal`]); answers how many
    /// journal rows it folded. Beside the answers on PostgreSQL: only folds write tally rows, and
    /// one folder runs at a time across instances.
    pub async fn fold_journal(&self) -> StoreResult<usize> {
        // Nothing to fold: no write transaction (on SQLite it would take the database's write
        // lock every few hundred milliseconds for nothing).
        if !self.read(journal::has_backlog).await? {
            return Ok(0);
        }
        match self.backend {
            // Through the one writer, like every SQLite write.
            Backend::Sqlite => {
                self.write
                    .write(Some(String::new()), |c| journal::fold(c, false))
                    .await
            }
            // In a transaction of its own on a pooled connection, beside the writer threads: a
            // fold never holds up a batch of answers.
            Backend::Postgres => {
                self.read(|c| write_transaction(c, WriteLock::Shared, |c| journal::fold(c, false)))
                    .await
            }
        }
    }
}

/// A blocking task that panicked re-raises its panic here, so it is not mistaken for a cancellation.
fn resume_panic<T>(e: tokio::task::JoinError) -> StoreResult<T> {
    match e.try_into_panic() {
        Ok(payload) => std::panic::resume_unwind(payload),
        Err(_) => Err(StoreError::Cancelled),
    }
}

/// The key of npsd's write lock on PostgreSQL (see [`begin_write`]).
#[cfg(feature = "postgres")]
const POSTGRES_WRITE_LOCK: i64 = 7_231_642_002;

/// How a write transaction holds npsd's write lock on PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteLock {
    /// Alone: no other write transaction runs meanwhile. Every write but those below.
    Exclusive,
    /// Beside other shared holders: writes that each lock the rows of one key only and otherwise
    /// append (`Store::write_keyed`), run in the order of their keys, and the journal's folds.
    Shared,
}

/// Every write transaction takes npsd's one write lock before anything else: on SQLite that is
/// `BEGIN IMMEDIATE` (the database's own write lock), on PostgreSQL a transaction-scoped advisory
/// lock shared by every writer thread of every instance on the database.
///
/// Why one lock on PostgreSQL: writes are committed in groups (see `writer`), and two groups that
/// each hold a row the other wants deadlock, whatever order each write keeps. Writes that would
/// wait for each other's rows anyway wait at the door instead, in turn, and never deadlock.
/// The writes of the request path hold it shared ([`WriteLock::Shared`]): new transactions (their
/// address's lock and `people` row), answers (their invitation's row, or their web respondent's
/// lock, and their own response) and the journal's folds (the tally rows, one folder at a time,
/// `journal::fold`). Each locks the rows of one key only and otherwise appends: since answers
/// journal their tally changes instead of updating the hour's tally rows (issue 20), no row is
/// shared by every answer. A group takes its writes in the order of their keys, so shared groups
/// cannot wait in a circle either.
///
/// Inside a write, rows are locked in one order wherever a write takes more than one kind of
/// them: outbox rows first (the order a dispatcher's claim finds them in), then their invitations,
/// then the tallies that triggers change. The paths that take both an outbox row and its
/// invitation keep it: the claim (`outbox::claim_due`, then the job's `prepare`), an outcome
/// (`outbox::mark_*`, then `invitations::set_status`), a cancel (`invitations::cancel`, also
/// behind Delighted's pending-request delete), an erasure (`erasure::erase`). Reads take no locks.
///
/// It begins the transaction and takes the lock in one round trip: on SQLite `BEGIN IMMEDIATE`
/// (the write lock up front, waiting out the busy timeout, instead of failing when a read turns
/// into a write while another process writes); on PostgreSQL `BEGIN` and the advisory lock sent
/// together.
pub(crate) fn begin_write(conn: &mut DbConn, lock: WriteLock) -> Result<(), DieselError> {
    use diesel::connection::AnsiTransactionManager;
    let _ = lock;
    match conn {
        #[cfg(feature = "postgres")]
        DbConn::Postgresql(c) => {
            let function = match lock {
                WriteLock::Exclusive => "pg_advisory_xact_lock",
                WriteLock::Shared => "pg_advisory_xact_lock_shared",
            };
            let sql = format!("BEGIN; SELECT {function}({POSTGRES_WRITE_LOCK})");
            AnsiTransactionManager::begin_transaction_sql(c, &sql).inspect_err(|_| {
                // The BEGIN may have run before the lock failed: end it.
                let _ = c.batch_execute("ROLLBACK");
            })
        }
        #[cfg(feature = "sqlite")]
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"),
    }
}

/// A transaction that will write: [`begin_write`], `f`, then commit (or roll back on an error).
fn write_transaction<T, F>(conn: &mut DbConn, lock: WriteLock, f: F) -> StoreResult<T>
where
    F: FnOnce(&mut DbConn) -> StoreResult<T>,
{
    use diesel::connection::TransactionManager;
    begin_write(conn, lock)?;
    match f(conn) {
        Ok(value) => {
            <DbConn as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
            Err(e)
        }
    }
}

/// Holds a lock on `name` until the write transaction ends, so that two writers deciding from the
/// same rows (a throttle, a repeat answer) take turns. PostgreSQL: a transaction-scoped advisory
/// lock; SQLite: the write transaction already excludes every other writer.
pub fn lock_name(conn: &mut DbConn, name: &str) -> StoreResult<()> {
    match conn {
        #[cfg(feature = "postgres")]
        DbConn::Postgresql(c) => {
            use diesel::RunQueryDsl;
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind::<diesel::sql_types::Text, _>(name)
                .execute(c)?;
        }
        #[cfg(feature = "sqlite")]
        DbConn::Sqlite(_) => {}
    }
    Ok(())
}

/// Applies the embedded migrations of the backend. On PostgreSQL an advisory lock keeps two
/// instances starting at once from migrating side by side.
pub fn run_migrations(url: &DatabaseUrl) -> StoreResult<()> {
    let mut conn = Manager { url: url.clone() }
        .connect()
        .map_err(|e| StoreError::Connect(e.to_string()))?;
    let migrate =
        |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Migration(e.to_string());
    match &mut conn {
        #[cfg(feature = "sqlite")]
        DbConn::Sqlite(c) => {
            c.batch_execute(
                "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA secure_delete = ON;",
            )?;
            c.run_pending_migrations(SQLITE_MIGRATIONS)
                .map_err(migrate)?;
        }
        #[cfg(feature = "postgres")]
        DbConn::Postgresql(c) => {
            c.batch_execute("SELECT pg_advisory_lock(7231642001)")?;
            let result = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|_| ())
                .map_err(migrate);
            c.batch_execute("SELECT pg_advisory_unlock(7231642001)")?;
            result?;
        }
    }
    Ok(())
}

/// A new random id for a row: UUID v7, so ids sort by creation time.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Bounds for an optional time range: the whole of time when a side is open.
pub fn open_range(
    from: Option<chrono::NaiveDateTime>,
    until: Option<chrono::NaiveDateTime>,
) -> (chrono::NaiveDateTime, chrono::NaiveDateTime) {
    let day = |y, m, d| {
        chrono::NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("a valid date")
    };
    (
        from.unwrap_or_else(|| day(1970, 1, 1)),
        until.unwrap_or_else(|| day(9999, 12, 31)),
    )
}
