//! The email telling an admin that a webhook endpoint was disabled after failing for 24 hours,
//! queued by the webhook deliverer in the write that disables it.
use super::kind::{ClaimContext, Job, JobHandler, JobIds, Prepared};
use crate::domain::email::mask;
use crate::store::outbox::{self, OutboxRow};
use crate::store::state::JobKind;
use crate::store::{webhooks, DbConn};

pub(crate) struct WebhookDisabledEmail;

#[derive(serde::Deserialize)]
struct Payload {
    webhook: String,
    #[serde(default)]
    reason: String,
}

impl JobHandler for WebhookDisabledEmail {
    fn noun(&self) -> &'static str {
        "webhook notice"
    }

    fn prepare(&self, conn: &mut DbConn, row: OutboxRow, cx: &ClaimContext<'_>) -> Prepared {
        let payload: Option<Payload> = row
            .payload
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok());
        let (Some(payload), Some(to)) = (payload, row.recipient.clone()) else {
            outbox::mark_failed(
                conn,
                &row.id,
                cx.lease_id,
                "a webhook notice without its payload or recipient",
                cx.now,
            )?;
            return Ok(None);
        };
        let Some(hook) = webhooks::find(conn, &payload.webhook)? else {
            outbox::mark_cancelled(
                conn,
                &row.id,
                cx.lease_id,
                "the webhook was deleted",
                cx.now,
            )?;
            return Ok(None);
        };
        let notice =
            crate::mail::notice::webhook_disabled(&hook.url, &payload.reason, &to, cx.public_url);
        let message = match crate::mail::notice::build(&notice, &to, cx.default_from, &row.id) {
            Ok(m) => m,
            Err(e) => {
                outbox::mark_failed(
                    conn,
                    &row.id,
                    cx.lease_id,
                    &format!("cannot build the notice: {e}"),
                    cx.now,
                )?;
                return Ok(None);
            }
        };
        Ok(Some(Job {
            ids: JobIds {
                outbox_id: row.id.clone(),
                kind: JobKind::WebhookDisabledEmail,
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
