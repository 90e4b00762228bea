use super::invitations::InvitationRow;
use super::schema::{invitations, link_events, responses};
use super::{is_unique_violation, new_id, DbConn, StoreResult};
use crate::domain::bot::{assess, LinkEvent, LinkEventKind, Verdict};
use crate::domain::nps::ScoreCounts;
use crate::domain::score::{Category, Score};
use crate::domain::state::ResponseStatus;
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub const CHANNEL_EMAIL: &str = "email";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = responses)]
pub struct ResponseRow {
    pub id: String,
    pub survey_id: String,
    pub invitation_id: Option<String>,
    pub channel: String,
    pub score: i32,
    pub comment: Option<String>,
    pub status: ResponseStatus,
    pub status_reason: Option<String>,
    pub responded_at: NaiveDateTime,
    pub submitted_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

fn event_kind_parts(kind: LinkEventKind) -> (&'static str, Option<i32>) {
    match kind {
        LinkEventKind::Click(s) => ("click", Some(s.value() as i32)),
        LinkEventKind::Trap => ("trap", None),
        LinkEventKind::Submit(s) => ("submit", Some(s.value() as i32)),
    }
}

fn event_from_parts(kind: &str, score: Option<i32>, at: NaiveDateTime) -> Option<LinkEvent> {
    let score = score.and_then(|s| Score::new(s as i64));
    let kind = match (kind, score) {
        ("click", Some(s)) => LinkEventKind::Click(s),
        ("submit", Some(s)) => LinkEventKind::Submit(s),
        ("trap", _) => LinkEventKind::Trap,
        _ => return None,
    };
    Some(LinkEvent { kind, at })
}

pub fn find_for_invitation(
    conn: &mut DbConn,
    invitation_id: &str,
) -> StoreResult<Option<ResponseRow>> {
    Ok(responses::table
        .filter(responses::invitation_id.eq(invitation_id))
        .select(ResponseRow::as_select())
        .first(conn)
        .optional()?)
}

/// A change a person (or a scanner) made through an email link.
pub enum LinkAction<'a> {
    Click(Score),
    Trap,
    Submit {
        score: Score,
        comment: Option<&'a str>,
    },
}

/// Records a link event and brings the invitation's one response in line with all its events.
pub fn record(
    conn: &mut DbConn,
    invitation: &InvitationRow,
    action: LinkAction<'_>,
    now: NaiveDateTime,
) -> StoreResult<Option<ResponseRow>> {
    let (kind, comment) = match action {
        LinkAction::Click(s) => (LinkEventKind::Click(s), None),
        LinkAction::Trap => (LinkEventKind::Trap, None),
        LinkAction::Submit { score, comment } => (LinkEventKind::Submit(score), Some(comment)),
    };
    super::invitations::lock(conn, &invitation.id)?;
    let (kind_name, score) = event_kind_parts(kind);
    diesel::insert_into(link_events::table)
        .values((
            link_events::id.eq(new_id()),
            link_events::invitation_id.eq(&invitation.id),
            link_events::kind.eq(kind_name),
            link_events::score.eq(score),
            link_events::created_at.eq(now),
        ))
        .execute(conn)?;
    judge(conn, invitation, comment, now)
}

/// Brings the invitation's one response in line with all its link events.
fn judge(
    conn: &mut DbConn,
    invitation: &InvitationRow,
    comment: Option<Option<&str>>,
    now: NaiveDateTime,
) -> StoreResult<Option<ResponseRow>> {
    let events: Vec<LinkEvent> = link_events::table
        .filter(link_events::invitation_id.eq(&invitation.id))
        .select((
            link_events::kind,
            link_events::score,
            link_events::created_at,
        ))
        .load::<(String, Option<i32>, NaiveDateTime)>(conn)?
        .into_iter()
        .filter_map(|(k, s, at)| event_from_parts(&k, s, at))
        .collect();
    let (status, score, reason) = match assess(&events) {
        Verdict::Counted(s) => (ResponseStatus::Counted, s, None),
        Verdict::Bot { score, reason } => (ResponseStatus::Bot, score, Some(reason.as_str())),
        Verdict::Nothing => return find_for_invitation(conn, &invitation.id),
    };
    let score = score.value() as i32;
    let existing = find_for_invitation(conn, &invitation.id)?;
    let row = match existing {
        Some(mut row) => {
            let changed = row.score != score || row.status != status || comment.is_some();
            if changed {
                row.score = score;
                row.status = status;
                row.status_reason = reason.map(str::to_string);
                row.responded_at = now;
                if let Some(c) = comment {
                    row.comment = c.map(str::to_string);
                    row.submitted_at = Some(now);
                }
                row.updated_at = now;
                diesel::update(responses::table.find(&row.id))
                    .set((
                        responses::score.eq(row.score),
                        responses::status.eq(row.status),
                        responses::status_reason.eq(&row.status_reason),
                        responses::comment.eq(&row.comment),
                        responses::responded_at.eq(row.responded_at),
                        responses::submitted_at.eq(row.submitted_at),
                        responses::updated_at.eq(now),
                    ))
                    .execute(conn)?;
            }
            row
        }
        None => {
            let row = ResponseRow {
                id: new_id(),
                survey_id: invitation.survey_id.clone(),
                invitation_id: Some(invitation.id.clone()),
                channel: CHANNEL_EMAIL.to_string(),
                score,
                comment: comment.flatten().map(str::to_string),
                status,
                status_reason: reason.map(str::to_string),
                responded_at: now,
                submitted_at: comment.map(|_| now),
                created_at: now,
                updated_at: now,
            };
            let inserted = conn.transaction(|c| {
                diesel::insert_into(responses::table)
                    .values(&row)
                    .execute(c)
            });
            match inserted {
                Ok(_) => row,
                // Another request for the same invitation got there first: our event is stored,
                // so judging again brings the row in line.
                Err(e) if is_unique_violation(&e) => return judge(conn, invitation, comment, now),
                Err(e) => return Err(e.into()),
            }
        }
    };
    Ok(Some(row))
}

/// The counted responses per score of a survey, answered within [from, until).
pub fn score_counts(
    conn: &mut DbConn,
    survey_id: &str,
    from: Option<NaiveDateTime>,
    until: Option<NaiveDateTime>,
) -> StoreResult<ScoreCounts> {
    let (from, until) = super::open_range(from, until);
    let rows: Vec<(i32, i64)> = responses::table
        .filter(responses::survey_id.eq(survey_id))
        .filter(responses::status.eq(ResponseStatus::Counted))
        .filter(responses::responded_at.ge(from))
        .filter(responses::responded_at.lt(until))
        .group_by(responses::score)
        .select((responses::score, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(ScoreCounts::from_pairs(rows.into_iter().filter_map(
        |(s, n)| Score::new(s as i64).map(|s| (s, n as u64)),
    )))
}

/// One comment with the transaction it answers.
#[derive(Debug, Clone, Queryable)]
pub struct CommentRow {
    pub response_id: String,
    pub score: i32,
    pub comment: Option<String>,
    pub responded_at: NaiveDateTime,
    pub invitation_id: String,
    pub email: String,
    pub name: Option<String>,
    pub transaction_id: String,
}

pub struct CommentQuery {
    pub survey_id: String,
    pub category: Option<Category>,
    pub from: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    /// Only comments older than this (responded_at, response id) position.
    pub before: Option<(NaiveDateTime, String)>,
    pub limit: i64,
}

/// Counted responses with a comment, newest first.
pub fn comments(conn: &mut DbConn, q: &CommentQuery) -> StoreResult<Vec<CommentRow>> {
    let mut query = responses::table
        .inner_join(invitations::table)
        .filter(responses::survey_id.eq(&q.survey_id))
        .filter(responses::status.eq(ResponseStatus::Counted))
        .filter(responses::comment.is_not_null())
        .filter(responses::comment.ne(""))
        .into_boxed();
    if let Some(cat) = q.category {
        let (lo, hi) = cat.range();
        query = query.filter(responses::score.between(lo as i32, hi as i32));
    }
    if let Some(from) = q.from {
        query = query.filter(responses::responded_at.ge(from));
    }
    if let Some(until) = q.until {
        query = query.filter(responses::responded_at.lt(until));
    }
    if let Some((at, id)) = &q.before {
        query = query.filter(
            responses::responded_at.lt(*at).or(responses::responded_at
                .eq(*at)
                .and(responses::id.lt(id.clone()))),
        );
    }
    Ok(query
        .order((responses::responded_at.desc(), responses::id.desc()))
        .limit(q.limit)
        .select((
            responses::id,
            responses::score,
            responses::comment,
            responses::responded_at,
            invitations::id,
            invitations::email,
            invitations::name,
            invitations::transaction_id,
        ))
        .load(conn)?)
}
