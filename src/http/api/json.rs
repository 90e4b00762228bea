//! How stored rows look on the API.
use crate::store::invitations::InvitationRow;
use crate::store::surveys::SurveyRow;
use chrono::{NaiveDateTime, SecondsFormat};
use serde_json::{json, Value};

pub fn timestamp(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn survey(s: &SurveyRow) -> Value {
    json!({
        "slug": s.slug,
        "brand": s.brand,
        "question": s.question,
        "question_text": s.settings().question_text(),
        "sender": s.sender,
        "reply_to": s.reply_to,
        "locale": s.locale,
        "send_delay_seconds": s.send_delay_seconds,
        "throttle_days": s.throttle_days,
        "response_window_days": s.response_window_days,
        "accent_color": s.accent_color,
        "created_at": timestamp(s.created_at),
        "updated_at": timestamp(s.updated_at),
    })
}

pub fn invitation(i: &InvitationRow, survey_slug: &str) -> Value {
    json!({
        "id": i.id,
        "status": i.status,
        "reason": i.reason,
        "send_at": timestamp(i.send_at),
        "sent_at": i.sent_at.map(timestamp),
        "transaction_id": i.transaction_id,
        "survey": survey_slug,
    })
}
