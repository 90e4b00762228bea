use super::invitations::InvitationRow;
use super::schema::{invitations, link_events, responses};
use super::{is_unique_violation, new_id, DbConn, StoreResult};
use crate::domain::bot::{assess, LinkEvent, LinkEventKind, Verdict};
use crate::domain::nps::ScoreCounts;
use crate::domain::score::{Category, Score};
use crate::domain::state::{Channel, ResponseStatus};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = responses)]
pub struct ResponseRow {
    pub id: String,
    pub survey_id: String,
    pub invitation_id: Option<String>,
    pub channel: Channel,
    pub score: i32,
    pub comment: Option<String>,
    pub status: ResponseStatus,
    pub status_reason: Option<String>,
    pub responded_at: NaiveDateTime,
    pub submitted_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Web answers only: who answered, on which page, and whether the site signed it.
    pub email: Option<String>,
    pub email_key: Option<String>,
    pub name: Option<String>,
    pub customer_id: Option<String>,
    pub page_url: Option<String>,
    pub verified: bool,
    pub respondent_key: Option<String>,
    pub edit_token_hash: Option<String>,
    pub edit_token_expires_at: Option<NaiveDateTime>,
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
                channel: Channel::Email,
                score,
                comment: comment.flatten().map(str::to_string),
                status,
                status_reason: reason.map(str::to_string),
                responded_at: now,
                submitted_at: comment.map(|_| now),
                created_at: now,
                updated_at: now,
                email: None,
                email_key: None,
                name: None,
                customer_id: None,
                page_url: None,
                verified: false,
                respondent_key: None,
                edit_token_hash: None,
                edit_token_expires_at: None,
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

/// Which responses a figure counts: a period, a channel, only verified ones.
#[derive(Debug, Clone, Default)]
pub struct ResponseFilter {
    pub from: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    pub channel: Option<Channel>,
    /// Some(true): only answers whose identity the site signed; Some(false): only the others.
    pub verified: Option<bool>,
}

/// The counted responses of a survey per score, and how many of them answered an email.
pub fn score_counts(
    conn: &mut DbConn,
    survey_id: &str,
    f: &ResponseFilter,
) -> StoreResult<(ScoreCounts, u64)> {
    let (from, until) = super::open_range(f.from, f.until);
    let mut query = responses::table
        .group_by((responses::channel, responses::score))
        .select((
            responses::channel,
            responses::score,
            diesel::dsl::count_star(),
        ))
        .filter(responses::survey_id.eq(survey_id))
        .filter(responses::status.eq(ResponseStatus::Counted))
        .filter(responses::responded_at.ge(from))
        .filter(responses::responded_at.lt(until))
        .into_boxed();
    if let Some(channel) = f.channel {
        query = query.filter(responses::channel.eq(channel));
    }
    if let Some(verified) = f.verified {
        query = query.filter(responses::verified.eq(verified));
    }
    let rows: Vec<(Channel, i32, i64)> = query.load(conn)?;
    let mut counts = ScoreCounts::default();
    let mut by_email = 0;
    for (channel, score, n) in rows {
        if let Some(s) = Score::new(i64::from(score)) {
            counts.add(s, n as u64);
            if channel == Channel::Email {
                by_email += n as u64;
            }
        }
    }
    Ok((counts, by_email))
}

/// One comment with who wrote it: from the invitation for email answers, from the answer
/// itself for web ones.
#[derive(Debug, Clone, Queryable)]
pub struct CommentRow {
    pub response_id: String,
    pub score: i32,
    pub comment: Option<String>,
    pub responded_at: NaiveDateTime,
    pub channel: Channel,
    pub page_url: Option<String>,
    pub verified: bool,
    pub web_email: Option<String>,
    pub web_name: Option<String>,
    pub customer_id: Option<String>,
    pub invitation_id: Option<String>,
    pub invitation_email: Option<String>,
    pub invitation_name: Option<String>,
    pub transaction_id: Option<String>,
}

pub struct CommentQuery {
    pub survey_id: String,
    pub category: Option<Category>,
    pub filter: ResponseFilter,
    /// Only comments older than this (responded_at, response id) position.
    pub before: Option<(NaiveDateTime, String)>,
    pub limit: i64,
    /// false: the counted responses without a comment instead (the digest fills up with them).
    pub commented: bool,
}

/// Counted responses with a comment (or, `commented: false`, without one), newest first.
pub fn comments(conn: &mut DbConn, q: &CommentQuery) -> StoreResult<Vec<CommentRow>> {
    let mut query = responses::table
        .left_join(invitations::table)
        .filter(responses::survey_id.eq(&q.survey_id))
        .filter(responses::status.eq(ResponseStatus::Counted))
        .into_boxed();
    query = if q.commented {
        query
            .filter(responses::comment.is_not_null())
            .filter(responses::comment.ne(""))
    } else {
        query.filter(responses::comment.is_null().or(responses::comment.eq("")))
    };
    if let Some(cat) = q.category {
        let (lo, hi) = cat.range();
        query = query.filter(responses::score.between(lo as i32, hi as i32));
    }
    if let Some(from) = q.filter.from {
        query = query.filter(responses::responded_at.ge(from));
    }
    if let Some(until) = q.filter.until {
        query = query.filter(responses::responded_at.lt(until));
    }
    if let Some(channel) = q.filter.channel {
        query = query.filter(responses::channel.eq(channel));
    }
    if let Some(verified) = q.filter.verified {
        query = query.filter(responses::verified.eq(verified));
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
            responses::channel,
            responses::page_url,
            responses::verified,
            responses::email,
            responses::name,
            responses::customer_id,
            invitations::id.nullable(),
            invitations::email.nullable(),
            invitations::name.nullable(),
            invitations::transaction_id.nullable(),
        ))
        .load(conn)?)
}

/// The properties of web answers: (response id, name, value).
pub fn properties_of(
    conn: &mut DbConn,
    ids: &[String],
) -> StoreResult<Vec<(String, String, String)>> {
    use super::schema::response_properties;
    Ok(response_properties::table
        .filter(response_properties::response_id.eq_any(ids))
        .select((
            response_properties::response_id,
            response_properties::name,
            response_properties::value,
        ))
        .load(conn)?)
}

/// The properties of each comment's answer, by response id: an email answer's come from its
/// invitation (the transaction's), a web answer's were stored with it.
pub fn properties_of_comments(
    conn: &mut DbConn,
    rows: &[CommentRow],
) -> StoreResult<std::collections::HashMap<String, Vec<(String, String)>>> {
    let invitation_ids: Vec<String> = rows
        .iter()
        .filter_map(|r| r.invitation_id.clone())
        .collect();
    let response_ids: Vec<String> = rows
        .iter()
        .filter(|r| r.invitation_id.is_none())
        .map(|r| r.response_id.clone())
        .collect();
    let mut by_owner: std::collections::HashMap<String, Vec<(String, String)>> = Default::default();
    for (owner, name, value) in super::invitations::properties_of(conn, &invitation_ids)?
        .into_iter()
        .chain(properties_of(conn, &response_ids)?)
    {
        by_owner.entry(owner).or_default().push((name, value));
    }
    Ok(rows
        .iter()
        .filter_map(|r| {
            let owner = r.invitation_id.as_ref().unwrap_or(&r.response_id);
            by_owner
                .get(owner)
                .map(|props| (r.response_id.clone(), props.clone()))
        })
        .collect())
}
