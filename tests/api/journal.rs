//! The tally journal (issue 20): answers append their tally changes, the projection folds them in.
//! Two instances folding at once, while answers arrive and change, count every change exactly
//! once: the tally tables alone (without the journal) equal the counted rows once folded.
use crate::backend_tests;
use crate::helpers::{Backend, TestApp};
use crate::insights::SHOP;
use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl};
use npsd::store::{journal, DatabaseUrl, DbConn, Store, StoreResult};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(QueryableByName)]
struct Pair {
    #[diesel(sql_type = Text)]
    k: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn pairs(conn: &mut DbConn, sql: &str) -> StoreResult<BTreeMap<String, i64>> {
    Ok(diesel::sql_query(sql)
        .load::<Pair>(conn)?
        .into_iter()
        .filter(|p| p.n != 0)
        .map(|p| (p.k, p.n))
        .collect())
}

/// Per score (and comments, sent) from one tally table, and from the rows.
fn score_sums(table: &str) -> String {
    let mut parts: Vec<String> = (0..=10)
        .map(|i| {
            format!("SELECT 's{i}' AS k, CAST(COALESCE(SUM(s{i}), 0) AS BIGINT) AS n FROM {table}")
        })
        .collect();
    parts.push(format!(
        "SELECT 'comments' AS k, CAST(COALESCE(SUM(comments), 0) AS BIGINT) AS n FROM {table}"
    ));
    parts.join(" UNION ALL ")
}

fn score_rows() -> String {
    let mut parts: Vec<String> = (0..=10)
        .map(|i| {
            format!(
                "SELECT 's{i}' AS k, CAST(COUNT(*) AS BIGINT) AS n FROM responses \
                 WHERE status = 'counted' AND score = {i}"
            )
        })
        .collect();
    parts.push(
        "SELECT 'comments' AS k, CAST(COUNT(*) AS BIGINT) AS n FROM responses \
         WHERE status = 'counted' AND comment IS NOT NULL AND comment <> ''"
            .to_string(),
    );
    parts.join(" UNION ALL ")
}

/// Per plan value and category, from one property tally table, and from the rows.
fn plan_sums(table: &str) -> String {
    ["promoters", "passives", "detractors"]
        .iter()
        .map(|c| {
            format!(
                "SELECT value || ' {c}' AS k, CAST(SUM({c}) AS BIGINT) AS n FROM {table} \
                 WHERE name = 'plan' GROUP BY value"
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

fn plan_rows() -> String {
    [
        ("promoters", "r.score >= 9"),
        ("passives", "r.score BETWEEN 7 AND 8"),
        ("detractors", "r.score <= 6"),
    ]
    .iter()
    .map(|(c, cond)| {
        format!(
            "SELECT p.value || ' {c}' AS k, CAST(COUNT(*) AS BIGINT) AS n FROM responses r \
             JOIN response_properties p ON p.response_id = r.id \
             WHERE p.name = 'plan' AND r.status = 'counted' AND {cond} GROUP BY p.value"
        )
    })
    .collect::<Vec<_>>()
    .join(" UNION ALL ")
}

async fn answer(app: &TestApp, i: usize) {
    let plans = ["free", "pro", "team"];
    app.web_answer_created(
        SHOP,
        &json!({
            "score": (i * 7) % 11,
            "comment": if i.is_multiple_of(4) { "the delivery was quick" } else { "" },
            // Every third visitor answers again: the repeat replaces the earlier answer, so the
            // journal holds removals as well as additions.
            "visitor_id": format!("visitor-{}", i % 60),
            "properties": {"plan": plans[i % plans.len()]},
        }),
    )
    .await;
}

async fn two_instances_folding_at_once_count_every_change_once(backend: Backend) {
    let app = crate::insights::app(backend).await;
    // A second instance's store on the same database, folding beside the first.
    let url = DatabaseUrl::parse(app.db.url()).unwrap();
    let other = tokio::task::spawn_blocking(move || Store::open(&url, 2))
        .await
        .unwrap()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let folders: Vec<_> = [app.store.clone(), other.clone()]
        .into_iter()
        .map(|store| {
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut folded = 0;
                while !stop.load(Ordering::Relaxed) {
                    folded += store.fold_journal().await.unwrap();
                    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
                }
                folded
            })
        })
        .collect();
    for i in 0..90 {
        answer(&app, i).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut folded_by_folders = 0;
    for f in folders {
        folded_by_folders += f.await.unwrap();
    }
    let rest = app
        .store
        .write(|c| journal::fold_all(c, false))
        .await
        .unwrap();
    assert!(
        folded_by_folders > 0,
        "the folders folded something while answers arrived ({rest} left for the end)"
    );
    assert_eq!(app.store.read(journal::backlog).await.unwrap(), 0);
    let (rows, hourly, daily, plan_rows, plan_hourly, plan_daily) = app
        .store
        .read(|c| {
            Ok((
                pairs(c, &score_rows())?,
                pairs(c, &score_sums("score_tallies"))?,
                pairs(c, &score_sums("score_tallies_daily"))?,
                pairs(c, &plan_rows())?,
                pairs(c, &plan_sums("property_tallies"))?,
                pairs(c, &plan_sums("property_tallies_daily"))?,
            ))
        })
        .await
        .unwrap();
    assert_eq!(
        rows.values().sum::<i64>() - rows["comments"],
        60,
        "{rows:?}"
    );
    assert_eq!(hourly, rows, "hourly tallies against the rows");
    assert_eq!(daily, rows, "daily tallies against the rows");
    assert_eq!(
        plan_hourly, plan_rows,
        "hourly property tallies against the rows"
    );
    assert_eq!(
        plan_daily, plan_rows,
        "daily property tallies against the rows"
    );
    other.close();
}

backend_tests!(two_instances_folding_at_once_count_every_change_once);
