//! The worker: one loop over the outbox for every kind of job. A round claims due rows under one
//! lease (`queue`; the claim also checks suppressions, unsubscribes and the throttle again and
//! stores fresh link tokens), then sends the messages concurrently over the pooled SMTP
//! connections. Each outcome is recorded the moment the server answers, and only while the
//! round's lease still owns the row.
//!
//! A message never starts when its lease has less than a third left (the renewals failed) or once
//! the service is stopping: such rows are released unsent, without counting an attempt.
use super::kind::{ClaimContext, Shared};
use super::queue::{claim_and_prepare, Batch, Claim, Claimed, LeaseDeadline, Round};
use crate::config::DispatcherSettings;
use crate::domain::clock::SharedClock;
use crate::jobs::digest;
use crate::mail::Mailer;
use crate::store::{outbox, Store};
use chrono::Duration as ChronoDuration;
use lettre::message::Mailbox;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};

mod send;

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
                        lease,
                        settings: &settings,
                        only_digest: only.as_deref(),
                    };
                    let cx = ClaimContext {
                        lease_id: &id,
                        now,
                        public_url: &public_url,
                        default_from: &default_from,
                    };
                    claim_and_prepare(c, &batch, &cx)
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
        let claim = match self.load(claim).await {
            Ok(claim) => claim,
            Err(e) => {
                // Nothing was sent: the rows go back at once rather than when the lease ends.
                if let Err(release) = self.release_round(&lease_id).await {
                    tracing::error!(error = ?release, "could not release claimed outbox rows; they are retried when their lease runs out");
                }
                return Err(e);
            }
        };
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

    /// After the claim commits: one read for the drafts that need more than the claim took
    /// (a digest's figures, once per digest), outside the write transaction.
    async fn load(&self, mut claim: Claim) -> anyhow::Result<Claim> {
        if !claim.jobs.iter().any(|j| j.draft.needs_load()) {
            return Ok(claim);
        }
        let jobs = std::mem::take(&mut claim.jobs);
        claim.jobs = self
            .store
            .read(move |c| {
                let mut jobs = jobs;
                let mut shared = Shared::new();
                for job in jobs.iter_mut().filter(|j| j.draft.needs_load()) {
                    job.draft.load(c, &mut shared)?;
                }
                Ok(jobs)
            })
            .await?;
        Ok(claim)
    }
}
