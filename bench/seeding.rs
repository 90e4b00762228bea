#![allow(dead_code)] // Each example uses its part: `seed` both, `insights` the responses.
//! Seeding a benchmark database, shared by the `seed` example (bench/run.py) and the `insights`
//! example.
//!
//! - Link tokens go in as the store's own rows (`InvitationRow` and the schema's tables), through
//!   the triggers: the rows a delivered survey email leaves. (Through the whole ingest, a dozen
//!   statements a row, 340,000 of them took minutes on PostgreSQL.)
//! - Responses by the million go in as one INSERT ... SELECT per chunk (generate_series on
//!   PostgreSQL, a recursive CTE on SQLite) over the store's own connection: row by row would take
//!   hours. On PostgreSQL the row triggers are off meanwhile and the tallies are filled after by
//!   the migrations' own backfill queries (bench/pg_tally_backfill.sql).
use chrono::{NaiveDate, NaiveDateTime};
use diesel::connection::SimpleConnection;
use diesel::{Connection, ExpressionMethods, RunQueryDsl};
use npsd::domain::token::{LinkPurpose, Token};
use npsd::store::ids::{InvitationId, SurveyId};
use npsd::store::invitations::{self as store_invitations, InvitationRow};
use npsd::store::schema::{invitation_properties, invitation_tokens, invitations};
use npsd::store::state::InvitationStatus;
use npsd::store::surveys::SurveyRow;
use npsd::store::{DbConn, StoreResult};
use std::time::Instant;

/// The plans the seeded rows carry, in turn.
pub const PLANS: [&str; 4] = ["free", "pro", "team", "enterprise"];

/// Sent invitations with one answer token each (`tokens` are the secrets a link carries), a
/// `plan` property each, as if their survey emails went out an hour before `now`; the links work
/// for a year. Addresses are `t{i}.{tag}@example.com`, one each. The rows are the store's own
/// types (`InvitationRow`, the schema's tables), through the triggers: the rows a delivered
/// survey email leaves. SQLite takes them one by one (`invitations::add_token` for the token);
/// PostgreSQL 1,000 to a statement (a statement a row, 340,000 rows took minutes there).
pub fn link_tokens(
    conn: &mut DbConn,
    survey: &SurveyRow,
    tokens: &[String],
    tag: &str,
    first: usize,
    now: NaiveDateTime,
) -> StoreResult<()> {
    let created = now - chrono::Duration::minutes(65);
    let sent_at = now - chrono::Duration::hours(1);
    let expires = now + chrono::Duration::days(365);
    let rows: Vec<InvitationRow> = (first..first + tokens.len())
        .map(|i| {
            let email = format!("t{i}.{tag}@example.com");
            InvitationRow {
                id: InvitationId::generate(),
                survey_id: survey.id.clone(),
                transaction_id: format!("{tag}-tok-{i}"),
                email: email.clone(),
                email_key: email,
                name: None,
                locale: survey.locale.clone(),
                status: InvitationStatus::Sent,
                reason: None,
                skip_reason: None,
                send_at: created,
                sent_at: Some(sent_at),
                message_id: format!("{i}.{tag}@bench.example"),
                created_at: created,
                updated_at: sent_at,
            }
        })
        .collect();
    let plans: Vec<_> = rows
        .iter()
        .enumerate()
        .map(|(k, r)| {
            (
                invitation_properties::invitation_id.eq(&r.id),
                invitation_properties::name.eq("plan"),
                invitation_properties::value.eq(PLANS[(first + k) % 4]),
            )
        })
        .collect();
    let hashes: Vec<String> = tokens
        .iter()
        .map(|t| Token::from_secret(t).hash())
        .collect();
    match conn {
        DbConn::Postgresql(pg) => {
            // PostgreSQL takes at most 65,535 parameters a statement.
            for chunk in rows.chunks(1_000) {
                diesel::insert_into(invitations::table)
                    .values(chunk)
                    .execute(pg)?;
            }
            for chunk in plans.chunks(1_000) {
                diesel::insert_into(invitation_properties::table)
                    .values(chunk)
                    .execute(pg)?;
            }
            let links: Vec<_> = rows
                .iter()
                .zip(&hashes)
                .map(|(r, hash)| {
                    (
                        invitation_tokens::token_hash.eq(hash),
                        invitation_tokens::invitation_id.eq(&r.id),
                        invitation_tokens::created_at.eq(sent_at),
                        invitation_tokens::expires_at.eq(expires),
                        invitation_tokens::purpose.eq(LinkPurpose::Answer.as_str()),
                    )
                })
                .collect();
            for chunk in links.chunks(1_000) {
                diesel::insert_into(invitation_tokens::table)
                    .values(chunk)
                    .execute(pg)?;
            }
        }
        DbConn::Sqlite(_) => {
            for ((row, plan), hash) in rows.iter().zip(&plans).zip(&hashes) {
                diesel::insert_into(invitations::table)
                    .values(row)
                    .execute(conn)?;
                diesel::insert_into(invitation_properties::table)
                    .values(*plan)
                    .execute(conn)?;
                store_invitations::add_token(
                    conn,
                    &row.id,
                    hash,
                    LinkPurpose::Answer,
                    sent_at,
                    expires,
                )?;
            }
        }
    }
    Ok(())
}

/// Responses `from..to` of `rows` spread evenly over 365 days from `start`: a third web answers,
/// a tenth with a comment, properties `plan` and `country`; ids `b{n}`.
pub fn responses_sql(
    sqlite: bool,
    survey_id: &SurveyId,
    start: NaiveDate,
    from: u64,
    to: u64,
    rows: u64,
) -> String {
    // Seconds between two responses, so that `rows` fill a year.
    let step = 365.0 * 86_400.0 / rows as f64;
    let when = if sqlite {
        format!("strftime('%Y-%m-%d %H:%M:%S', '{start}', '+' || CAST(n * {step} AS INTEGER) || ' seconds')")
    } else {
        format!("timestamp '{start}' + (n * {step}) * interval '1 second'")
    };
    let series = if sqlite {
        format!(
            "WITH RECURSIVE s(n) AS (SELECT {from} UNION ALL SELECT n + 1 FROM s WHERE n < {}) ",
            to - 1
        )
    } else {
        String::new()
    };
    let source = if sqlite {
        "FROM s".to_string()
    } else {
        format!("FROM generate_series({from}::bigint, {}) AS s(n)", to - 1)
    };
    let plan = if sqlite {
        "CASE n % 4 WHEN 0 THEN 'free' WHEN 1 THEN 'pro' WHEN 2 THEN 'team' ELSE 'enterprise' END"
    } else {
        "(ARRAY['free','pro','team','enterprise'])[1 + n % 4]"
    };
    let country = if sqlite {
        "CASE n % 5 WHEN 0 THEN 'DE' WHEN 1 THEN 'US' WHEN 2 THEN 'FR' WHEN 3 THEN 'GB' ELSE 'NL' END"
    } else {
        "(ARRAY['DE','US','FR','GB','NL'])[1 + n % 5]"
    };
    format!(
        "BEGIN;
        {series}INSERT INTO responses (id, survey_id, channel, score, comment, status, responded_at, created_at, updated_at, verified)
            SELECT 'b' || n, '{survey_id}', CASE WHEN n % 3 = 0 THEN 'web' ELSE 'email' END,
                   (n * 7919 + n / 7) % 11,
                   CASE WHEN n % 10 = 0 THEN 'delivery was slow ' || (n % 97) END,
                   'counted', {when}, {when}, {when}, FALSE
            {source};
        {series}INSERT INTO response_properties (response_id, name, value) SELECT 'b' || n, 'plan', {plan} {source};
        {series}INSERT INTO response_properties (response_id, name, value) SELECT 'b' || n, 'country', {country} {source};
        COMMIT;"
    )
}

/// The tallies recomputed from the rows after a seed with the triggers off (PostgreSQL): the
/// migrations' own backfill queries.
const PG_BACKFILL: &str = include_str!("pg_tally_backfill.sql");

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// How many responses the survey holds.
pub fn count(conn: &mut DbConn, survey_id: &SurveyId) -> i64 {
    diesel::sql_query(format!(
        "SELECT COUNT(*) AS n FROM responses WHERE survey_id = '{survey_id}'"
    ))
    .get_result::<Count>(conn)
    .map(|c| c.n)
    .unwrap_or(0)
}

/// Seeds responses `have..rows` (see [`responses_sql`]) in chunks of one transaction each (on
/// SQLite through the triggers, each chunk's tally journal folded after it), then ANALYZE; answers the seconds it took. Progress goes to stderr.
pub fn responses(
    conn: &mut DbConn,
    sqlite: bool,
    survey_id: &SurveyId,
    start: NaiveDate,
    have: u64,
    rows: u64,
) -> f64 {
    let chunk = 250_000;
    let started = Instant::now();
    // PostgreSQL's row triggers take ~4,000 rows/s in bulk (45 minutes for 10 million): there the
    // seed goes in with triggers off and the tallies are filled by the migration's own backfill
    // query afterwards. SQLite seeds through the triggers.
    if !sqlite {
        conn.batch_execute("SET session_replication_role = replica")
            .expect("triggers off");
    }
    let mut from = have;
    while from < rows {
        let to = (from + chunk).min(rows);
        conn.batch_execute(&responses_sql(sqlite, survey_id, start, from, to, rows))
            .expect("seed chunk");
        if sqlite {
            // The chunk's tally changes folded in, as the service's projection would.
            conn.transaction(|c| npsd::store::journal::fold_all(c, true))
                .expect("fold the tally journal");
        }
        from = to;
        eprintln!(
            "seed: {from}/{rows} responses ({:.0} rows/s)",
            (from - have) as f64 / started.elapsed().as_secs_f64()
        );
    }
    if !sqlite {
        conn.batch_execute(&PG_BACKFILL.replace("{survey}", survey_id.as_str()))
            .expect("tallies");
        conn.batch_execute("SET session_replication_role = DEFAULT")
            .expect("triggers on");
    }
    conn.batch_execute("ANALYZE").expect("analyze");
    started.elapsed().as_secs_f64()
}
