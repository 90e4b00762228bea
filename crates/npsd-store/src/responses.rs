//! (Over 400 lines: the responses table's queries, by row, by filter and by comment page,
//! written once against both backends.)
pub use super::filter::ResponseFilter;
pub use super::properties::properties_of_responses as properties_of;
use super::rows::InvitationRow;
pub use super::rows::ResponseRow;
use super::schema::{invitations, link_events, responses};
use super::{new_id, DbConn, StoreResult};
use crate::ids::{InvitationId, ResponseId, SurveyId};
use crate::state::{Channel, ResponseStatus};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use npsd_domain::bot::{assess, LinkEvent, LinkEventKind, Verdict};
use npsd_domain::insight::{CommentSort, SearchWords};
use npsd_domain::nps::ScoreCounts;
use npsd_domain::score::{Category, Score};

impl ResponseRow {
    /// A new counted answer given at `responded_at`, with nothing known about who gave it; each
    /// way in (email link, web form, API, import) fills in what it knows.
    pub fn counted(
        id: ResponseId,
        survey_id: &SurveyId,
        channel: Channel,
        score: i32,
        comment: Option<String>,
        responded_at: NaiveDateTime,
        now: NaiveDateTime,
    ) -> ResponseRow {
        ResponseRow {
            id,
            survey_id: survey_id.clone(),
            invitation_id: None,
            channel,
            score,
            submitted_at: comment.as_ref().map(|_| responded_at),
            comment,
            status: ResponseStatus::Counted,
            status_reason: None,
            responded_at,
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
            manual_status: None,
        }
    }
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
    invitation_id: &InvitationId,
) -> StoreResult<Option<ResponseRow>> {
    Ok(responses::table
        .filter(responses::invitation_id.eq(invitation_id))
        .select(ResponseRow::as_select())
        .get_result(conn)
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
    // A person restored or discarded this answer by hand: later clicks change its score, not that.
    let (status, reason) = match existing.as_ref().and_then(|r| r.manual_status) {
        Some(manual) => (
            manual,
            existing.as_ref().and_then(|r| r.status_reason.clone()),
        ),
        None => (status, reason.map(str::to_string)),
    };
    let row = match existing {
        Some(mut row) => {
            let changed = row.score != score || row.status != status || comment.is_some();
            if changed {
                row.score = score;
                row.status = status;
                row.status_reason = reason.clone();
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
                invitation_id: Some(invitation.id.clone()),
                status,
                status_reason: reason.clone(),
                // Submitted (the form sent, with or without a comment), or only clicked.
                submitted_at: comment.map(|_| now),
                ..ResponseRow::counted(
                    ResponseId::generate(),
                    &invitation.survey_id,
                    Channel::Email,
                    score,
                    comment.flatten().map(str::to_string),
                    now,
                    now,
                )
            };
            // One statement, no savepoint: when another request for the same invitation got
            // there first, its row is kept and ours left out; our event is stored, so judging
            // again brings that row in line.
            let inserted = match conn {
                #[cfg(feature = "sqlite")]
                DbConn::Sqlite(c) => diesel::insert_into(responses::table)
                    .values(&row)
                    .on_conflict_do_nothing()
                    .execute(c)?,
                #[cfg(feature = "postgres")]
                DbConn::Postgresql(c) => diesel::insert_into(responses::table)
                    .values(&row)
                    .on_conflict_do_nothing()
                    .execute(c)?,
            };
            if inserted == 0 {
                return judge(conn, invitation, comment, now);
            }
            row
        }
    };
    Ok(Some(row))
}

/// Narrows a boxed query over `responses` (alone or joined) to a [`ResponseFilter`].
macro_rules! narrow {
    ($query:expr, $filter:expr) => {{
        use $crate::schema::responses as r;
        let f: &$crate::filter::ResponseFilter = $filter;
        let mut q = $query;
        if let Some(from) = f.from {
            q = q.filter(r::responded_at.ge(from));
        }
        if let Some(until) = f.until {
            q = q.filter(r::responded_at.lt(until));
        }
        if let Some(channel) = f.channel {
            q = q.filter(r::channel.eq(channel));
        }
        if let Some(verified) = f.verified {
            q = q.filter(r::verified.eq(verified));
        }
        if let Some(has) = $crate::segment::HasProperties::response(&f.properties) {
            q = q.filter(has);
        }
        q
    }};
}

/// The counted responses of a survey per score, and how many of them answered an email,
/// counted row by row (the tallies answer the common case: `crate::tallies`).
pub fn score_counts(
    conn: &mut DbConn,
    survey_id: &SurveyId,
    f: &ResponseFilter,
) -> StoreResult<(ScoreCounts, u64)> {
    let query = responses::table
        .group_by((responses::channel, responses::score))
        .select((
            responses::channel,
            responses::score,
            diesel::dsl::count_star(),
        ))
        .filter(responses::survey_id.eq(survey_id))
        .filter(responses::status.eq(ResponseStatus::Counted))
        .into_boxed();
    let rows: Vec<(Channel, i32, i64)> = narrow!(query, f).load(conn)?;
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

/// Counted responses with a comment, row by row.
pub fn count_comments(
    conn: &mut DbConn,
    survey_id: &SurveyId,
    f: &ResponseFilter,
) -> StoreResult<u64> {
    let q = responses::table
        .filter(responses::survey_id.eq(survey_id))
        .filter(responses::status.eq(ResponseStatus::Counted))
        .filter(responses::comment.is_not_null())
        .filter(responses::comment.ne(""))
        .into_boxed();
    let n: i64 = narrow!(q, f).count().get_result(conn)?;
    Ok(n as u64)
}

/// Counted responses per value of one property and score, row by row.
pub fn breakdown_counts(
    conn: &mut DbConn,
    survey_id: &SurveyId,
    f: &ResponseFilter,
    by: &str,
) -> StoreResult<Vec<(String, i32, i64)>> {
    use super::schema::response_properties;
    let q = responses::table
        .inner_join(response_properties::table)
        .filter(responses::survey_id.eq(survey_id))
        .filter(responses::status.eq(ResponseStatus::Counted))
        .filter(response_properties::name.eq(by))
        .group_by((response_properties::value, responses::score))
        .select((
            response_properties::value,
            responses::score,
            diesel::dsl::count_star(),
        ))
        .into_boxed();
    Ok(narrow!(q, f).load(conn)?)
}

/// One response with who gave it: from the invitation for email answers, from the answer
/// itself for web ones.
#[derive(Debug, Clone, Queryable)]
pub struct CommentRow {
    pub response_id: ResponseId,
    pub score: i32,
    pub comment: Option<String>,
    pub responded_at: NaiveDateTime,
    pub channel: Channel,
    pub page_url: Option<String>,
    pub verified: bool,
    pub web_email: Option<String>,
    pub web_name: Option<String>,
    pub customer_id: Option<String>,
    pub invitation_id: Option<InvitationId>,
    pub invitation_email: Option<String>,
    pub invitation_name: Option<String>,
    pub transaction_id: Option<String>,
    pub status: ResponseStatus,
    pub status_reason: Option<String>,
    pub submitted_at: Option<NaiveDateTime>,
}

impl CommentRow {
    pub fn email(&self) -> Option<&str> {
        self.invitation_email
            .as_deref()
            .or(self.web_email.as_deref())
    }

    pub fn name(&self) -> Option<&str> {
        self.invitation_name.as_deref().or(self.web_name.as_deref())
    }
}

/// The columns of a [`CommentRow`].
fn comment_row() -> CommentColumns {
    (
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
        responses::status,
        responses::status_reason,
        responses::submitted_at,
    )
}

type CommentColumns = (
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
    diesel::helper_types::Nullable<invitations::id>,
    diesel::helper_types::Nullable<invitations::email>,
    diesel::helper_types::Nullable<invitations::name>,
    diesel::helper_types::Nullable<invitations::transaction_id>,
    responses::status,
    responses::status_reason,
    responses::submitted_at,
);

/// A position in a list of responses: after this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// Set when the list is ordered by score first (`CommentSort::Lowest`).
    pub score: Option<i32>,
    pub at: NaiveDateTime,
    pub id: String,
}

#[derive(Debug, Clone)]
pub struct CommentQuery {
    pub survey_id: SurveyId,
    pub status: ResponseStatus,
    pub category: Option<Category>,
    pub min_score: Option<i32>,
    pub max_score: Option<i32>,
    pub filter: ResponseFilter,
    /// Full-text search over the comment.
    pub words: Option<SearchWords>,
    pub sort: CommentSort,
    /// Only responses after this position in `sort` order.
    pub after: Option<Position>,
    pub limit: i64,
    /// Some(true): with a comment; Some(false): without one (the digest fills up with them);
    /// None: all.
    pub commented: Option<bool>,
}

impl Default for CommentQuery {
    fn default() -> Self {
        CommentQuery {
            survey_id: SurveyId::default(),
            status: ResponseStatus::Counted,
            category: None,
            min_score: None,
            max_score: None,
            filter: ResponseFilter::default(),
            words: None,
            sort: CommentSort::Newest,
            after: None,
            limit: 50,
            commented: Some(true),
        }
    }
}

/// Responses of a survey in `sort` order (newest first by default), with their filters.
pub fn comments(conn: &mut DbConn, q: &CommentQuery) -> StoreResult<Vec<CommentRow>> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Bool, Text};
    let mut query = responses::table
        .left_join(invitations::table)
        .filter(responses::survey_id.eq(&q.survey_id))
        .filter(responses::status.eq(q.status))
        .into_boxed();
    query = match q.commented {
        Some(true) => query
            .filter(responses::comment.is_not_null())
            .filter(responses::comment.ne("")),
        Some(false) => query.filter(responses::comment.is_null().or(responses::comment.eq(""))),
        None => query,
    };
    if let Some(cat) = q.category {
        let (lo, hi) = cat.range();
        query = query.filter(responses::score.between(lo as i32, hi as i32));
    }
    if let Some(min) = q.min_score {
        query = query.filter(responses::score.ge(min));
    }
    if let Some(max) = q.max_score {
        query = query.filter(responses::score.le(max));
    }
    if let Some(words) = &q.words {
        query = match conn {
            #[cfg(feature = "sqlite")]
            DbConn::Sqlite(_) => query.filter(
                sql::<Bool>(
                    "responses.id IN (SELECT s.response_id FROM response_search s WHERE s.id IN \
                     (SELECT rowid FROM responses_fts WHERE responses_fts MATCH ",
                )
                .bind::<Text, _>(words.fts5())
                .sql("))"),
            ),
            #[cfg(feature = "postgres")]
            DbConn::Postgresql(_) => query.filter(
                sql::<Bool>(
                    "to_tsvector('english', coalesce(responses.comment, '')) @@ plainto_tsquery('english', ",
                )
                .bind::<Text, _>(words.plain())
                .sql(")"),
            ),
        };
    }
    query = narrow!(query, &q.filter);
    if let Some(p) = &q.after {
        // Each written as a range the index can seek to (`responded_at <= ?`, `score >= ?`)
        // and the tie-break beside it: `a < x OR (a = x AND id < y)` alone made the planner
        // walk every row before the cursor, so a 1,000,000-row export slowed to 8,000 rows/s.
        let later_in_time = responses::responded_at.le(p.at).and(
            responses::responded_at
                .lt(p.at)
                .or(responses::id.lt(p.id.clone())),
        );
        query = match (q.sort, p.score) {
            (CommentSort::Lowest, Some(score)) => query.filter(
                responses::score.ge(score).and(
                    responses::score
                        .gt(score)
                        .or(responses::responded_at.le(p.at).and(
                            responses::responded_at
                                .lt(p.at)
                                .or(responses::id.lt(p.id.clone())),
                        )),
                ),
            ),
            _ => query.filter(later_in_time),
        };
    }
    query = match q.sort {
        CommentSort::Newest => query.order((responses::responded_at.desc(), responses::id.desc())),
        CommentSort::Lowest => query.order((
            responses::score.asc(),
            responses::responded_at.desc(),
            responses::id.desc(),
        )),
    };
    Ok(query.limit(q.limit).select(comment_row()).load(conn)?)
}

/// One response of a survey, as a list row (empty when there is none).
pub fn one(
    conn: &mut DbConn,
    survey_id: &SurveyId,
    response_id: &ResponseId,
) -> StoreResult<Vec<CommentRow>> {
    Ok(responses::table
        .left_join(invitations::table)
        .filter(responses::survey_id.eq(survey_id))
        .filter(responses::id.eq(response_id))
        .select(comment_row())
        .load(conn)?)
}

/// Counts a bot answer as human (`Counted`) or the reverse, by hand; every tally follows in the
/// same transaction. None when the survey has no such response.
pub fn set_status_by_hand(
    conn: &mut DbConn,
    survey_id: &SurveyId,
    response_id: &ResponseId,
    status: ResponseStatus,
    reason: &str,
    now: NaiveDateTime,
) -> StoreResult<Option<ResponseRow>> {
    let n = diesel::update(
        responses::table
            .filter(responses::id.eq(response_id))
            .filter(responses::survey_id.eq(survey_id)),
    )
    .set((
        responses::status.eq(status),
        responses::manual_status.eq(Some(status)),
        responses::status_reason.eq(reason),
        responses::updated_at.eq(now),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    Ok(Some(
        responses::table
            .find(response_id)
            .select(ResponseRow::as_select())
            .get_result(conn)?,
    ))
}

/// Sets an answer's properties (web, API and imported answers carry their own): the old ones go,
/// these come; the triggers move the property tallies along.
pub fn replace_properties(
    conn: &mut DbConn,
    id: &ResponseId,
    props: &[(String, String)],
) -> StoreResult<()> {
    use super::schema::response_properties;
    diesel::delete(response_properties::table.filter(response_properties::response_id.eq(id)))
        .execute(conn)?;
    insert_properties(conn, id, props)
}

/// Adds a new answer's properties.
pub fn insert_properties(
    conn: &mut DbConn,
    id: &ResponseId,
    props: &[(String, String)],
) -> StoreResult<()> {
    use super::schema::response_properties;
    // One row per property (at most 50): batch inserts are not available across both backends.
    for (name, value) in props {
        diesel::insert_into(response_properties::table)
            .values((
                response_properties::response_id.eq(id),
                response_properties::name.eq(name),
                response_properties::value.eq(value),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The properties of each listed response, by response id. Every response carries its own in
/// `response_properties`: a web answer's were stored with it, an email answer's were copied from
/// its transaction when it was recorded (the `insights` migration's trigger).
pub fn properties_of_comments(
    conn: &mut DbConn,
    rows: &[CommentRow],
) -> StoreResult<std::collections::HashMap<String, Vec<(String, String)>>> {
    let ids: Vec<String> = rows.iter().map(|r| r.response_id.to_string()).collect();
    let mut by_response: std::collections::HashMap<String, Vec<(String, String)>> =
        Default::default();
    for (id, name, value) in properties_of(conn, &ids)? {
        by_response.entry(id).or_default().push((name, value));
    }
    Ok(by_response)
}
