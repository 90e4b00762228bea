//! The operations of npsd: one function per thing a user can do (ingest a transaction, change a
//! survey, create a key, add a user, read a report...), taking typed input, returning a typed
//! result or a [`ServiceError`].
//!
//! Every door (the JSON API, the dashboard, the embedded form, the Delighted API, the importer,
//! the CLI) is a thin adapter over these: parse, call one operation, map the result. A write's
//! side effects (waking the dispatcher today; events, webhooks and alerts later) hang from the
//! operation, so no door can forget them. Nothing here knows about HTTP.
pub mod alerts;
pub mod answers;
pub mod events;
pub mod ingest;
pub mod invitations;
pub mod keys;
pub mod people;
pub mod privacy;
pub mod projection;
pub mod reports;
pub mod responses;
pub mod sessions;
pub mod suppressions;
pub mod surveys;
pub mod users;
pub mod webhooks;

use chrono::NaiveDateTime;
use npsd_domain::clock::SharedClock;
use npsd_domain::ValidationError;
use npsd_store::{DbConn, Store, StoreError, StoreResult};
use std::sync::Arc;
use tokio::sync::Notify;

/// What the operations work on; built once at start (`startup`, the CLI) and shared.
#[derive(Clone)]
pub struct App {
    pub store: Store,
    pub clock: SharedClock,
    /// Domain used in Message-IDs of survey emails.
    pub message_id_domain: String,
    /// Base of the links in emails and sign-in links, without a trailing slash.
    pub public_url: String,
    /// Wakes the dispatcher when an invitation is due now.
    pub dispatcher_wake: Arc<Notify>,
    /// How webhooks are checked and delivered.
    pub webhooks: webhooks::Settings,
}

/// Why an operation did not happen, in terms every door can map: a field at fault (422 on the
/// API, a message beside the field in the dashboard), something missing, a clash, too much at
/// once, or the store.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl App {
    /// One write through the store, with the clock's time of the operation: what every write
    /// operation is made of. `f` may run again if the store retries it.
    pub async fn write<T, F>(&self, f: F) -> ServiceResult<T>
    where
        F: Fn(&mut DbConn, NaiveDateTime) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let now = self.clock.now();
        Ok(self.store.write(move |c| f(c, now)).await?)
    }

    /// Like [`App::write`], for a write that locks the rows of one `key` only and otherwise
    /// appends (an answer, a new transaction): such writes run side by side on PostgreSQL
    /// (`Store::write_keyed`).
    pub async fn write_keyed<T, F>(&self, key: String, f: F) -> ServiceResult<T>
    where
        F: Fn(&mut DbConn, NaiveDateTime) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let now = self.clock.now();
        Ok(self.store.write_keyed(key, move |c| f(c, now)).await?)
    }

    /// One read through the store (within its read budget), with the clock's time.
    pub async fn read<T, F>(&self, f: F) -> ServiceResult<T>
    where
        F: FnOnce(&mut DbConn, NaiveDateTime) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let now = self.clock.now();
        Ok(self.store.read(move |c| f(c, now)).await?)
    }

    /// Wakes the dispatcher: an invitation became due now.
    pub fn wake_dispatcher(&self) {
        self.dispatcher_wake.notify_one();
    }
}
