//! Sends due survey emails from the outbox.
//!
//! One round: claim due rows with a lease (one write transaction, which also checks unsubscribes and
//! the throttle again and stores a fresh link token per email), send the messages concurrently over
//! the pooled SMTP connections, then record every outcome (one more write transaction).
use crate::config::DispatcherSettings;
use crate::domain::clock::SharedClock;
use crate::domain::email::{mask, redact_addresses};
use crate::domain::token::Token;
use crate::mail::survey::{self, SurveyMessage};
use crate::mail::{Mailer, SendError};
use crate::store::invitations::{
    self, REASON_SUPPRESSED, REASON_THROTTLED, REASON_UNSUBSCRIBED, SKIPPED,
};
use crate::store::{outbox, suppressions, surveys, unsubscribes, DbConn, Store, StoreResult};
use chrono::{Duration as ChronoDuration, NaiveDateTime};
use futures_util::StreamExt;
use lettre::message::Mailbox;
use std::sync::Arc;
use std::time::Duration;
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
}

/// Which outbox row and invitation a message belongs to.
struct JobIds {
    outbox_id: String,
    invitation_id: String,
    /// Including the current one.
    attempts: i32,
}

/// An email ready to go.
struct Job {
    ids: JobIds,
    message: lettre::Message,
    to_masked: String,
}

enum Outcome {
    Sent,
    Failed(SendError),
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
        }
    }

    /// Works the outbox until `stop` turns true: right away when woken (a new invitation due
    /// now), otherwise when the next row falls due or the poll interval has passed. A round in
    /// flight is finished first, so no email is left sent but unrecorded.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            let sent_full_batch = match self.dispatch_due().await {
                Ok(n) => n as i64 >= self.settings.batch_size,
                Err(e) => {
                    tracing::error!(error = ?e, "dispatching the outbox failed; retrying");
                    false
                }
            };
            if sent_full_batch {
                continue;
            }
            let sleep = self.until_next_due().await;
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(sleep) => {}
                _ = stop.changed() => {}
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

    /// Repeats rounds until nothing is due: for tests and one-shot runs.
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
        let now = self.clock.now();
        let (jobs, handled) = {
            let settings = self.settings.clone();
            let public_url = self.public_url.clone();
            let default_from = self.default_from.clone();
            self.store
                .write(move |c| claim_and_prepare(c, now, &settings, &public_url, &default_from))
                .await?
        };
        if jobs.is_empty() {
            return Ok(handled);
        }
        // Each outcome is recorded as soon as its message is done, so a crash mid-round
        // re-sends only what was really in flight.
        let delivered: Vec<anyhow::Result<()>> = futures_util::stream::iter(jobs)
            .map(|job| self.deliver(job))
            .buffer_unordered(self.settings.concurrency)
            .collect()
            .await;
        for result in delivered {
            result?;
        }
        Ok(handled)
    }

    async fn deliver(&self, job: Job) -> anyhow::Result<()> {
        let (outcome, file) = match self.mailer.send(&job.message).await {
            Ok(file) => (Outcome::Sent, file),
            Err(e) => (Outcome::Failed(e), None),
        };
        // Logs name the invitation and a masked address, never the link (its token is a secret).
        match (&outcome, file) {
            (Outcome::Sent, Some(file)) => tracing::info!(
                to = %job.to_masked,
                invitation = %job.ids.invitation_id,
                file = %file.display(),
                "survey email written to the mail folder (no NPSD_SMTP_URL); its links are in the file"
            ),
            (Outcome::Sent, None) => {
                tracing::info!(to = %job.to_masked, invitation = %job.ids.invitation_id, "survey email sent")
            }
            (Outcome::Failed(e), _) => {
                tracing::warn!(to = %job.to_masked, invitation = %job.ids.invitation_id, attempt = job.ids.attempts, error = %redact_addresses(&e.to_string()), "survey email not sent")
            }
        }
        let finished_at = self.clock.now();
        let settings = self.settings.clone();
        let ids = job.ids;
        self.store
            .write(move |c| record_outcome(c, &ids, &outcome, &settings, finished_at))
            .await?;
        Ok(())
    }
}

fn claim_and_prepare(
    conn: &mut DbConn,
    now: NaiveDateTime,
    settings: &DispatcherSettings,
    public_url: &str,
    default_from: &Mailbox,
) -> StoreResult<(Vec<Job>, usize)> {
    let lease = ChronoDuration::from_std(settings.lease).unwrap_or(ChronoDuration::seconds(120));
    let rows = outbox::claim_due(conn, now, settings.batch_size, lease)?;
    let handled = rows.len();
    let mut jobs = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(invitation_id) = row.invitation_id.clone() else {
            outbox::mark_failed(
                conn,
                &row.id,
                &format!("unknown outbox kind {}", row.kind),
                now,
            )?;
            continue;
        };
        let invitation = invitations::find(conn, &invitation_id)?;
        let survey_row = surveys::find_by_id(conn, &invitation.survey_id)?;
        // The customer may have unsubscribed, or been surveyed, while this email waited.
        let skip = if suppressions::is_suppressed(conn, &invitation.email_key)? {
            Some(REASON_SUPPRESSED)
        } else if unsubscribes::is_unsubscribed(conn, &survey_row.id, &invitation.email_key)? {
            Some(REASON_UNSUBSCRIBED)
        } else if invitations::recently_surveyed(
            conn,
            &survey_row,
            &invitation.email_key,
            &invitation.id,
            true,
            now,
        )? {
            Some(REASON_THROTTLED)
        } else {
            None
        };
        if let Some(reason) = skip {
            outbox::mark_cancelled(conn, &row.id, reason, now)?;
            invitations::set_status(conn, &invitation.id, SKIPPED, Some(reason), None, now)?;
            continue;
        }
        let token = Token::generate();
        let expires = now + ChronoDuration::days(survey_row.response_window_days as i64);
        invitations::add_token(conn, &invitation.id, &token.hash(), now, expires)?;
        let settings_of_survey = survey_row.settings();
        let built = survey::build(&SurveyMessage {
            survey: &settings_of_survey,
            to_email: &invitation.email,
            to_name: invitation.name.as_deref(),
            message_id: &invitation.message_id,
            token: &token,
            public_url,
            default_from,
        });
        match built {
            Ok(message) => jobs.push(Job {
                ids: JobIds {
                    outbox_id: row.id,
                    invitation_id: invitation.id,
                    attempts: row.attempts,
                },
                message,
                to_masked: mask(&invitation.email),
            }),
            Err(e) => {
                let reason = format!("message could not be built: {e}");
                tracing::error!(invitation = %invitation.id, error = %reason);
                outbox::mark_failed(conn, &row.id, &reason, now)?;
                invitations::set_status(
                    conn,
                    &invitation.id,
                    invitations::FAILED,
                    Some(&reason),
                    None,
                    now,
                )?;
            }
        }
    }
    Ok((jobs, handled))
}

/// Exponential backoff: base, 2x base, 4x base... up to the maximum.
pub fn retry_delay(settings: &DispatcherSettings, attempts: i32) -> Duration {
    let exp = attempts.saturating_sub(1).clamp(0, 30) as u32;
    settings
        .retry_base
        .saturating_mul(2u32.saturating_pow(exp))
        .min(settings.retry_max)
}

fn record_outcome(
    conn: &mut DbConn,
    job: &JobIds,
    outcome: &Outcome,
    settings: &DispatcherSettings,
    now: NaiveDateTime,
) -> StoreResult<()> {
    match outcome {
        Outcome::Sent => {
            outbox::mark_sent(conn, &job.outbox_id, now)?;
            invitations::set_status(
                conn,
                &job.invitation_id,
                invitations::SENT,
                None,
                Some(now),
                now,
            )?;
        }
        Outcome::Failed(SendError::Temporary(e)) if job.attempts < settings.max_attempts => {
            let delay = ChronoDuration::from_std(retry_delay(settings, job.attempts))
                .unwrap_or(ChronoDuration::hours(1));
            outbox::retry_at(conn, &job.outbox_id, now + delay, e, now)?;
        }
        Outcome::Failed(e) => {
            let reason = match e {
                SendError::Temporary(m) => format!("gave up after {} attempts: {m}", job.attempts),
                SendError::Permanent(m) => m.clone(),
            };
            outbox::mark_failed(conn, &job.outbox_id, &reason, now)?;
            invitations::set_status(
                conn,
                &job.invitation_id,
                invitations::FAILED,
                Some(&reason),
                None,
                now,
            )?;
        }
    }
    Ok(())
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
}
