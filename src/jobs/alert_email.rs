//! An alert rule's email to one address (`npsd_app::alerts`): the rule's message about an answer,
//! a summary, or a follow-up. Queued by the alert loop in the transaction that records the match,
//! so it goes out once; built under the claim from the answers as they stand (an answer erased
//! since is left out; with none left, or the rule deleted, the job is cancelled).
use super::kind::{ClaimContext, Job, JobHandler, JobIds, Prepared};
use crate::domain::email::mask;
use crate::store::outbox::{self, OutboxRow};
use crate::store::state::{JobKind, SkipReason};
use crate::store::{suppressions, DbConn};
use npsd_app::alerts::{describe, EmailJob};

pub(crate) struct AlertEmail;

impl JobHandler for AlertEmail {
    fn noun(&self) -> &'static str {
        "alert email"
    }

    fn prepare(&self, conn: &mut DbConn, row: OutboxRow, cx: &ClaimContext<'_>) -> Prepared {
        let job: Option<EmailJob> = row
            .payload
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok());
        let (Some(job), Some(to)) = (job, row.recipient.clone()) else {
            outbox::mark_failed(
                conn,
                &row.id,
                cx.lease_id,
                "an alert email job without its payload or recipient",
                cx.now,
            )?;
            return Ok(None);
        };
        if suppressions::is_suppressed(conn, &to.to_lowercase())? {
            outbox::mark_cancelled(
                conn,
                &row.id,
                cx.lease_id,
                SkipReason::Suppressed.as_str(),
                cx.now,
            )?;
            return Ok(None);
        }
        let Some(notice) = describe(
            conn,
            &job.rule,
            job.kind,
            &job.responses,
            job.more,
            cx.public_url,
        )?
        else {
            outbox::mark_cancelled(
                conn,
                &row.id,
                cx.lease_id,
                "the rule or its answers are gone",
                cx.now,
            )?;
            return Ok(None);
        };
        let message = crate::mail::alert::build(&crate::mail::alert::AlertMessage {
            notice: &notice,
            to: &to,
            from: cx.default_from,
            public_url: cx.public_url,
            message_id_local: &row.id,
        });
        let message = match message {
            Ok(m) => m,
            Err(e) => {
                outbox::mark_failed(
                    conn,
                    &row.id,
                    cx.lease_id,
                    &format!("cannot build the alert: {e}"),
                    cx.now,
                )?;
                return Ok(None);
            }
        };
        Ok(Some(Job {
            ids: JobIds {
                outbox_id: row.id.clone(),
                kind: JobKind::AlertEmail,
                subject_id: None,
                attempts: row.attempts,
            },
            to_masked: mask(&to),
            draft: Box::new(message),
        }))
    }

    fn fails_alone(&self) -> bool {
        true
    }
}
