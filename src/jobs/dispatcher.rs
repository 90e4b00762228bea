//! Sends due jobs from the outbox: survey emails and digests, one worker loop for both.
//!
//! One round: claim due rows under one lease (one write transaction, which also checks
//! suppressions, unsubscribes and the throttle again and stores a fresh link token per email),
//! then send the messages concurrently over the pooled SMTP connections. Each outcome is recorded
//! the moment the server answers, and only while the round's lease still owns the row.
//!
//! Leases are short (`NPSD_LEASE_SECONDS`, 15 s) and renewed every third of that while messages
//! are in flight, so the rows of a process that died are free again within one lease. A message
//! never starts when its lease has less than a third left (the renewals failed) or once the
//! service is stopping: such rows are released unsent, without counting an attempt.
use crate::config::DispatcherSettings;
use crate::domain::clock::SharedClock;
use crate::domain::email::redact_addresses;
use crate::jobs::{digest, survey_email};
use crate::mail::{Mailer, SendError};
use crate::store::invitations;
use crate::store::state::{InvitationStatus, JobKind};
use crate::store::{outbox, DbConn, Store, StoreResult};
use chrono::{Duration as ChronoDuration, NaiveDateTime};
use diesel::Connection;
use futures_util::StreamExt;
use lettre::message::Mailbox;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};

#[derive(Clone)]
pub struct Dispatcher {
    store: Store,
    mailer: Mailer,
    clock: SharedClock,
    settings: DispatcherSettings,
    public_url: String,
    default_from: Mailbox,
    wake: Arc<Notify>,
    /// Leases of the rounds in flight, to release them if the process is told to stop.
    held: Arc<Mutex<HashSet<String>>>,
    /// Work only this digest's jobs, and schedule nothing (`npsd digest`).
    only_digest: Option<String>,
}

/// Which outbox row (and, for a survey email, which invitation) a message belongs to.
#[derive(Clone)]
pub(crate) struct JobIds {
    pub(crate) outbox_id: String,
    /// None for a digest.
    pub(crate) invitation_id: Option<String>,
    /// Including the current one.
    pub(crate) attempts: i32,
}

/// An email ready to go, prepared by its kind's module inside the claim transaction and sent
/// after it.
pub(crate) struct Job {
    pub(crate) ids: JobIds,
    pub(crate) message: Message,
    pub(crate) to_masked: String,
}

/// A job's message: built under the claim (a digest), or drafted there and built just before
/// it is sent (a survey email).
pub(crate) enum Message {
    Ready(lettre::Message),
    Survey(Box<survey_email::Draft>),
}

/// What one claim transaction produced.
struct Claim {
    jobs: Vec<Job>,
    /// Rows claimed, including those cancelled or failed without a message.
    handled: usize,
}

#[derive(Clone)]
enum Outcome {
    Sent,
    Failed(SendError),
}

/// A claim ready to send: its lease, its messages, and how many rows it took.
struct Claimed {
    round: Round,
    jobs: Vec<Job>,
    handled: usize,
}

/// One claim's lease as the round sees it.
struct Round {
    lease_id: String,
    deadline: LeaseDeadline,
    /// The claimed rows this round still owns.
    owned: Mutex<HashSet<String>>,
}

/// The local view of a lease's end, moved forward by each renewal.
struct LeaseDeadline(Mutex<Instant>);

impl LeaseDeadline {
    /// Resolves when less than a second of the lease is left.
    async fn running_out(&self) {
        while self.remaining() > Duration::from_secs(1) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn remaining(&self) -> Duration {
        self.0
            .lock()
            .expect("lease deadline")
            .saturating_duration_since(Instant::now())
    }

    fn extend_to(&self, at: Instant) {
        let mut d = self.0.lock().expect("lease deadline");
        if at > *d {
            *d = at;
        }
    }
}

impl Dispatcher {
    pub fn new(
        store: Store,
        mailer: Mailer,
        clock: SharedClock,
        settings: DispatcherSettings,
        public_url: String,
        default_from: Mailbox,
        wake: Arc<Notify>,
    ) -> Dispatcher {
        Dispatcher {
            store,
            mailer,
            clock,
            settings,
            public_url,
            default_from,
            wake,
            held: Arc::new(Mutex::new(HashSet::new())),
            only_digest: None,
        }
    }

    /// A dispatcher for one digest's jobs only (`npsd digest`): it neither schedules digests
    /// nor sends anything else that is due.
    pub fn for_digest(mut self, digest_id: &str) -> Dispatcher {
        self.only_digest = Some(digest_id.to_string());
        self
    }

    /// Works the outbox until `stop` turns true: right away when woken (a new invitation due
    /// now), otherwise when the next row falls due or the poll interval has passed. Once stopping,
    /// no new message starts: unstarted rows are released and the messages in flight finish.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut failures: u32 = 0;
        // A round claimed while the one before it was still sending.
        let mut claimed_ahead: Option<Claimed> = None;
        while !*stop.borrow() {
            let claimed = match claimed_ahead.take() {
                Some(c) => Ok(c),
                None => self.claim().await,
            };
            let result = match claimed {
                Ok(round) => {
                    let full = round.handled as i64 >= self.settings.batch_size;
                    let sending = !round.jobs.is_empty();
                    // The next claim (database work, rendering) runs while this round's
                    // messages go out, so the SMTP connections never wait for it.
                    let claim_next = async {
                        if full && sending {
                            Some(self.claim().await)
                        } else {
                            None
                        }
                    };
                    let (sent, next) = tokio::join!(self.send(round, &stop), claim_next);
                    match next {
                        Some(Ok(next)) => claimed_ahead = Some(next),
                        Some(Err(e)) => {
                            tracing::error!(error = ?e, "claiming the next outbox rows failed; retrying")
                        }
                        None => {}
                    }
                    sent.map(|()| full)
                }
                Err(e) => Err(e),
            };
            let sent_full_batch = match result {
                Ok(full) => {
                    failures = 0;
                    full
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::error!(error = ?e, "dispatching the outbox failed; retrying");
                    false
                }
            };
            if sent_full_batch || claimed_ahead.is_some() {
                continue;
            }
            // After a failure (database down, say) wait longer each time, up to 30 s, instead of
            // spinning on a row that is due.
            let sleep = if failures > 0 {
                (self.settings.poll_interval * 2u32.saturating_pow(failures.min(10)))
                    .min(Duration::from_secs(30))
            } else {
                self.until_next_due().await
            };
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(sleep) => {}
                _ = stop.changed() => {}
            }
        }
        // Stopping with a round claimed but not started: its rows go back at once.
        if let Some(round) = claimed_ahead {
            if let Err(e) = self.release_round(&round.round.lease_id).await {
                tracing::error!(error = ?e, "could not release claimed outbox rows; they are retried when their lease runs out");
            }
        }
    }

    async fn until_next_due(&self) -> Duration {
        let poll = self.settings.poll_interval;
        match self.store.read(outbox::next_due).await {
            Ok(Some(due)) => {
                let wait = (due - self.clock.now()).to_std().unwrap_or(Duration::ZERO);
                wait.min(poll)
            }
            _ => poll,
        }
    }

    /// Repeats rounds until nothing is due: tests and one-shot runs drain the queue with it
    /// instead of waiting for the background loop.
    pub async fn dispatch_until_idle(&self) -> anyhow::Result<usize> {
        let mut total = 0;
        loop {
            let n = self.dispatch_due().await?;
            if n == 0 {
                return Ok(total);
            }
            total += n;
        }
    }

    /// One round; returns how many outbox rows it handled.
    pub async fn dispatch_due(&self) -> anyhow::Result<usize> {
        let (_keep, never) = watch::channel(false);
        self.round(&never).await
    }

    /// Gives back every row this dispatcher still holds: for a shutdown whose grace ran out while
    /// messages were in flight (they will be sent again; the receiver may see a duplicate with the
    /// same Message-ID).
    pub async fn release_held(&self) -> anyhow::Result<usize> {
        let leases: Vec<String> = self.held.lock().expect("held").drain().collect();
        if leases.is_empty() {
            return Ok(0);
        }
        let now = self.clock.now();
        let released = self
            .store
            .write(move |c| {
                let mut n = 0;
                for lease in &leases {
                    n += outbox::release(c, lease, None, now)?;
                }
                Ok(n)
            })
            .await?;
        Ok(released)
    }

    fn lease(&self) -> ChronoDuration {
        ChronoDuration::from_std(self.settings.lease).unwrap_or(ChronoDuration::seconds(15))
    }

    async fn round(&self, stop: &watch::Receiver<bool>) -> anyhow::Result<usize> {
        let claimed = self.claim().await?;
        let handled = claimed.handled;
        self.send(claimed, stop).await?;
        Ok(handled)
    }

    /// Schedules due digests, then claims the due rows under a new lease and prepares their
    /// messages (one write transaction).
    async fn claim(&self) -> anyhow::Result<Claimed> {
        let now = self.clock.now();
        // Digests that came due get their record and a job per recipient; the claim below sends
        // them with everything else. (A read first: nearly always nothing is due.) A failure
        // here is logged and never holds up the survey emails.
        let scheduling = self.only_digest.is_none();
        let digests_due = if scheduling {
            self.store
                .read(move |c| Ok(!digest::due(c, now)?.is_empty()))
                .await
        } else {
            Ok(false)
        };
        match digests_due {
            Ok(true) => {
                if let Err(e) = self.store.write(move |c| digest::claim_due(c, now)).await {
                    tracing::error!(error = ?e, "claiming the due digests failed; retrying next round");
                }
            }
            Ok(false) => {}
            Err(e) => tracing::error!(error = ?e, "checking for due digests failed"),
        }
        let claim_started = Instant::now();
        // Known before the claim commits, so a stop in the middle of it can still release it.
        let lease_id = crate::store::new_id();
        self.held.lock().expect("held").insert(lease_id.clone());
        let claim = {
            let settings = self.settings.clone();
            let public_url = self.public_url.clone();
            let default_from = self.default_from.clone();
            let lease = self.lease();
            let id = lease_id.clone();
            let only = self.only_digest.clone();
            self.store
                .write(move |c| {
                    let batch = Batch {
                        lease_id: &id,
                        lease,
                        settings: &settings,
                        only_digest: only.as_deref(),
                    };
                    claim_and_prepare(c, &batch, now, &public_url, &default_from)
                })
                .await
        };
        let claim = match claim {
            Ok(claim) => claim,
            Err(e) => {
                self.held.lock().expect("held").remove(&lease_id);
                return Err(e.into());
            }
        };
        if claim.jobs.is_empty() {
            self.held.lock().expect("held").remove(&lease_id);
        }
        Ok(Claimed {
            round: Round {
                deadline: LeaseDeadline(Mutex::new(claim_started + self.settings.lease)),
                owned: Mutex::new(claim.jobs.iter().map(|j| j.ids.outbox_id.clone()).collect()),
                lease_id,
            },
            jobs: claim.jobs,
            handled: claim.handled,
        })
    }

    /// Sends a claimed round's messages, `concurrency` at a time, keeping its lease alive.
    async fn send(&self, claimed: Claimed, stop: &watch::Receiver<bool>) -> anyhow::Result<()> {
        let Claimed { round, jobs, .. } = claimed;
        if jobs.is_empty() {
            return Ok(());
        }
        // Outcomes are recorded in groups while the next messages go out: whatever finished
        // while the previous group was being written. So a send never waits for the database,
        // and a crash mid-round re-sends only what was in flight or in the group being written.
        let (done, mut finished) = tokio::sync::mpsc::unbounded_channel::<Delivered>();
        let round = &round;
        let sends = async {
            // Owned here, so the channel closes (and the recording ends) when the sends do.
            let done = done;
            let mut first_error = None;
            let mut results = futures_util::stream::iter(jobs)
                .map(|job| self.deliver(job, round, stop))
                .buffer_unordered(self.settings.concurrency);
            while let Some(result) = results.next().await {
                match result {
                    Ok(Some(d)) => {
                        let _ = done.send(d);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            first_error
        };
        let records = async {
            let mut first_error = None;
            while let Some(d) = finished.recv().await {
                let mut group = vec![d];
                while let Ok(more) = finished.try_recv() {
                    group.push(more);
                }
                if let Err(e) = self.record(&round.lease_id, group).await {
                    first_error.get_or_insert(e);
                }
            }
            first_error
        };
        let (send_error, record_error) = tokio::select! {
            both = async { tokio::join!(sends, records) } => both,
            never = self.keep_lease(round) => match never {},
        };
        self.held.lock().expect("held").remove(&round.lease_id);
        match send_error.or(record_error) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    async fn release_round(&self, lease_id: &str) -> anyhow::Result<()> {
        let now = self.clock.now();
        let lease = lease_id.to_string();
        self.store
            .write(move |c| outbox::release(c, &lease, None, now))
            .await?;
        self.held.lock().expect("held").remove(lease_id);
        Ok(())
    }

    /// Renews the lease every third of its length while the round's messages are in flight. A
    /// renewal that comes too late may find some rows taken over: those are no longer ours.
    async fn keep_lease(&self, round: &Round) -> std::convert::Infallible {
        let every = self.settings.lease / 3;
        loop {
            // Renew once a third of the lease is used: a round claimed while the one before it
            // was sending starts with part of its lease gone.
            let used_by_then = self.settings.lease.saturating_sub(every);
            tokio::time::sleep(round.deadline.remaining().saturating_sub(used_by_then)).await;
            let asked = Instant::now();
            let now = self.clock.now();
            let until = now + self.lease();
            let id = round.lease_id.clone();
            match self
                .store
                .write(move |c| outbox::renew(c, &id, until, now))
                .await
            {
                Ok(still_held) => {
                    let still: HashSet<String> = still_held.into_iter().collect();
                    round
                        .owned
                        .lock()
                        .expect("owned rows")
                        .retain(|id| still.contains(id));
                    round.deadline.extend_to(asked + self.settings.lease);
                }
                Err(e) => {
                    tracing::warn!(error = ?e, "could not renew the outbox lease; no new message starts once it runs short")
                }
            }
        }
    }

    /// Sends one message (unless its row is no longer this round's, or the lease or the service
    /// is ending: then it is released unsent); the outcome is recorded by the caller.
    async fn deliver(
        &self,
        job: Job,
        round: &Round,
        stop: &watch::Receiver<bool>,
    ) -> anyhow::Result<Option<Delivered>> {
        let lease_id = round.lease_id.as_str();
        let owned = round
            .owned
            .lock()
            .expect("owned rows")
            .contains(&job.ids.outbox_id);
        if !owned {
            // Another dispatcher took the row over after a late renewal: it sends it.
            return Ok(None);
        }
        // Never start a message that could outlive its lease, nor one once the service stops.
        let margin = self.settings.lease / 3;
        if *stop.borrow() || round.deadline.remaining() <= margin {
            let now = self.clock.now();
            let (lease, id) = (lease_id.to_string(), job.ids.outbox_id.clone());
            self.store
                .write(move |c| outbox::release(c, &lease, Some(std::slice::from_ref(&id)), now))
                .await?;
            return Ok(None);
        }
        let message = match &job.message {
            Message::Ready(m) => Ok(std::borrow::Cow::Borrowed(m)),
            Message::Survey(draft) => draft
                .build(&self.public_url, &self.default_from)
                .map(std::borrow::Cow::Owned)
                .map_err(|e| {
                    let reason = format!("message could not be built: {e}");
                    tracing::error!(job = %job.ids.outbox_id, error = %reason);
                    SendError::Permanent(reason)
                }),
        };
        // A send in flight outlives its lease only if the renewals stop: then it is cut off
        // before the lease ends, so no other dispatcher can send the same email meanwhile.
        let send = match message {
            Ok(message) => tokio::select! {
                sent = self.mailer.send(&message) => sent,
                _ = round.deadline.running_out() => Err(SendError::Temporary(
                    "stopped: the outbox lease was about to run out (its renewals failed)".into(),
                )),
            },
            Err(e) => Err(e),
        };
        let (outcome, file) = match send {
            Ok(file) => (Outcome::Sent, file),
            Err(e) => (Outcome::Failed(e), None),
        };
        Ok(Some(Delivered {
            ids: job.ids,
            to_masked: job.to_masked,
            outcome,
            file,
            finished_at: self.clock.now(),
        }))
    }

    /// Records a group of outcomes in one write, each only while this round's lease still owns
    /// its row, then logs them.
    async fn record(&self, lease_id: &str, group: Vec<Delivered>) -> anyhow::Result<()> {
        let settings = self.settings.clone();
        let lease = lease_id.to_string();
        let outcomes: Vec<(JobIds, Outcome, NaiveDateTime)> = group
            .iter()
            .map(|d| (d.ids.clone(), d.outcome.clone(), d.finished_at))
            .collect();
        let owned = self
            .store
            .write(move |c| {
                outcomes
                    .iter()
                    .map(|(ids, outcome, at)| {
                        record_outcome(c, ids, &lease, outcome, &settings, *at)
                    })
                    .collect::<StoreResult<Vec<bool>>>()
            })
            .await?;
        for (d, owned) in group.into_iter().zip(owned) {
            d.log(owned);
        }
        Ok(())
    }
}

/// A message whose send is over, waiting for its outcome to be recorded.
struct Delivered {
    ids: JobIds,
    to_masked: String,
    outcome: Outcome,
    /// The file it was written to, in folder mode.
    file: Option<std::path::PathBuf>,
    finished_at: NaiveDateTime,
}

impl Delivered {
    fn log(self, owned: bool) {
        // Logs name the job and a masked address, never the link (its token is a secret).
        let what = if self.ids.invitation_id.is_some() {
            "survey email"
        } else {
            "digest"
        };
        let ids = &self.ids;
        let job_id = ids.invitation_id.as_deref().unwrap_or(&ids.outbox_id);
        match (&self.outcome, self.file) {
            (Outcome::Sent, Some(file)) => tracing::info!(
                to = %self.to_masked,
                job = %job_id,
                file = %file.display(),
                "{what} written to the mail folder (no NPSD_SMTP_URL); its links are in the file"
            ),
            (Outcome::Sent, None) => {
                tracing::info!(to = %self.to_masked, job = %job_id, "{what} sent")
            }
            (Outcome::Failed(e), _) => {
                tracing::warn!(to = %self.to_masked, job = %job_id, attempt = ids.attempts, error = %redact_addresses(&e.to_string()), "{what} not sent")
            }
        }
        if !owned {
            tracing::warn!(job = %job_id, "the outbox lease ran out during the send; the dispatcher that holds the row now records it");
        }
    }
}

/// What one claim takes: under which lease, how many, of which jobs.
struct Batch<'a> {
    lease_id: &'a str,
    lease: ChronoDuration,
    settings: &'a DispatcherSettings,
    only_digest: Option<&'a str>,
}

fn claim_and_prepare(
    conn: &mut DbConn,
    batch: &Batch<'_>,
    now: NaiveDateTime,
    public_url: &str,
    default_from: &Mailbox,
) -> StoreResult<Claim> {
    let lease_id = batch.lease_id;
    let rows = outbox::claim_due(
        conn,
        lease_id,
        now,
        batch.settings.batch_size,
        batch.lease,
        batch.only_digest,
    )?;
    let handled = rows.len();
    let mut jobs = Vec::with_capacity(rows.len());
    for row in rows {
        let job = match row.kind {
            JobKind::SurveyEmail => survey_email::prepare(conn, row, lease_id, now)?,
            JobKind::Digest => {
                // In a savepoint: a digest that cannot be prepared fails alone, not the batch.
                let (id, kind) = (row.id.clone(), row.kind);
                match conn.transaction(|c| {
                    digest::prepare(c, row, lease_id, now, public_url, default_from)
                }) {
                    Ok(job) => job,
                    Err(e) => {
                        let reason = format!("the {kind} job could not be prepared: {e}");
                        tracing::error!(job = %id, error = %reason);
                        outbox::mark_failed(conn, &id, lease_id, &reason, now)?;
                        None
                    }
                }
            }
        };
        jobs.extend(job);
    }
    Ok(Claim { jobs, handled })
}

/// Exponential backoff: base, 2x base, 4x base... up to the maximum.
pub fn retry_delay(settings: &DispatcherSettings, attempts: i32) -> Duration {
    let exp = attempts.saturating_sub(1).clamp(0, 30) as u32;
    settings
        .retry_base
        .saturating_mul(2u32.saturating_pow(exp))
        .min(settings.retry_max)
}

/// "Equal jitter": half the delay fixed, half random, so messages that failed together (a server
/// that went away) do not all come back at the same moment.
pub fn with_jitter(delay: Duration) -> Duration {
    let half = delay / 2;
    let extra = rand::random_range(0..=half.as_millis().max(1) as u64);
    half + Duration::from_millis(extra)
}

/// Records the outcome while `lease_id` still owns the row; answers false when it no longer does.
fn record_outcome(
    conn: &mut DbConn,
    job: &JobIds,
    lease_id: &str,
    outcome: &Outcome,
    settings: &DispatcherSettings,
    now: NaiveDateTime,
) -> StoreResult<bool> {
    match outcome {
        Outcome::Sent => {
            if !outbox::mark_sent(conn, &job.outbox_id, lease_id, now)? {
                return Ok(false);
            }
            if let Some(invitation_id) = &job.invitation_id {
                invitations::set_status(
                    conn,
                    invitation_id,
                    InvitationStatus::Sent,
                    None,
                    Some(now),
                    now,
                )?;
            }
        }
        Outcome::Failed(SendError::Temporary(e)) if job.attempts < settings.max_attempts => {
            let delay = ChronoDuration::from_std(with_jitter(retry_delay(settings, job.attempts)))
                .unwrap_or(ChronoDuration::hours(1));
            return outbox::retry_at(conn, &job.outbox_id, lease_id, now + delay, e, now);
        }
        Outcome::Failed(e) => {
            let reason = match e {
                SendError::Temporary(m) => format!("gave up after {} attempts: {m}", job.attempts),
                SendError::Permanent(m) => m.clone(),
            };
            if !outbox::mark_failed(conn, &job.outbox_id, lease_id, &reason, now)? {
                return Ok(false);
            }
            if let Some(invitation_id) = &job.invitation_id {
                invitations::set_status(
                    conn,
                    invitation_id,
                    InvitationStatus::Failed,
                    Some(&reason),
                    None,
                    now,
                )?;
            }
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let s = DispatcherSettings {
            retry_base: Duration::from_secs(2),
            retry_max: Duration::from_secs(60),
            ..Default::default()
        };
        let delays: Vec<u64> = (1..=7).map(|a| retry_delay(&s, a).as_secs()).collect();
        assert_eq!(delays, vec![2, 4, 8, 16, 32, 60, 60]);
    }

    #[test]
    fn jitter_keeps_between_half_and_the_whole_delay() {
        for _ in 0..200 {
            let d = with_jitter(Duration::from_secs(10));
            assert!(
                d >= Duration::from_secs(5) && d <= Duration::from_secs(10),
                "{d:?}"
            );
        }
    }
}
