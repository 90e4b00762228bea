//! What a kind of job is to the queue and the worker. Each kind implements [`JobHandler`] in its
//! own file (`survey_email`, `digest`) and is listed once in `jobs::handler`; the queue and the
//! worker name no kind. A new kind (a webhook, an alert, a reminder) is a new file, a variant of
//! `JobKind`, and one line here.
//!
//! A job lives in four steps: **prepared** under the claim, in its write transaction (check the
//! job still stands, take fresh tokens, read what its message needs), **loaded** after the commit
//! in one read for the round (figures shared by many messages, read once), **built** just before
//! it is sent (render and encode, never holding the write lock), and **finished** when its outcome
//! is final, in the same write as its outbox row (the kind's own rows: an invitation's status).
use crate::store::outbox::OutboxRow;
use crate::store::state::JobKind;
use crate::store::{DbConn, StoreResult};
use chrono::NaiveDateTime;
use lettre::message::Mailbox;

/// Which outbox row a message belongs to, and what it is about.
#[derive(Clone)]
pub(crate) struct JobIds {
    pub(crate) outbox_id: String,
    pub(crate) kind: JobKind,
    /// The row the job is about, when it has its own (a survey email's invitation).
    pub(crate) subject_id: Option<String>,
    /// Including the current one.
    pub(crate) attempts: i32,
}

/// A job prepared under the claim, to be sent after it.
pub(crate) struct Job {
    pub(crate) ids: JobIds,
    pub(crate) draft: Box<dyn Draft>,
    pub(crate) to_masked: String,
}

/// What a message is made of, read under the claim; built into the message after the commit,
/// just before it is sent.
pub(crate) trait Draft: Send + Sync {
    /// Whether the draft reads more before it can be built ([`Draft::load`]).
    fn needs_load(&self) -> bool {
        false
    }

    /// After the claim commits, in one read for the round: what the message shows beyond what
    /// the claim took (a digest's figures). `shared` holds what the round's drafts have in
    /// common, keyed by the kind, so it is read once (a digest's figures once per digest, not
    /// per recipient).
    fn load(&mut self, _conn: &mut DbConn, _shared: &mut Shared) -> StoreResult<()> {
        Ok(())
    }

    fn build(&self, public_url: &str, default_from: &Mailbox) -> anyhow::Result<lettre::Message>;
}

/// What a round's drafts read once and share, by a key each kind chooses.
pub(crate) type Shared =
    std::collections::HashMap<String, std::sync::Arc<dyn std::any::Any + Send + Sync>>;

/// A message built under the claim already.
impl Draft for lettre::Message {
    fn build(&self, _: &str, _: &Mailbox) -> anyhow::Result<lettre::Message> {
        Ok(self.clone())
    }
}

/// What preparing a job under a claim may use.
pub(crate) struct ClaimContext<'a> {
    pub(crate) lease_id: &'a str,
    pub(crate) now: NaiveDateTime,
    pub(crate) public_url: &'a str,
    pub(crate) default_from: &'a Mailbox,
}

/// A job's final outcome, as its kind records it.
pub(crate) enum Final<'a> {
    Sent,
    Failed(&'a str),
}

/// What a kind's `prepare` answers: the job to send, or None when it ended under the claim.
pub(crate) type Prepared = StoreResult<Option<Job>>;

pub(crate) trait JobHandler: Sync {
    /// What the logs call one of these jobs ("survey email").
    fn noun(&self) -> &'static str;

    /// Under the claim, in its write transaction. `Ok(None)`: the job ended here, and its row is
    /// marked (cancelled or failed) by the kind.
    fn prepare(&self, conn: &mut DbConn, row: OutboxRow, cx: &ClaimContext<'_>) -> Prepared;

    /// Whether a job that cannot be prepared fails alone (its preparation runs in a savepoint)
    /// rather than failing the whole claim to be retried.
    fn fails_alone(&self) -> bool {
        false
    }

    /// The kind's own rows once the outcome is final, in the write that records it.
    fn finished(
        &self,
        _conn: &mut DbConn,
        _ids: &JobIds,
        _outcome: Final<'_>,
        _now: NaiveDateTime,
    ) -> StoreResult<()> {
        Ok(())
    }
}
