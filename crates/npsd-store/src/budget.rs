//! The time budget of a read, and reads that stop when nobody waits for them any more.
//!
//! A read ([`super::Store::read`]) may run for its budget (`NPSD_QUERY_TIMEOUT_MS`, 5 s by
//! default) from the moment it has its connection; past it, its statement is stopped and the read
//! fails with [`StoreError::TimedOut`] (503 on the API and the pages). A read whose caller went
//! away (the client closed its connection, so actix dropped the handler's future) is stopped at
//! once. One request's filters can then hold a read connection for the budget at most, never the
//! minutes a runaway query took. Writes are never stopped: they run on the writer's connections,
//! which have neither budget nor hook.
//!
//! How a statement is stopped:
//! - SQLite: a progress handler on the read pool's connections asks every few dozen
//!   virtual-machine steps whether the read running on this thread was stopped (over budget, or
//!   its caller gone) and interrupts the statement if so. A few dozen, not thousands: SQLite
//!   counts the steps of each statement afresh, and a trend's statements are many and short.
//!   diesel 2.3 does not hand out the connection's `sqlite3*`, so the handler is installed from
//!   an auto-extension, the hook SQLite runs for each connection it opens, while a read
//!   connection is being opened.
//! - PostgreSQL: each read connection has `statement_timeout` set to the budget (the server's own
//!   limit, which holds even if npsd dies) and knows its server process; a read over budget as a
//!   whole, or whose caller left, is cancelled with `pg_cancel_backend` from a connection kept
//!   for that, again until the read has ended (a cancel between two statements finds none).
//!
//! Reads of figures and lists, which a request's filters shape, also take turns
//! ([`super::Store::read_insight`]): at most the pool's connections but two at once, so survey
//! links, answers and sign-ins find a connection however many heavy requests arrive together.
use super::{setup_connection, DbConn, Manager, StoreError, StoreResult};
use diesel::r2d2::{ManageConnection, Pool};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The budget of a read when the configuration names none.
pub const DEFAULT_READ_BUDGET: Duration = Duration::from_secs(5);

/// Read connections kept free of insight reads ([`super::Store::read_insight`]): the room of a
/// survey link, an answer or a sign-in while heavy filters run.
const KEPT_FOR_OTHERS: u32 = 2;

/// The longest an insight read waits for its turn, as long as a read waits for a connection.
const INSIGHT_WAIT: Duration = Duration::from_secs(10);

/// How many insight reads may run at once on a pool of `pool_size` connections.
pub(crate) fn insight_room(pool_size: u32) -> usize {
    pool_size.saturating_sub(KEPT_FOR_OTHERS).max(1) as usize
}

/// Waits for an insight read's turn; 503 when it does not come within [`INSIGHT_WAIT`].
pub(crate) async fn insight_turn(
    room: &tokio::sync::Semaphore,
) -> StoreResult<tokio::sync::SemaphorePermit<'_>> {
    match tokio::time::timeout(INSIGHT_WAIT, room.acquire()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(StoreError::Busy),
    }
}

/// How often a cancelled PostgreSQL read is cancelled again until it has ended.
#[cfg(feature = "postgres")]
const CANCEL_AGAIN: Duration = Duration::from_millis(20);

/// A connection of the read pool, with the server process that runs its statements on
/// PostgreSQL (to cancel them from another connection).
pub(crate) struct ReadConn {
    pub(crate) conn: DbConn,
    pid: Option<i32>,
}

/// Opens read connections: set up like every connection, and then given the budget.
pub(crate) struct ReadManager {
    pub(crate) manager: Manager,
    /// PostgreSQL's `statement_timeout`; SQLite's reads are stopped by the handler alone.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) budget: Duration,
}

impl ManageConnection for ReadManager {
    type Connection = ReadConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<ReadConn, Self::Error> {
        #[cfg(feature = "sqlite")]
        let mut conn = sqlite_hook::opening_read(|| self.manager.connect())?;
        #[cfg(not(feature = "sqlite"))]
        let mut conn = self.manager.connect()?;
        setup_connection(&mut conn)?;
        let pid = match &mut conn {
            #[cfg(feature = "postgres")]
            DbConn::Postgresql(c) => {
                use diesel::connection::SimpleConnection;
                use diesel::RunQueryDsl;
                c.batch_execute(&format!(
                    "SET statement_timeout = {}",
                    self.budget.as_millis().max(1)
                ))
                .map_err(diesel::r2d2::Error::QueryError)?;
                Some(
                    diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>(
                        "pg_backend_pid()",
                    ))
                    .get_result::<i32>(c)
                    .map_err(diesel::r2d2::Error::QueryError)?,
                )
            }
            #[allow(unreachable_patterns)]
            _ => None,
        };
        Ok(ReadConn { conn, pid })
    }

    fn is_valid(&self, conn: &mut ReadConn) -> Result<(), Self::Error> {
        self.manager.is_valid(&mut conn.conn)
    }

    fn has_broken(&self, conn: &mut ReadConn) -> bool {
        self.manager.has_broken(&mut conn.conn)
    }
}

/// Why a read was stopped.
const GOING: u8 = 0;
const OVER_BUDGET: u8 = 1;
const CALLER_GONE: u8 = 2;

/// Where one read is, shared by the thread that runs it and the future that waits for it.
#[derive(Default)]
struct Watch {
    /// [`GOING`], or why it must stop.
    stop: AtomicU8,
    phase: Mutex<Phase>,
}

#[derive(Default, Clone, Copy)]
enum Phase {
    /// Waiting for a connection.
    #[default]
    Waiting,
    /// Running, on this PostgreSQL server process (None on SQLite).
    Running(Option<i32>),
    Done,
}

impl Watch {
    fn stopped(&self) -> u8 {
        self.stop.load(Ordering::Acquire)
    }

    fn phase(&self) -> std::sync::MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stops the read for `why`: SQLite's handler sees the flag at its next check; on PostgreSQL
    /// the running statement is cancelled, and the next one too, until the read has ended.
    fn stop(self: &Arc<Self>, why: u8, canceller: &Arc<Canceller>) {
        if self
            .stop
            .compare_exchange(GOING, why, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return;
        }
        if !matches!(*self.phase(), Phase::Running(Some(_))) {
            return;
        }
        #[cfg(feature = "postgres")]
        {
            let (watch, canceller) = (self.clone(), canceller.clone());
            let cancel = move || loop {
                {
                    // Held while cancelling: the read cannot end and hand its connection to
                    // another read before the cancel has reached the server.
                    let phase = watch.phase();
                    let Phase::Running(Some(pid)) = *phase else {
                        return;
                    };
                    if let Err(e) = canceller.cancel(pid) {
                        tracing::warn!(error = %e, "could not cancel a read on PostgreSQL");
                        return;
                    }
                }
                std::thread::sleep(CANCEL_AGAIN);
            };
            // Off the async threads: a cancel is a round trip to the server.
            match tokio::runtime::Handle::try_current() {
                Ok(handle) => drop(handle.spawn_blocking(cancel)),
                Err(_) => drop(std::thread::spawn(cancel)),
            }
        }
        let _ = canceller;
    }
}

/// Cancels running statements on PostgreSQL, over one connection of its own opened when first
/// needed (the read pool may have none to spare: that is when reads run long).
pub(crate) struct Canceller {
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    manager: Manager,
    #[cfg(feature = "postgres")]
    conn: Mutex<Option<diesel::pg::PgConnection>>,
}

impl Canceller {
    pub(crate) fn new(manager: Manager) -> Canceller {
        Canceller {
            manager,
            #[cfg(feature = "postgres")]
            conn: Mutex::new(None),
        }
    }

    #[cfg(feature = "postgres")]
    fn cancel(&self, pid: i32) -> Result<(), String> {
        use diesel::RunQueryDsl;
        let mut slot = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            match self.manager.connect().map_err(|e| e.to_string())? {
                DbConn::Postgresql(c) => *slot = Some(c),
                #[allow(unreachable_patterns)]
                _ => return Ok(()),
            }
        }
        let conn = slot.as_mut().expect("connected above");
        let sent = diesel::sql_query("SELECT pg_cancel_backend($1)")
            .bind::<diesel::sql_types::Integer, _>(pid)
            .execute(conn);
        if let Err(e) = sent {
            *slot = None;
            return Err(e.to_string());
        }
        Ok(())
    }
}

/// Stops the read when the future waiting for it is dropped before it has its answer.
struct StopOnDrop {
    watch: Arc<Watch>,
    canceller: Arc<Canceller>,
    armed: bool,
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.watch.stop(CALLER_GONE, &self.canceller);
        }
    }
}

/// Runs `f` on a read connection, off the async threads, within `budget` (see the module).
pub(crate) async fn read<T, F>(
    pool: &Pool<ReadManager>,
    budget: Duration,
    canceller: &Arc<Canceller>,
    f: F,
) -> StoreResult<T>
where
    F: FnOnce(&mut DbConn) -> StoreResult<T> + Send + 'static,
    T: Send + 'static,
{
    let watch = Arc::new(Watch::default());
    let mut guard = StopOnDrop {
        watch: watch.clone(),
        canceller: canceller.clone(),
        armed: true,
    };
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let pool = pool.clone();
    let mut task = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get()?;
        let _ = started_tx.send(());
        run(&mut conn, &watch, f)
    });
    // The budget starts with the read's connection: a wait for one has the pool's own timeout.
    let joined = tokio::select! {
        joined = &mut task => joined,
        _ = started_rx => match tokio::time::timeout(budget, &mut task).await {
            Ok(joined) => joined,
            Err(_) => {
                guard.watch.stop(OVER_BUDGET, &guard.canceller);
                (&mut task).await
            }
        },
    };
    guard.armed = false;
    joined.unwrap_or_else(|e| super::resume_panic(e))
}

/// The blocking part of a read: marks it running, runs it, and names why it failed when it was
/// stopped.
fn run<T>(
    conn: &mut ReadConn,
    watch: &Arc<Watch>,
    f: impl FnOnce(&mut DbConn) -> StoreResult<T>,
) -> StoreResult<T> {
    {
        let mut phase = watch.phase();
        if watch.stopped() != GOING {
            return Err(StoreError::Cancelled);
        }
        *phase = Phase::Running(conn.pid);
    }
    let result = {
        // Done when `f` returns or panics: a cancel must never reach the connection's next read.
        let _ends = Ends(watch);
        #[cfg(feature = "sqlite")]
        let _hooked = sqlite_hook::Running::new(watch.clone());
        f(&mut conn.conn)
    };
    result.map_err(|e| match watch.stopped() {
        _ if !is_statement_error(&e) => e,
        CALLER_GONE => StoreError::Cancelled,
        OVER_BUDGET => StoreError::TimedOut,
        _ if is_server_timeout(&e) => StoreError::TimedOut,
        _ => e,
    })
}

/// Marks a read done when dropped.
struct Ends<'a>(&'a Watch);

impl Drop for Ends<'_> {
    fn drop(&mut self) {
        *self.0.phase() = Phase::Done;
    }
}

fn is_statement_error(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Query(diesel::result::Error::DatabaseError(..))
    )
}

/// PostgreSQL's own `statement_timeout` ended the statement (SQLSTATE 57014, which diesel has no
/// kind for; its message is fixed by PostgreSQL).
fn is_server_timeout(e: &StoreError) -> bool {
    match e {
        StoreError::Query(diesel::result::Error::DatabaseError(_, info)) => info
            .message()
            .starts_with("canceling statement due to statement timeout"),
        _ => false,
    }
}

/// SQLite's side: the progress handler and what it reads.
#[cfg(feature = "sqlite")]
mod sqlite_hook {
    use super::{Arc, Watch, GOING};
    use libsqlite3_sys as ffi;
    use std::cell::{Cell, RefCell};
    use std::ffi::{c_char, c_int, c_void};

    /// Virtual-machine steps between two looks at the read's flag (a thread-local and an atomic
    /// load: a few nanoseconds against a microsecond or so of steps).
    const STEPS: c_int = 64;

    thread_local! {
        /// Set while this thread opens a read connection: the auto-extension hooks only those.
        static OPENING_READ: Cell<bool> = const { Cell::new(false) };
        /// The read this thread runs.
        static RUNNING: RefCell<Option<Arc<Watch>>> = const { RefCell::new(None) };
    }

    /// Opens a connection with `open`, the progress handler installed on it.
    pub(super) fn opening_read<T>(open: impl FnOnce() -> T) -> T {
        static REGISTER: std::sync::Once = std::sync::Once::new();
        REGISTER.call_once(|| {
            // SAFETY: `on_open` has the signature SQLite calls entry points with, and stays valid
            // for the life of the process.
            let rc = unsafe { ffi::sqlite3_auto_extension(Some(on_open)) };
            if rc != ffi::SQLITE_OK {
                tracing::error!(
                    rc,
                    "SQLite refused the read budget's hook: reads run unbounded"
                );
            }
        });
        OPENING_READ.with(|o| o.set(true));
        let opened = open();
        OPENING_READ.with(|o| o.set(false));
        opened
    }

    /// Run by SQLite for every connection it opens, on the opening thread.
    unsafe extern "C" fn on_open(
        db: *mut ffi::sqlite3,
        _error: *mut *mut c_char,
        _api: *const ffi::sqlite3_api_routines,
    ) -> c_int {
        if OPENING_READ.try_with(Cell::get).unwrap_or(false) {
            // SAFETY: `db` is the connection being opened; the handler takes no data pointer.
            unsafe {
                ffi::sqlite3_progress_handler(db, STEPS, Some(on_progress), std::ptr::null_mut())
            };
        }
        ffi::SQLITE_OK
    }

    /// Non-zero interrupts the statement. Never panics (it runs inside SQLite).
    unsafe extern "C" fn on_progress(_: *mut c_void) -> c_int {
        let stop = RUNNING
            .try_with(|r| match r.try_borrow().as_deref() {
                Ok(Some(watch)) => watch.stopped() != GOING,
                _ => false,
            })
            .unwrap_or(false);
        c_int::from(stop)
    }

    /// Makes a read this thread's running one until dropped.
    pub(super) struct Running;

    impl Running {
        pub(super) fn new(watch: Arc<Watch>) -> Running {
            RUNNING.with(|r| *r.borrow_mut() = Some(watch));
            Running
        }
    }

    impl Drop for Running {
        fn drop(&mut self) {
            let _ = RUNNING.try_with(|r| r.borrow_mut().take());
        }
    }
}
