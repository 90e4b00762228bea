//! Background work beside the HTTP server: one worker loop over the outbox (`worker`), the outbox
//! as a queue of leased jobs (`queue`), and the kinds of job (`kind`: the trait; `survey_email`,
//! `digest`: one file each).
pub(crate) mod alert_email;
pub mod digest;
pub mod digest_by_hand;
pub(crate) mod kind;
pub(crate) mod queue;
pub mod survey_email;
pub(crate) mod webhook_email;
pub mod worker;

pub use worker::Dispatcher;

/// The handler of each kind of job: the one list of kinds.
pub(crate) fn handler(kind: crate::store::state::JobKind) -> &'static dyn kind::JobHandler {
    use crate::store::state::JobKind;
    match kind {
        JobKind::SurveyEmail => &survey_email::SurveyEmail,
        JobKind::Digest => &digest::DigestJob,
        JobKind::AlertEmail => &alert_email::AlertEmail,
        JobKind::WebhookDisabledEmail => &webhook_email::WebhookDisabledEmail,
    }
}
