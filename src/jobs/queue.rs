//! The outbox as a queue: claim due rows under a lease and prepare them (one write
//! transaction), keep the lease while their messages are in flight, and record each outcome only
//! while the lease still owns its row, retrying temporary failures with backoff and jitter.
//!
//! Leases are short (`NPSD_LEASE_SECONDS`, 15 s) and renewed every third of that while messages
//! are in flight, so the rows of a process that died are free again within one lease.
use super::handler;
use super::kind::{ClaimContext, Final, Job, JobIds};
use crate::config::DispatcherSettings;
use crate::mail::SendError;
use crate::store::{outbox, DbConn, StoreResult};
use chrono::{Duration as ChronoDuration, NaiveDateTime};
use diesel::Connection;
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What one claim transaction produced.
pub(crate) struct Claim {
    pub(crate) jobs: Vec<Job>,
    /// Rows claimed, including those cancelled or failed without a message.
    pub(crate) handled: usize,
}

#[derive(Clone)]
pub(crate) enum Outcome {
    Sent,
    Failed(SendError),
}

/// A claim ready to send: its lease, its messages, and how many rows it took.
pub(crate) struct Claimed {
    pub(crate) round: Round,
    pub(crate) jobs: Vec<Job>,
    pub(crate) handled: usize,
}

/// One claim's lease as the round sees it.
pub(crate) struct Round {
    pub(crate) lease_id: String,
    pub(crate) deadline: LeaseDeadline,
    /// The claimed rows this round still owns.
    pub(crate) owned: Mutex<HashSet<String>>,
}

/// The local view of a lease's end, moved forward by each renewal.
pub(crate) struct LeaseDeadline(pub(crate) Mutex<Instant>);

impl LeaseDeadline {
    /// Resolves when less than a second of the lease is left.
    pub(crate) async fn running_out(&self) {
        while self.remaining() > Duration::from_secs(1) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) fn remaining(&self) -> Duration {
        self.0
            .lock()
            .expect("lease deadline")
            .saturating_duration_since(Instant::now())
    }

    pub(crate) fn extend_to(&self, at: Instant) {
        let mut d = self.0.lock().expect("lease deadline");
        if at > *d {
            *d = at;
        }
    }
}

/// What one claim takes: under which lease, how many, of which jobs.
pub(crate) struct Batch<'a> {
    pub(crate) lease: ChronoDuration,
    pub(crate) settings: &'a DispatcherSettings,
    pub(crate) only_digest: Option<&'a str>,
}

pub(crate) fn claim_and_prepare(
    conn: &mut DbConn,
    batch: &Batch<'_>,
    cx: &ClaimContext<'_>,
) -> StoreResult<Claim> {
    let rows = outbox::claim_due(
        conn,
        cx.lease_id,
        cx.now,
        batch.settings.batch_size,
        batch.lease,
        batch.only_digest,
    )?;
    let handled = rows.len();
    let mut jobs = Vec::with_capacity(rows.len());
    for row in rows {
        let handler = handler(row.kind);
        let job = if handler.fails_alone() {
            // In a savepoint: a job that cannot be prepared fails alone, not the batch.
            let (id, kind) = (row.id.clone(), row.kind);
            match conn.transaction(|c| handler.prepare(c, row, cx)) {
                Ok(job) => job,
                Err(e) => {
                    let reason = format!("the {kind} job could not be prepared: {e}");
                    tracing::error!(job = %id, error = %reason);
                    outbox::mark_failed(conn, &id, cx.lease_id, &reason, cx.now)?;
                    None
                }
            }
        } else {
            handler.prepare(conn, row, cx)?
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
pub(crate) fn record_outcome(
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
            handler(job.kind).finished(conn, job, Final::Sent, now)?;
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
            handler(job.kind).finished(conn, job, Final::Failed(&reason), now)?;
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
