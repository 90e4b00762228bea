//! Figures from the per-hour tallies that follow every response and sent invitation (the
//! triggers journal each change, the projection folds the journal in: see `journal`), so that NPS for any range, a trend
//! and a breakdown read at most one row per hour instead of every response.
//!
//! Hours are UTC. A range whose ends are not on the hour (a zone with a half-hour offset) adds
//! the raw rows of its edge hours, so figures are exact either way.
//! (Over 400 lines: the hour and day tallies are read, sliced at the period's edges and summed
//! in one place, so that every figure adds up the same way.)
use super::responses::{self, ResponseFilter};
// Figures read the live views: the tallies plus the journal not folded yet (see `journal`).
use super::schema::{
    property_tallies, property_tallies_daily, property_tallies_daily_live as pd,
    property_tallies_live as pt, score_tallies_daily_live as sd, score_tallies_live as st,
};
use super::{invitations, open_range, DbConn, StoreResult};
use crate::ids::SurveyId;
use crate::state::Channel;
use chrono::{DurationRound, NaiveDateTime, TimeDelta};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use npsd_domain::nps::ScoreCounts;
use npsd_domain::score::Category;
use npsd_domain::score::Score;

/// What a range holds: counted responses per score, how many answered an email, how many have a
/// comment, how many invitations went out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub counts: ScoreCounts,
    pub by_email: u64,
    pub comments: u64,
    pub sent: u64,
}

impl Tally {
    pub fn add(&mut self, other: &Tally) {
        for (score, n) in other.counts.per_score().iter().enumerate() {
            if let Some(s) = Score::new(score as i64) {
                self.counts.add(s, *n);
            }
        }
        self.by_email += other.by_email;
        self.comments += other.comments;
        self.sent += other.sent;
    }
}

/// The sums of one group of tally rows: s0..s10, comments, sent (non-negative by construction).
const SUMS: &str = "CAST(COALESCE(SUM(s0), 0) AS BIGINT), CAST(COALESCE(SUM(s1), 0) AS BIGINT), \
    CAST(COALESCE(SUM(s2), 0) AS BIGINT), CAST(COALESCE(SUM(s3), 0) AS BIGINT), \
    CAST(COALESCE(SUM(s4), 0) AS BIGINT), CAST(COALESCE(SUM(s5), 0) AS BIGINT), \
    CAST(COALESCE(SUM(s6), 0) AS BIGINT), CAST(COALESCE(SUM(s7), 0) AS BIGINT), \
    CAST(COALESCE(SUM(s8), 0) AS BIGINT), CAST(COALESCE(SUM(s9), 0) AS BIGINT), \
    CAST(COALESCE(SUM(s10), 0) AS BIGINT), CAST(COALESCE(SUM(comments), 0) AS BIGINT), \
    CAST(COALESCE(SUM(sent), 0) AS BIGINT)";

// The eleven score counts, the comments and the invitations sent, as the sums select them.
#[rustfmt::skip]
type Sums = (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64);
#[rustfmt::skip]
type SumTypes = (BigInt, BigInt, BigInt, BigInt, BigInt, BigInt, BigInt, BigInt, BigInt, BigInt, BigInt, BigInt, BigInt);

fn tally_of(channel: &str, s: Sums) -> Tally {
    let per_score = [s.0, s.1, s.2, s.3, s.4, s.5, s.6, s.7, s.8, s.9, s.10];
    let mut counts = ScoreCounts::default();
    for (score, n) in per_score.iter().enumerate() {
        if let Some(sc) = Score::new(score as i64) {
            counts.add(sc, (*n).max(0) as u64);
        }
    }
    let responses = counts.total();
    Tally {
        by_email: if channel == Channel::Email.as_str() {
            responses
        } else {
            0
        },
        counts,
        comments: s.11.max(0) as u64,
        sent: s.12.max(0) as u64,
    }
}

fn floor_to(t: NaiveDateTime, unit: TimeDelta) -> NaiveDateTime {
    t.duration_trunc(unit).unwrap_or(t)
}

fn ceil_to(t: NaiveDateTime, unit: TimeDelta) -> NaiveDateTime {
    let f = floor_to(t, unit);
    if f == t {
        t
    } else {
        f + unit
    }
}

fn floor_hour(t: NaiveDateTime) -> NaiveDateTime {
    floor_to(t, TimeDelta::hours(1))
}

fn ceil_hour(t: NaiveDateTime) -> NaiveDateTime {
    ceil_to(t, TimeDelta::hours(1))
}

fn floor_day(t: NaiveDateTime) -> NaiveDateTime {
    floor_to(t, TimeDelta::days(1))
}

fn ceil_day(t: NaiveDateTime) -> NaiveDateTime {
    ceil_to(t, TimeDelta::days(1))
}

pub fn on_the_hour(t: NaiveDateTime) -> bool {
    floor_hour(t) == t
}

/// A range counted row by row: what the tallies cannot answer (property or verified filters,
/// or less than an hour).
pub fn raw(conn: &mut DbConn, survey_id: &SurveyId, f: &ResponseFilter) -> StoreResult<Tally> {
    let (counts, by_email) = responses::score_counts(conn, survey_id, f)?;
    let comments = responses::count_comments(conn, survey_id, f)?;
    let sent = invitations::count_sent(conn, survey_id, f)? as u64;
    Ok(Tally {
        counts,
        by_email,
        comments,
        sent,
    })
}

/// The tally of a filter's range, from the days and hours where it can and the rows where it must.
pub fn between(conn: &mut DbConn, survey_id: &SurveyId, f: &ResponseFilter) -> StoreResult<Tally> {
    if !f.tallied() {
        return raw(conn, survey_id, f);
    }
    let (from, until) = open_range(f.from, f.until);
    let (first_hour, end_hour) = (ceil_hour(from), floor_hour(until));
    if first_hour >= end_hour {
        return raw(conn, survey_id, f);
    }
    let mut tally = periods(conn, survey_id, f.channel, &[(first_hour, end_hour)])?
        .pop()
        .unwrap_or_default();
    if from < first_hour {
        tally.add(&raw(conn, survey_id, &f.between(from, first_hour))?);
    }
    if end_hour < until {
        tally.add(&raw(conn, survey_id, &f.between(end_hour, until))?);
    }
    Ok(tally)
}

/// The tally of each period `[start, end)` (whole hours, in order, not overlapping), from two
/// queries whatever their number: the daily tallies of the UTC days that lie wholly inside one
/// period, and the hourly tallies of the UTC days that a period starts or ends in (a trend in
/// Europe/Berlin starts its weeks at 23:00 UTC).
pub fn periods(
    conn: &mut DbConn,
    survey_id: &SurveyId,
    channel: Option<Channel>,
    periods: &[(NaiveDateTime, NaiveDateTime)],
) -> StoreResult<Vec<Tally>> {
    let mut out = vec![Tally::default(); periods.len()];
    let (Some(first), Some(last)) = (periods.first(), periods.last()) else {
        return Ok(out);
    };
    let (from, until) = (first.0, last.1);
    // UTC days cut by a period boundary (or by the range's ends) are read hour by hour.
    let mut cut_days: Vec<NaiveDateTime> = periods
        .iter()
        .flat_map(|&(start, end)| [start, end])
        .filter(|&t| floor_day(t) != t)
        .map(floor_day)
        .collect();
    cut_days.dedup();
    let (days_from, days_until) = (ceil_day(from), floor_day(until));
    let mut rows: Vec<(NaiveDateTime, Tally)> = Vec::new();
    if days_from < days_until {
        rows.extend(
            day_rows(
                conn,
                survey_id,
                channel,
                days_from,
                days_until,
                periods.len() > 1,
            )?
            .into_iter()
            .filter(|(day, _)| cut_days.binary_search(day).is_err()),
        );
    }
    let hour_ranges: Vec<(NaiveDateTime, NaiveDateTime)> = cut_days
        .iter()
        .map(|&d| (d.max(from), (d + TimeDelta::days(1)).min(until)))
        .filter(|(a, b)| a < b)
        .collect();
    rows.extend(hour_rows(conn, survey_id, channel, &hour_ranges)?);
    for (at, t) in &rows {
        // The last period starting at or before this day or hour holds it.
        let i = periods.partition_point(|p| p.0 <= *at);
        if i > 0 && *at < periods[i - 1].1 {
            out[i - 1].add(t);
        }
    }
    Ok(out)
}

/// Rows of (hour or day, channel, sums) folded into one tally per hour or day.
fn fold(rows: Vec<(NaiveDateTime, String, Sums)>) -> Vec<(NaiveDateTime, Tally)> {
    let mut out: Vec<(NaiveDateTime, Tally)> = Vec::with_capacity(rows.len());
    for (at, channel, sums) in rows {
        let t = tally_of(&channel, sums);
        match out.last_mut() {
            Some((h, acc)) if *h == at => acc.add(&t),
            _ => out.push((at, t)),
        }
    }
    out
}

/// One tally per UTC day of `from..until` (both on midnight) that has any (`per_day`), or one
/// for all of them, keyed by the first day (a single period: summed by the database).
fn day_rows(
    conn: &mut DbConn,
    survey_id: &SurveyId,
    channel: Option<Channel>,
    from: NaiveDateTime,
    until: NaiveDateTime,
    per_day: bool,
) -> StoreResult<Vec<(NaiveDateTime, Tally)>> {
    let base = sd::table
        .filter(sd::survey_id.eq(survey_id))
        .filter(sd::day.ge(from))
        .filter(sd::day.lt(until));
    let rows = if per_day {
        let mut q = base
            .group_by((sd::day, sd::channel))
            .select((sd::day, sd::channel, sql::<SumTypes>(SUMS)))
            .order(sd::day)
            .into_boxed();
        if let Some(c) = channel {
            q = q.filter(sd::channel.eq(c.as_str()));
        }
        q.load(conn)?
    } else {
        let mut q = base
            .group_by(sd::channel)
            .select((
                sql::<diesel::sql_types::Timestamp>("MIN(day)"),
                sd::channel,
                sql::<SumTypes>(SUMS),
            ))
            .into_boxed();
        if let Some(c) = channel {
            q = q.filter(sd::channel.eq(c.as_str()));
        }
        let mut rows: Vec<(NaiveDateTime, String, Sums)> = q.load(conn)?;
        // One key for the channels' sums, so they fold into one tally.
        rows.iter_mut().for_each(|r| r.0 = from);
        rows
    };
    Ok(fold(rows))
}

/// One tally per hour inside any of `ranges` (whole hours, in order), in one query.
fn hour_rows(
    conn: &mut DbConn,
    survey_id: &SurveyId,
    channel: Option<Channel>,
    ranges: &[(NaiveDateTime, NaiveDateTime)],
) -> StoreResult<Vec<(NaiveDateTime, Tally)>> {
    if ranges.is_empty() {
        return Ok(Vec::new());
    }
    let channel = channel.map(|c| c.as_str());
    let mut q = st::table
        .group_by((st::hour, st::channel))
        .select((st::hour, st::channel, sql::<SumTypes>(SUMS)))
        .order(st::hour)
        .into_boxed();
    // (survey AND range AND channel) OR (survey AND range AND channel) ...: each branch an
    // index range of its own.
    for (i, &(a, b)) in ranges.iter().enumerate() {
        let branch = st::survey_id
            .eq(survey_id)
            .and(st::hour.ge(a))
            .and(st::hour.lt(b))
            .and(
                st::channel
                    .eq(channel.unwrap_or(""))
                    .or(channel.is_none().into_sql::<diesel::sql_types::Bool>()),
            );
        q = if i == 0 {
            q.filter(branch)
        } else {
            q.or_filter(branch)
        };
    }
    Ok(fold(q.load(conn)?))
}

/// Promoters, passives and detractors per value of one property over a range, from the hourly
/// (`pt`, `hour`) or the daily (`pd`, `day`) property tallies.
macro_rules! segment_sums {
    ($t:ident, $time:ident, $conn:expr, $survey:expr, $by:expr, $channel:expr, $from:expr, $until:expr) => {{
        let mut q = $t::table
            .filter($t::survey_id.eq($survey))
            .filter($t::name.eq($by))
            .filter($t::$time.ge($from))
            .filter($t::$time.lt($until))
            .group_by($t::value)
            .select((
                $t::value,
                sql::<(BigInt, BigInt, BigInt)>(
                    "CAST(COALESCE(SUM(promoters), 0) AS BIGINT), \
                     CAST(COALESCE(SUM(passives), 0) AS BIGINT), \
                     CAST(COALESCE(SUM(detractors), 0) AS BIGINT)",
                ),
            ))
            .into_boxed();
        if let Some(c) = $channel {
            q = q.filter($t::channel.eq(c.as_str()));
        }
        let rows: Vec<(String, (i64, i64, i64))> = q.load($conn)?;
        rows
    }};
}

/// Promoters, passives and detractors per value of property `by`.
pub type Segments = std::collections::BTreeMap<String, [u64; 3]>;

/// The counted responses per value of property `by` over the filter's range.
pub fn segments(
    conn: &mut DbConn,
    survey_id: &SurveyId,
    f: &ResponseFilter,
    by: &str,
) -> StoreResult<Segments> {
    let mut out = Segments::new();
    let add_raw = |conn: &mut DbConn, f: &ResponseFilter, out: &mut Segments| {
        for (value, score, n) in responses::breakdown_counts(conn, survey_id, f, by)? {
            let slot = out.entry(value).or_default();
            let i = match Category::of(score) {
                Category::Promoter => 0,
                Category::Passive => 1,
                Category::Detractor => 2,
            };
            slot[i] += n.max(0) as u64;
        }
        StoreResult::Ok(())
    };
    if !f.tallied() {
        add_raw(conn, f, &mut out)?;
        return Ok(out);
    }
    let (from, until) = open_range(f.from, f.until);
    let (first_hour, end_hour) = (ceil_hour(from), floor_hour(until));
    if first_hour >= end_hour {
        add_raw(conn, f, &mut out)?;
        return Ok(out);
    }
    // Whole UTC days from the daily tallies, the hours before the first and after the last from
    // the hourly ones.
    let (first_day, end_day) = (ceil_day(first_hour), floor_day(end_hour));
    let mut rows: Vec<(String, (i64, i64, i64))> = Vec::new();
    let hour_ranges: &[(NaiveDateTime, NaiveDateTime)] = if first_day < end_day {
        rows.extend(segment_sums!(
            pd, day, conn, survey_id, by, f.channel, first_day, end_day
        ));
        &[(first_hour, first_day), (end_day, end_hour)]
    } else {
        &[(first_hour, end_hour)]
    };
    for &(a, b) in hour_ranges.iter().filter(|(a, b)| a < b) {
        rows.extend(segment_sums!(
            pt, hour, conn, survey_id, by, f.channel, a, b
        ));
    }
    for (value, (p, pa, d)) in rows {
        let slot = out.entry(value).or_default();
        slot[0] += p.max(0) as u64;
        slot[1] += pa.max(0) as u64;
        slot[2] += d.max(0) as u64;
    }
    if from < first_hour {
        add_raw(conn, &f.between(from, first_hour), &mut out)?;
    }
    if end_hour < until {
        add_raw(conn, &f.between(end_hour, until), &mut out)?;
    }
    out.retain(|_, c| c.iter().sum::<u64>() > 0);
    Ok(out)
}

/// The property names a survey's counted responses carry, for a "break down by" choice.
pub fn property_names(conn: &mut DbConn, survey_id: &SurveyId) -> StoreResult<Vec<String>> {
    Ok(pt::table
        .filter(pt::survey_id.eq(survey_id))
        .select(pt::name)
        .distinct()
        .order(pt::name)
        .load(conn)?)
}

/// The values property `name` takes in a survey's counted responses.
pub fn property_values(
    conn: &mut DbConn,
    survey_id: &SurveyId,
    name: &str,
) -> StoreResult<Vec<String>> {
    Ok(pt::table
        .filter(pt::survey_id.eq(survey_id))
        .filter(pt::name.eq(name))
        .select(pt::value)
        .distinct()
        .order(pt::value)
        .limit(500)
        .load(conn)?)
}

/// Erasure: drops the property tally rows of these (survey id, name, value)s that no counted
/// answer is in any more, hourly and daily (the journal folded first). Once an erased person's answers are gone (the
/// triggers take them out of the counts), a value only they gave is left in rows of zeros, and
/// [`property_names`] and [`property_values`] would still offer it; a value others gave too
/// stays with their counts.
pub fn drop_uncounted(conn: &mut DbConn, values: &[(String, String, String)]) -> StoreResult<()> {
    // The same statement on the hourly and the daily table.
    macro_rules! drop_zeros {
        ($t:ident, $survey_id:expr, $name:expr, $value:expr) => {
            diesel::delete(
                $t::table
                    .filter($t::survey_id.eq($survey_id))
                    .filter($t::name.eq($name))
                    .filter($t::value.eq($value))
                    .filter($t::promoters.eq(0))
                    .filter($t::passives.eq(0))
                    .filter($t::detractors.eq(0)),
            )
            .execute(conn)?
        };
    }
    use property_tallies as hourly;
    use property_tallies_daily as daily;
    for (survey_id, name, value) in values {
        drop_zeros!(hourly, survey_id, name, value);
        drop_zeros!(daily, survey_id, name, value);
    }
    Ok(())
}
