//! Group commit: one writer thread per connection takes every write that is waiting and runs
//! them in one transaction, each in a savepoint of its own, then answers each caller after the
//! commit. Nothing is acknowledged before it is committed; what changes is that a burst of
//! requests shares one `BEGIN`/`COMMIT`, one WAL append of the pages they touch and one wake-up
//! of this thread, instead of paying for them one request at a time.
//!
//! A write that fails (returns an error) rolls back to its savepoint and leaves the others alone.
//! When the batch as a whole cannot commit (a PostgreSQL deadlock with another instance's batch,
//! a connection lost, a panic in one of the writes), nothing of it was committed, and every
//! write is run again on its own in a transaction of its own: that is why writes are `Fn`.
use super::{begin_write, write_transaction, DbConn, Manager, StoreError, StoreResult, WriteLock};
use diesel::r2d2::{ManageConnection, R2D2Connection};
use diesel::Connection;
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use tokio::sync::{mpsc, oneshot};

/// The most writes one transaction takes; the rest wait for the next.
const MAX_BATCH: usize = 256;
/// Writes waiting for a writer; beyond, callers wait (asynchronously) for room.
const QUEUE: usize = 4096;

type Panic = Box<dyn Any + Send + 'static>;

/// Prepares a new connection (SQLite's pragmas) before its first write.
pub(super) type Setup = fn(&mut DbConn) -> Result<(), diesel::r2d2::Error>;

struct Connector {
    manager: Manager,
    setup: Setup,
}

impl Connector {
    fn connect(&self) -> Result<DbConn, String> {
        let mut conn = self.manager.connect().map_err(|e| e.to_string())?;
        (self.setup)(&mut conn).map_err(|e| e.to_string())?;
        Ok(conn)
    }
}

/// What a caller gets back: its write's result, or its panic to re-raise.
pub(super) enum Reply<T> {
    Done(StoreResult<T>),
    Panicked(Panic),
}

/// One write waiting in the queue, its result type erased.
trait Pending: Send {
    /// Runs the write in a savepoint of the batch's transaction. `Err` when it panicked: the
    /// connection's transaction state can no longer be trusted.
    fn run_in_batch(&mut self, conn: &mut DbConn) -> Result<(), ()>;
    /// Runs the write in a transaction of its own. `Err` when it panicked.
    fn run_alone(&mut self, conn: &mut DbConn) -> Result<(), ()>;
    /// Forgets a result that was never committed; `false` when the write panicked (it is not
    /// run again: it would only panic again).
    fn reset(&mut self) -> bool;
    /// The write lost to a deadlock or a serialisation failure: nothing of it was kept, and it
    /// may be run again.
    fn lost_to_contention(&self) -> bool;
    /// The address whose rows alone the write locks (`Store::write_for_address`), if any.
    fn address(&self) -> Option<&str>;
    fn set_error(&mut self, e: StoreError);
    /// Answers the caller with what it has (after the commit).
    fn answer(self: Box<Self>);
    fn fail(self: Box<Self>, e: StoreError);
}

struct Task<T, F> {
    f: F,
    address: Option<String>,
    result: Option<Reply<T>>,
    reply: oneshot::Sender<Reply<T>>,
}

impl<T, F> Task<T, F> {
    /// Keeps a run's result (or its panic) for the answer; `Err` when it panicked.
    fn keep(&mut self, run: Result<StoreResult<T>, Panic>) -> Result<(), ()> {
        let panicked = run.is_err();
        self.result = Some(match run {
            Ok(r) => Reply::Done(r),
            Err(p) => Reply::Panicked(p),
        });
        if panicked {
            Err(())
        } else {
            Ok(())
        }
    }
}

impl<T, F> Pending for Task<T, F>
where
    F: Fn(&mut DbConn) -> StoreResult<T> + Send,
    T: Send,
{
    fn run_in_batch(&mut self, conn: &mut DbConn) -> Result<(), ()> {
        let f = &self.f;
        self.keep(catch_unwind(AssertUnwindSafe(|| {
            conn.transaction::<T, StoreError, _>(|c| f(c))
        })))
    }

    fn run_alone(&mut self, conn: &mut DbConn) -> Result<(), ()> {
        let f = &self.f;
        self.keep(catch_unwind(AssertUnwindSafe(|| {
            write_transaction(conn, lock_for(self.address.is_some()), f)
        })))
    }

    fn reset(&mut self) -> bool {
        if matches!(self.result, Some(Reply::Panicked(_))) {
            return false;
        }
        self.result = None;
        true
    }

    fn address(&self) -> Option<&str> {
        self.address.as_deref()
    }

    fn lost_to_contention(&self) -> bool {
        matches!(&self.result, Some(Reply::Done(Err(e))) if e.is_contention())
    }

    fn set_error(&mut self, e: StoreError) {
        self.result = Some(Reply::Done(Err(e)));
    }

    fn answer(self: Box<Self>) {
        let reply = self
            .result
            .unwrap_or(Reply::Done(Err(StoreError::Cancelled)));
        // The caller may have gone (its request was dropped): the write stands regardless.
        let _ = self.reply.send(reply);
    }

    fn fail(self: Box<Self>, e: StoreError) {
        let _ = self.reply.send(Reply::Done(Err(e)));
    }
}

/// The sending side; the writer threads end when the last clone is dropped.
#[derive(Clone)]
pub(super) struct Writer {
    queue: mpsc::Sender<Box<dyn Pending>>,
    threads: std::sync::Arc<std::sync::Mutex<Vec<std::thread::JoinHandle<()>>>>,
}

impl Writer {
    /// Starts `threads` writer threads, each with a connection of its own, sharing one queue.
    pub(super) fn start(manager: Manager, setup: Setup, threads: usize) -> Writer {
        let (tx, rx) = mpsc::channel::<Box<dyn Pending>>(QUEUE);
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        let manager = std::sync::Arc::new(Connector { manager, setup });
        let handles = (0..threads.max(1))
            .map(|n| {
                let rx = rx.clone();
                let manager = manager.clone();
                std::thread::Builder::new()
                    .name(format!("npsd-writer-{n}"))
                    .spawn(move || run(&manager, &rx))
                    .expect("starting a database writer thread")
            })
            .collect();
        Writer {
            queue: tx,
            threads: std::sync::Arc::new(std::sync::Mutex::new(handles)),
        }
    }

    /// Ends the writer threads once they have answered every write, if this is the last sender:
    /// a command that exits right after its last write must not leave a thread closing its
    /// database connection while the process tears down (seen: libpq's cleanup racing the exit,
    /// "double free or corruption"). Blocks; other clones keep the threads running.
    pub(super) fn close(self) {
        let Writer { queue, threads } = self;
        drop(queue);
        if let Ok(threads) = std::sync::Arc::try_unwrap(threads) {
            for t in threads.into_inner().unwrap_or_else(|e| e.into_inner()) {
                let _ = t.join();
            }
        }
    }

    pub(super) async fn write<T, F>(&self, address: Option<String>, f: F) -> StoreResult<T>
    where
        F: Fn(&mut DbConn) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let task: Box<dyn Pending> = Box::new(Task {
            f,
            address,
            result: None,
            reply,
        });
        self.queue
            .send(task)
            .await
            .map_err(|_| StoreError::Cancelled)?;
        match answer.await.map_err(|_| StoreError::Cancelled)? {
            Reply::Done(r) => r,
            Reply::Panicked(p) => std::panic::resume_unwind(p),
        }
    }
}

/// Takes what is waiting (at least one write, at most `MAX_BATCH`), or `None` once every sender
/// is gone. The queue's lock is held only while taking, so writer threads take turns.
fn next_batch(
    rx: &std::sync::Mutex<mpsc::Receiver<Box<dyn Pending>>>,
) -> Option<Vec<Box<dyn Pending>>> {
    let mut rx = rx.lock().unwrap_or_else(|e| e.into_inner());
    let first = rx.blocking_recv()?;
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(task) => batch.push(task),
            Err(_) => break,
        }
    }
    Some(batch)
}

fn run(manager: &Connector, rx: &std::sync::Mutex<mpsc::Receiver<Box<dyn Pending>>>) {
    let mut conn: Option<DbConn> = None;
    while let Some(mut batch) = next_batch(rx) {
        if batch.len() > 1 {
            match connection(&mut conn, manager) {
                Ok(c) => match run_together(c, &mut batch) {
                    Together::Committed => {
                        tracing::trace!(writes = batch.len(), "batch committed");
                        // A write that lost to a deadlock kept nothing: it runs again alone.
                        for task in batch.iter_mut().filter(|t| t.lost_to_contention()) {
                            run_alone(task.as_mut(), &mut conn, manager);
                        }
                        batch.into_iter().for_each(|t| t.answer());
                        continue;
                    }
                    Together::Failed => {}
                    // Nothing ran; the database is busy or gone. Each write alone would wait
                    // out the same busy timeout in turn: they all answer "try again" now.
                    Together::NotStarted(e) => {
                        for task in batch {
                            task.fail(StoreError::Connect(e.clone()));
                        }
                        continue;
                    }
                    // The connection's transaction state is unknown: closing it rolls back
                    // whatever it had open.
                    Together::Panicked => conn = None,
                },
                Err(e) => {
                    for task in batch {
                        task.fail(StoreError::Connect(e.clone()));
                    }
                    continue;
                }
            }
        }
        // One write, or a batch that did not commit as a whole: each on its own.
        for task in batch.iter_mut() {
            run_alone(task.as_mut(), &mut conn, manager);
        }
        batch.into_iter().for_each(|t| t.answer());
    }
}

/// How often a write that loses to a deadlock or a serialisation failure is run again before its
/// caller is told to try again later (503 with `Retry-After`).
const CONTENTION_ATTEMPTS: usize = 3;

/// Runs a write in a transaction of its own (again, when it had run in a batch that did not keep
/// it), and again while it loses to contention, at most [`CONTENTION_ATTEMPTS`] times in all.
fn run_alone(task: &mut dyn Pending, conn: &mut Option<DbConn>, manager: &Connector) {
    for attempt in 1..=CONTENTION_ATTEMPTS {
        if !task.reset() {
            return;
        }
        match connection(conn, manager) {
            Ok(c) => {
                if task.run_alone(c).is_err() {
                    *conn = None;
                    return;
                }
            }
            Err(e) => {
                task.set_error(StoreError::Connect(e));
                return;
            }
        }
        if !task.lost_to_contention() {
            return;
        }
        tracing::debug!(
            attempt,
            "a write lost to a deadlock or serialisation failure"
        );
        std::thread::sleep(std::time::Duration::from_millis(5 * attempt as u64));
    }
}

/// The thread's connection, opened again when it is missing or broken.
fn connection<'a>(
    conn: &'a mut Option<DbConn>,
    manager: &Connector,
) -> Result<&'a mut DbConn, String> {
    if conn.as_mut().is_some_and(|c| c.is_broken()) {
        *conn = None;
    }
    match conn {
        Some(c) => Ok(c),
        None => Ok(conn.insert(manager.connect()?)),
    }
}

enum Together {
    Committed,
    /// The transaction could not begin (SQLite busy past its timeout, a lost connection).
    NotStarted(String),
    /// Rolled back: nothing of it is stored.
    Failed,
    /// A write panicked; rolled back as far as the connection can tell.
    Panicked,
}

/// All writes of the batch in one transaction.
fn run_together(conn: &mut DbConn, batch: &mut [Box<dyn Pending>]) -> Together {
    use diesel::connection::TransactionManager;
    type Manager = <DbConn as Connection>::TransactionManager;
    // A group of writes that each lock one address's rows shares the write lock with other such
    // groups, and takes the addresses in order; any other write in the group makes it exclusive.
    let shared = batch.iter().all(|t| t.address().is_some());
    if shared {
        batch.sort_by(|a, b| a.address().cmp(&b.address()));
    }
    if let Err(e) = begin(conn, lock_for(shared)) {
        return Together::NotStarted(format!("could not begin a write transaction: {e}"));
    }
    for task in batch.iter_mut() {
        if task.run_in_batch(conn).is_err() {
            let _ = Manager::rollback_transaction(conn);
            return Together::Panicked;
        }
    }
    match Manager::commit_transaction(conn) {
        Ok(()) => Together::Committed,
        Err(e) => {
            tracing::warn!(error = %e, writes = batch.len(), "a batch of writes did not commit; running each on its own");
            let _ = Manager::rollback_transaction(conn);
            Together::Failed
        }
    }
}

fn lock_for(shared: bool) -> WriteLock {
    if shared {
        WriteLock::Shared
    } else {
        WriteLock::Exclusive
    }
}

/// `BEGIN` and npsd's write lock in one round trip ([`begin_write`]).
fn begin(conn: &mut DbConn, lock: WriteLock) -> Result<(), diesel::result::Error> {
    begin_write(conn, lock)
}
