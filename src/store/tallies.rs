//! Figures from the per-hour tallies that the database's triggers keep in step with every
//! response and sent invitation (see the `insights` migration), so that NPS for any range, a trend
//! and a breakdown read at most one row per hour instead of every response.
//!
//! Hours are UTC. A range whose ends are not on the hour (a zone with a half-hour offset) adds
//! the raw rows of its edge hours, so figures are exact either way.
use super::responses::{self, ResponseFilter};
use super::schema::{property_tallies as pt, score_tallies as st};
use super::{invitations, open_range, DbConn, StoreResult};
use crate::domain::nps::ScoreCounts;
use crate::domain::score::Score;
use crate::domain::state::Channel;
use chrono::{DurationRound, NaiveDateTime, TimeDelta};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};

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

type Sums = (
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
);
type SumTypes = (
    BigInt,
    BigInt,
    BigInt,
    BigInt,
    BigInt,
    BigInt,
    BigInt,
    BigInt,
    BigInt,
    BigInt,
    BigInt,
    BigInt,
    BigInt,
);

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

fn floor_hour(t: NaiveDateTime) -> NaiveDateTime {
    t.duration_trunc(TimeDelta::hours(1)).unwrap_or(t)
}

fn ceil_hour(t: NaiveDateTime) -> NaiveDateTime {
    let f = floor_hour(t);
    if f == t {
        t
    } else {
        f + TimeDelta::hours(1)
    }
}

pub fn on_the_hour(t: NaiveDateTime) -> bool {
    floor_hour(t) == t
}

/// A range counted row by row: what the tallies cannot answer (property or verified filters,
/// or less than an hour).
pub fn raw(conn: &mut DbConn, survey_id: &str, f: &ResponseFilter) -> StoreResult<Tally> {
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

/// The tally of a filter's range, from the hours where it can and the rows where it must.
pub fn between(conn: &mut DbConn, survey_id: &str, f: &ResponseFilter) -> StoreResult<Tally> {
    if !f.tallied() {
        return raw(conn, survey_id, f);
    }
    let (from, until) = open_range(f.from, f.until);
    let (first_hour, end_hour) = (ceil_hour(from), floor_hour(until));
    if first_hour >= end_hour {
        return raw(conn, survey_id, f);
    }
    let mut tally = Tally::default();
    for (_, t) in hours(conn, survey_id, f.channel, first_hour, end_hour, false)? {
        tally.add(&t);
    }
    if from < first_hour {
        tally.add(&raw(conn, survey_id, &f.between(from, first_hour))?);
    }
    if end_hour < until {
        tally.add(&raw(conn, survey_id, &f.between(end_hour, until))?);
    }
    Ok(tally)
}

/// The tallies of whole hours `from..until`: one per hour (`per_hour`), or one for the range,
/// keyed by the range's start.
pub fn hours(
    conn: &mut DbConn,
    survey_id: &str,
    channel: Option<Channel>,
    from: NaiveDateTime,
    until: NaiveDateTime,
    per_hour: bool,
) -> StoreResult<Vec<(NaiveDateTime, Tally)>> {
    let base = st::table
        .filter(st::survey_id.eq(survey_id))
        .filter(st::hour.ge(from))
        .filter(st::hour.lt(until));
    let channel = channel.map(|c| c.as_str());
    let rows: Vec<(NaiveDateTime, String, Sums)> = if per_hour {
        let mut q = base
            .group_by((st::hour, st::channel))
            .select((st::hour, st::channel, sql::<SumTypes>(SUMS)))
            .order(st::hour)
            .into_boxed();
        if let Some(c) = channel {
            q = q.filter(st::channel.eq(c));
        }
        q.load(conn)?
    } else {
        let mut q = base
            .group_by(st::channel)
            .select((
                sql::<Timestamp>("MIN(hour)"),
                st::channel,
                sql::<SumTypes>(SUMS),
            ))
            .into_boxed();
        if let Some(c) = channel {
            q = q.filter(st::channel.eq(c));
        }
        q.load(conn)?
    };
    let mut out: Vec<(NaiveDateTime, Tally)> = Vec::with_capacity(rows.len());
    for (hour, channel, sums) in rows {
        let t = tally_of(&channel, sums);
        let key = if per_hour { hour } else { from };
        match out.last_mut() {
            Some((h, acc)) if *h == key => acc.add(&t),
            _ => out.push((key, t)),
        }
    }
    Ok(out)
}

/// Promoters, passives and detractors per value of property `by`.
pub type Segments = std::collections::BTreeMap<String, [u64; 3]>;

/// The counted responses per value of property `by` over the filter's range.
pub fn segments(
    conn: &mut DbConn,
    survey_id: &str,
    f: &ResponseFilter,
    by: &str,
) -> StoreResult<Segments> {
    let mut out = Segments::new();
    let add_raw = |conn: &mut DbConn, f: &ResponseFilter, out: &mut Segments| {
        for (value, score, n) in responses::breakdown_counts(conn, survey_id, f, by)? {
            let slot = out.entry(value).or_default();
            let i = match score {
                9..=10 => 0,
                7..=8 => 1,
                _ => 2,
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
    let mut q = pt::table
        .filter(pt::survey_id.eq(survey_id))
        .filter(pt::name.eq(by))
        .filter(pt::hour.ge(first_hour))
        .filter(pt::hour.lt(end_hour))
        .group_by(pt::value)
        .select((
            pt::value,
            sql::<(BigInt, BigInt, BigInt)>(
                "CAST(COALESCE(SUM(promoters), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(passives), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(detractors), 0) AS BIGINT)",
            ),
        ))
        .into_boxed();
    if let Some(c) = f.channel {
        q = q.filter(pt::channel.eq(c.as_str()));
    }
    let rows: Vec<(String, (i64, i64, i64))> = q.load(conn)?;
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
pub fn property_names(conn: &mut DbConn, survey_id: &str) -> StoreResult<Vec<String>> {
    Ok(pt::table
        .filter(pt::survey_id.eq(survey_id))
        .select(pt::name)
        .distinct()
        .order(pt::name)
        .load(conn)?)
}

/// The values property `name` takes in a survey's counted responses.
pub fn property_values(conn: &mut DbConn, survey_id: &str, name: &str) -> StoreResult<Vec<String>> {
    Ok(pt::table
        .filter(pt::survey_id.eq(survey_id))
        .filter(pt::name.eq(name))
        .select(pt::value)
        .distinct()
        .order(pt::value)
        .limit(500)
        .load(conn)?)
}
