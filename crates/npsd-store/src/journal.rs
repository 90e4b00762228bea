//! The tally journal and its projection (issue 20).
//!
//! Every change to a counted response, its properties or an invitation's sending appends its
//! deltas to `tally_journal` and `property_tally_journal` (the triggers of the `tally_journal`
//! migration): inserts that no other write waits for, where the triggers used to add them to the
//! survey's tally rows of the hour and the day, rows every answer of that hour updated.
//!
//! [`fold`] moves the journal into the tallies in batches. Each batch leaves the journal in the
//! same transaction (on PostgreSQL the same statement) that adds it to the tallies, so a journal
//! row is counted exactly once: a crash rolls both back, and a second folder either waits its turn
//! or finds nothing. Figures read the `*_live` views (tallies plus the journal not folded yet), so
//! they include an answer the moment it is committed, however far the projection is behind.
use super::{DbConn, StoreResult};
use diesel::prelude::*;
use diesel::sql_types::BigInt;

/// The most journal rows of each kind one fold takes.
pub const FOLD_BATCH: i64 = 5_000;

/// The key of the lock that lets one folder at a time run on PostgreSQL, across instances.
#[cfg(feature = "postgres")]
const POSTGRES_FOLD_LOCK: i64 = 7_231_642_003;

const SCORES: [&str; 13] = [
    "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "comments", "sent",
];
const CATEGORIES: [&str; 3] = ["promoters", "passives", "detractors"];

/// `INSERT INTO <table> ... SELECT ... FROM <source> [WHERE ...] GROUP BY ... ON CONFLICT DO UPDATE`
/// adding the source's sums to the table's rows of the same key.
fn add_into(table: &str, keys: &[&str], grain: &str, columns: &[&str], source: &str) -> String {
    let mut key: Vec<&str> = keys.to_vec();
    key.push(grain);
    key.push("channel");
    let key = key.join(", ");
    let cols = columns.join(", ");
    let sums = columns
        .iter()
        .map(|c| format!("SUM({c})"))
        .collect::<Vec<_>>()
        .join(", ");
    let sets = columns
        .iter()
        .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO {table} ({key}, {cols}) SELECT {key}, {sums} FROM {source} GROUP BY {key} \
         ON CONFLICT ({key}) DO UPDATE SET {sets}"
    )
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Folds at most [`FOLD_BATCH`] rows of each journal into the tallies, oldest first, inside the
/// caller's write transaction; answers how many rows it folded (0: nothing to do, or on
/// PostgreSQL another folder holds the turn). `exclusive`: the caller's transaction already
/// excludes every other write (an erasure), so no turn is asked for.
pub fn fold(conn: &mut DbConn, exclusive: bool) -> StoreResult<usize> {
    let _ = exclusive;
    match conn {
        #[cfg(feature = "postgres")]
        DbConn::Postgresql(c) => {
            if !exclusive {
                #[derive(QueryableByName)]
                struct Turn {
                    #[diesel(sql_type = diesel::sql_types::Bool)]
                    got: bool,
                }
                let turn: Turn = diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS got")
                    .bind::<BigInt, _>(POSTGRES_FOLD_LOCK)
                    .get_result(c)?;
                if !turn.got {
                    return Ok(0);
                }
            }
            // One statement per journal: the rows it deletes are the rows it adds, whatever
            // commits meanwhile (a data-modifying CTE sees one snapshot).
            let mut folded = 0;
            for (journal, tables, keys, columns) in [
                (
                    "tally_journal",
                    ["score_tallies", "score_tallies_daily"],
                    &[][..],
                    &SCORES[..],
                ),
                (
                    "property_tally_journal",
                    ["property_tallies", "property_tallies_daily"],
                    &["name", "value"][..],
                    &CATEGORIES[..],
                ),
            ] {
                // The batch's last id is computed once (an `IN (subquery)` was planned as a
                // nested loop over a journal the statistics think empty: seconds per fold).
                let statement = format!(
                    "WITH moved AS (DELETE FROM {journal} WHERE id <= \
                     (SELECT MAX(id) FROM (SELECT id FROM {journal} ORDER BY id LIMIT $1) b) \
                     RETURNING *), \
                     hourly AS ({hourly} RETURNING 1), daily AS ({daily} RETURNING 1) \
                     SELECT COUNT(*) AS n FROM moved",
                    hourly = add_into(tables[0], &with_survey(keys), "hour", columns, "moved"),
                    daily = add_into(tables[1], &with_survey(keys), "day", columns, "moved"),
                );
                let n: Count = diesel::sql_query(statement)
                    .bind::<BigInt, _>(FOLD_BATCH)
                    .get_result(c)?;
                folded += n.n as usize;
            }
            Ok(folded)
        }
        #[cfg(feature = "sqlite")]
        DbConn::Sqlite(c) => {
            // One writer: nothing is appended between these statements.
            let mut folded = 0;
            for (journal, tables, keys, columns) in [
                (
                    "tally_journal",
                    ["score_tallies", "score_tallies_daily"],
                    &[][..],
                    &SCORES[..],
                ),
                (
                    "property_tally_journal",
                    ["property_tallies", "property_tallies_daily"],
                    &["name", "value"][..],
                    &CATEGORIES[..],
                ),
            ] {
                let last: Option<Count> = diesel::sql_query(format!(
                    "SELECT MAX(id) AS n FROM (SELECT id FROM {journal} ORDER BY id LIMIT ?) \
                     HAVING COUNT(*) > 0"
                ))
                .bind::<BigInt, _>(FOLD_BATCH)
                .get_result(c)
                .optional()?;
                let Some(last) = last else { continue };
                // `WHERE true`: SQLite reads an upsert's SELECT with a bare FROM ambiguously.
                let source = format!("{journal} WHERE id <= {} AND true", last.n);
                for (table, grain) in [(tables[0], "hour"), (tables[1], "day")] {
                    diesel::sql_query(add_into(table, &with_survey(keys), grain, columns, &source))
                        .execute(c)?;
                }
                folded += diesel::sql_query(format!("DELETE FROM {journal} WHERE id <= ?"))
                    .bind::<BigInt, _>(last.n)
                    .execute(c)?;
            }
            Ok(folded)
        }
    }
}

fn with_survey<'a>(keys: &[&'a str]) -> Vec<&'a str> {
    let mut out = vec!["survey_id"];
    out.extend_from_slice(keys);
    out
}

/// Folds until the journal is empty (an erasure, the tests, a command before it exits).
pub fn fold_all(conn: &mut DbConn, exclusive: bool) -> StoreResult<usize> {
    let mut total = 0;
    loop {
        let n = fold(conn, exclusive)?;
        total += n;
        if n == 0 {
            return Ok(total);
        }
    }
}

/// Whether either journal holds a row: a read, so that an idle projection takes no write lock.
pub fn has_backlog(conn: &mut DbConn) -> StoreResult<bool> {
    #[derive(QueryableByName)]
    struct Any {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        any: bool,
    }
    let row: Any = diesel::sql_query(
        "SELECT (EXISTS (SELECT 1 FROM tally_journal) \
         OR EXISTS (SELECT 1 FROM property_tally_journal)) AS any",
    )
    .get_result(conn)?;
    Ok(row.any)
}

/// How many journal rows wait to be folded (both journals).
pub fn backlog(conn: &mut DbConn) -> StoreResult<i64> {
    let n: Count = diesel::sql_query(
        "SELECT (SELECT COUNT(*) FROM tally_journal) + (SELECT COUNT(*) FROM property_tally_journal) AS n",
    )
    .get_result(conn)?;
    Ok(n.n)
}

/// The tables whose statistics decide the plans of every answer and ingest.
#[cfg(feature = "postgres")]
const PLANNED_TABLES: [&str; 8] = [
    "responses",
    "link_events",
    "response_properties",
    "invitations",
    "invitation_properties",
    "invitation_tokens",
    "outbox",
    "people",
];

/// PostgreSQL: ANALYZEs the tables above that have more than doubled (and grown by over 1,000
/// rows) since their statistics were taken; answers their names. Autovacuum gets there too, but
/// only after a minute or more, and a young table's plans meanwhile (made when it was empty, and
/// cached by every connection's prepared statements and the triggers) scan it row by row:
/// measured on a new database, 725 score clicks/s before the first ANALYZE of `responses`, 2,029
/// after. Doubling keeps it to a few ANALYZEs over a table's life. Nothing to do on SQLite, whose
/// planner does not turn to scans without statistics.
pub fn analyze_grown(conn: &mut DbConn) -> StoreResult<Vec<String>> {
    match conn {
        #[cfg(feature = "postgres")]
        DbConn::Postgresql(c) => {
            #[derive(QueryableByName)]
            struct Grown {
                #[diesel(sql_type = diesel::sql_types::Text)]
                relname: String,
            }
            let grown: Vec<Grown> = diesel::sql_query(
                "SELECT relname::text AS relname FROM pg_stat_user_tables \
                 WHERE schemaname = current_schema() AND relname = ANY($1) \
                 AND n_mod_since_analyze > GREATEST(1000, n_live_tup - n_mod_since_analyze)",
            )
            .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(
                PLANNED_TABLES
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>(),
            )
            .load(c)?;
            for t in &grown {
                // The name comes from the fixed list above.
                diesel::sql_query(format!("ANALYZE {}", t.relname)).execute(c)?;
            }
            Ok(grown.into_iter().map(|g| g.relname).collect())
        }
        #[cfg(feature = "sqlite")]
        DbConn::Sqlite(_) => Ok(Vec::new()),
    }
}
