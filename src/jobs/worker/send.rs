//! A round's sending: its messages go out `concurrency` at a time while its lease is renewed, and
//! their outcomes are recorded in groups as they finish.
use super::Dispatcher;
use crate::domain::email::redact_addresses;
use crate::jobs::handler;
use crate::jobs::kind::{Job, JobIds};
use crate::jobs::queue::{record_outcome, Claimed, Outcome, Round};
use crate::mail::SendError;
use crate::store::{outbox, StoreResult};
use chrono::NaiveDateTime;
use futures_util::StreamExt;
use std::collections::HashSet;
use std::time::Instant;
use tokio::sync::watch;

impl Dispatcher {
    /// Sends a claimed round's messages, `concurrency` at a time, keeping its lease alive.
    pub(super) async fn send(
        &self,
        claimed: Claimed,
        stop: &watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
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

    pub(super) async fn release_round(&self, lease_id: &str) -> anyhow::Result<()> {
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
        let message = job
            .draft
            .build(&self.public_url, &self.default_from)
            .map_err(|e| {
                let reason = format!("message could not be built: {e}");
                tracing::error!(job = %job.ids.outbox_id, error = %reason);
                SendError::Permanent(reason)
            });
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
        let what = handler(self.ids.kind).noun();
        let ids = &self.ids;
        let job_id = ids.subject_id.as_deref().unwrap_or(&ids.outbox_id);
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
