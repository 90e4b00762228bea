use super::schema::unsubscribes;
use super::{is_unique_violation, DbConn, StoreResult};
use crate::ids::SurveyId;
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub fn is_unsubscribed(
    conn: &mut DbConn,
    survey_id: &SurveyId,
    email_key: &str,
) -> StoreResult<bool> {
    let n: i64 = unsubscribes::table
        .filter(unsubscribes::survey_id.eq(survey_id))
        .filter(unsubscribes::email_key.eq(email_key))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Records the unsubscribe; doing it twice is not an error.
pub fn add(
    conn: &mut DbConn,
    survey_id: &SurveyId,
    email_key: &str,
    source: &str,
    now: NaiveDateTime,
) -> StoreResult<()> {
    let inserted = conn.transaction(|c| {
        diesel::insert_into(unsubscribes::table)
            .values((
                unsubscribes::survey_id.eq(survey_id),
                unsubscribes::email_key.eq(email_key),
                unsubscribes::source.eq(source),
                unsubscribes::created_at.eq(now),
            ))
            .execute(c)
    });
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// A page of the survey's unsubscribes, oldest first, in [since, until): (lower-cased address,
/// when).
pub fn page(
    conn: &mut DbConn,
    survey_id: &SurveyId,
    since: Option<NaiveDateTime>,
    until: Option<NaiveDateTime>,
    offset: i64,
    limit: i64,
) -> StoreResult<Vec<(String, NaiveDateTime)>> {
    let mut q = unsubscribes::table
        .filter(unsubscribes::survey_id.eq(survey_id))
        .into_boxed();
    if let Some(t) = since {
        q = q.filter(unsubscribes::created_at.ge(t));
    }
    if let Some(t) = until {
        q = q.filter(unsubscribes::created_at.lt(t));
    }
    Ok(q.order((
        unsubscribes::created_at.asc(),
        unsubscribes::email_key.asc(),
    ))
    .offset(offset)
    .limit(limit)
    .select((unsubscribes::email_key, unsubscribes::created_at))
    .load(conn)?)
}
