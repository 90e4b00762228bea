//! History import, run as the built binary: `npsd import delighted` with an export-shaped CSV of a
//! few thousand rows (made here, malformed rows included) and `npsd import csv`. Imported answers
//! keep their times, carry channel `import`, count in every figure, never send an email, and a
//! second run adds nothing.
use crate::cli::npsd_in;
use crate::helpers::{spawn_app, Backend};
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;

const PLANS: [&str; 3] = ["free", "pro", "team"];

/// What the generated export should come to.
#[derive(Default)]
struct Expected {
    promoters: u64,
    passives: u64,
    detractors: u64,
    comments: u64,
    /// Responses per month, "2024-03".
    by_month: BTreeMap<String, u64>,
    /// (promoters, detractors, responses) per plan.
    by_plan: BTreeMap<&'static str, (u64, u64, u64)>,
}

/// A Delighted export of `n` answers from 2023 to 2024 with some broken rows among them:
/// the file, what the good rows come to, and the lines of the bad ones with a word of their
/// reason.
fn delighted_export(n: usize) -> (String, Expected, Vec<(usize, &'static str)>) {
    let mut csv = String::from(
        "Response ID,Email,Name,Score,Comment,Response Timestamp,Updated At,Survey Type,Permalink,plan,Delighted Source\n",
    );
    let mut expected = Expected::default();
    let mut bad = Vec::new();
    let mut line = 1;
    let start = chrono::NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
    for i in 0..n {
        line += 1;
        // Every 500th row is broken in one of seven ways.
        if i % 500 == 250 {
            let (row, why) = match (i / 500) % 7 {
                0 => (
                    format!("{i},x{i}@example.com,X,eleven,,2024-01-01 10:00:00,,nps,,pro,Email"),
                    "score",
                ),
                1 => (
                    format!("{i},x{i}@example.com,X,,,2024-01-01 10:00:00,,nps,,pro,Email"),
                    "score",
                ),
                2 => (
                    format!("{i},not-an-address,X,7,,2024-01-01 10:00:00,,nps,,pro,Email"),
                    "email",
                ),
                3 => (
                    format!("{i},x{i}@example.com,X,7,,last tuesday,,nps,,pro,Email"),
                    "time",
                ),
                4 => (
                    format!("{i},x{i}@example.com,X,4,,2024-01-01 10:00:00,,csat,,pro,Email"),
                    "NPS",
                ),
                5 => (format!("{i},x{i}@example.com,X,7"), "fields"),
                _ => (
                    format!("{i},x{i}@example.com,X,7,,2099-01-01 10:00:00,,nps,,pro,Email"),
                    "future",
                ),
            };
            writeln!(csv, "{row}").unwrap();
            bad.push((line, why));
            continue;
        }
        let score = (i * 7 + i / 3) % 11;
        let day = start + chrono::Days::new((i % 700) as u64);
        let at = format!("{} {:02}:{:02}:17", day.format("%Y-%m-%d"), i % 24, i % 60);
        let plan = PLANS[i % 3];
        // Some comments need quoting: commas, quotes and a line break.
        let comment = match i % 4 {
            0 => String::new(),
            1 => format!("Fast delivery, order {i}"),
            2 => format!("\"\"Great\"\" service\nwould buy again ({i})"),
            _ => "ok".to_string(),
        };
        writeln!(
            csv,
            "{i},person{}@example.com,Person {i},{score},\"{comment}\",{at},{at},nps,https://app.delighted.com/r/{i},{plan},Email",
            i % 900
        )
        .unwrap();
        // The comment's line break makes the next row start a line later.
        if i % 4 == 2 {
            line += 1;
        }
        match score {
            9..=10 => expected.promoters += 1,
            7..=8 => expected.passives += 1,
            _ => expected.detractors += 1,
        }
        if !comment.is_empty() {
            expected.comments += 1;
        }
        *expected
            .by_month
            .entry(day.format("%Y-%m").to_string())
            .or_default() += 1;
        let e = expected.by_plan.entry(plan).or_default();
        e.0 += u64::from(score >= 9);
        e.1 += u64::from(score <= 6);
        e.2 += 1;
    }
    (csv, expected, bad)
}

async fn get(app: &crate::helpers::TestApp, path: &str) -> Value {
    let r = app.get_api(path).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    r.body
}

async fn a_delighted_export_becomes_history(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("delighted-responses.csv");
    let (csv, expected, bad) = delighted_export(3000);
    std::fs::write(&file, &csv).unwrap();
    let env = [("NPSD_DATABASE_URL", app.db.url())];
    let args = [
        "import",
        "delighted",
        "--survey",
        "default",
        file.to_str().unwrap(),
    ];

    let (ok, out, err) = npsd_in(dir.path(), &env, &args);
    assert!(ok, "{out}\n{err}");
    let good = 3000 - bad.len();
    assert!(
        out.contains("read 3000 rows")
            && out.contains(&format!("{good} imported"))
            && out.contains(&format!("{} skipped", bad.len())),
        "{out}"
    );
    // Every skipped row is named by its line, with the reason.
    for (line, why) in &bad {
        let said = err
            .lines()
            .find(|l| l.contains(&format!("line {line} skipped")))
            .unwrap_or_else(|| panic!("line {line} is not reported:\n{err}"));
        assert!(said.contains(why), "line {line}: {said}");
    }

    // Every figure counts them: NPS, channel, trend, breakdown, comments.
    let responses = expected.promoters + expected.passives + expected.detractors;
    let nps = get(&app, "/api/v1/surveys/default/nps").await;
    assert_eq!(
        (
            nps["responses"].as_u64(),
            nps["promoters"].as_u64(),
            nps["detractors"].as_u64()
        ),
        (
            Some(responses),
            Some(expected.promoters),
            Some(expected.detractors)
        ),
        "{nps}"
    );
    assert_eq!(nps["comments"].as_u64(), Some(expected.comments));
    let imported = get(&app, "/api/v1/surveys/default/nps?channel=import").await;
    assert_eq!(imported["responses"].as_u64(), Some(responses));
    let trend = get(
        &app,
        "/api/v1/surveys/default/nps/trend?interval=month&from=2023-01-01&to=2024-12-31",
    )
    .await;
    let months: BTreeMap<String, u64> = trend["points"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["responses"].as_u64() > Some(0))
        .map(|p| {
            (
                p["start"].as_str().unwrap()[..7].to_string(),
                p["responses"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        months, expected.by_month,
        "the answers keep their original months"
    );
    let breakdown = get(&app, "/api/v1/surveys/default/nps/breakdown?by=plan").await;
    for seg in breakdown["segments"].as_array().unwrap() {
        let plan = seg["value"].as_str().unwrap();
        let (p, d, n) = expected.by_plan[plan];
        assert_eq!(
            (
                seg["promoters"].as_u64(),
                seg["detractors"].as_u64(),
                seg["responses"].as_u64()
            ),
            (Some(p), Some(d), Some(n)),
            "{plan}: {seg}"
        );
    }
    assert_eq!(breakdown["segments"].as_array().unwrap().len(), 3);
    let found = get(&app, "/api/v1/surveys/default/comments?q=buy+again&limit=5").await;
    let first = &found["comments"][0];
    assert_eq!(first["channel"], "import", "{found}");
    assert!(
        first["comment"]
            .as_str()
            .unwrap()
            .contains("\"Great\" service\nwould buy again"),
        "{first}"
    );
    assert_eq!(first["properties"]["Delighted Source"], "Email");
    assert!(first["email"].as_str().unwrap().starts_with("person"));

    // Nothing was sent, nor queued.
    app.drain().await;
    assert!(app.smtp.messages().is_empty());
    assert_eq!(app.pending_outbox_rows().await, 0);

    // A second run adds nothing.
    let (ok, out, err) = npsd_in(dir.path(), &env, &args);
    assert!(ok, "{err}");
    assert!(
        out.contains("0 imported") && out.contains(&format!("{good} there already")),
        "{out}"
    );
    let again = get(&app, "/api/v1/surveys/default/nps").await;
    assert_eq!(again["responses"], nps["responses"]);

    // An unknown survey or a file without the needed columns stops before reading rows.
    let (ok, _, err) = npsd_in(
        dir.path(),
        &env,
        &[
            "import",
            "delighted",
            "--survey",
            "nosuch",
            file.to_str().unwrap(),
        ],
    );
    assert!(!ok && err.contains("no survey 'nosuch'"), "{err}");
    let plain = dir.path().join("plain.csv");
    std::fs::write(&plain, "email,comment\na@example.com,hi\n").unwrap();
    let (ok, _, err) = npsd_in(
        dir.path(),
        &env,
        &["import", "csv", plain.to_str().unwrap()],
    );
    assert!(
        !ok && err.contains("score") && err.contains("responded_at"),
        "{err}"
    );
}

async fn a_plain_csv_is_imported_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("history.csv");
    std::fs::write(
        &file,
        "email,score,comment,responded_at,country\n\
         ann@example.com,10,Lovely,2025-03-01T10:00:00Z,DE\n\
         bob@example.com,2,Broken on arrival,2025-03-02 11:00:00,FR\n\
         ,8,,2025-03-03,DE\n\
         ,8,,2025-03-03,DE\n\
         cat@example.com,9.5,,2025-03-03,DE\n",
    )
    .unwrap();
    let env = [("NPSD_DATABASE_URL", app.db.url())];
    let (ok, out, err) = npsd_in(
        dir.path(),
        &env,
        &[
            "import",
            "csv",
            "--survey",
            "default",
            file.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("4 imported") && out.contains("1 skipped"),
        "two anonymous 8s of one day are two answers: {out}"
    );
    assert!(err.contains("line 6 skipped: score '9.5'"), "{err}");
    let nps = get(
        &app,
        "/api/v1/surveys/default/nps?from=2025-03-01&to=2025-03-31",
    )
    .await;
    assert_eq!(
        (
            nps["responses"].as_u64(),
            nps["promoters"].as_u64(),
            nps["passives"].as_u64()
        ),
        (Some(4), Some(1), Some(2)),
        "{nps}"
    );
    // The people behind the answers are known to the Delighted-compatible API.
    let people = app
        .client
        .get(app.url("/v1/people"))
        .basic_auth(crate::helpers::API_KEY, None::<&str>)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(people.as_array().unwrap().len(), 2, "{people}");
    let (ok, out, _) = npsd_in(dir.path(), &env, &["import", "csv", file.to_str().unwrap()]);
    assert!(
        ok && out.contains("0 imported") && out.contains("4 there already"),
        "{out}"
    );
}

/// The columns the migration guide calls "read and not kept": links into Delighted and its own
/// bookkeeping. None of them may become a property (a filter, a line under every comment, a
/// column of the export).
const IGNORED: [&str; 6] = [
    "Permalink",
    "Updated At",
    "Updated Timestamp",
    "Person ID",
    "Notes",
    "Additional Answers",
];

async fn every_ignored_delighted_column_is_dropped(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("delighted-responses.csv");
    let mut csv = format!(
        "Response ID,Email,Score,Comment,Response Timestamp,{},plan\n",
        IGNORED.join(",")
    );
    for (i, (score, plan)) in [(10, "pro"), (3, "free")].into_iter().enumerate() {
        writeln!(
            csv,
            "{i},p{i}@example.com,{score},Comment {i},2025-03-0{} 10:00:00,\
             https://app.delighted.com/r/{i},2025-03-09 10:00:00,1741514400,person-{i},\
             \"Called back, all good\",\"[{{\"\"q\"\": 1}}]\",{plan}",
            i + 1
        )
        .unwrap();
    }
    std::fs::write(&file, &csv).unwrap();
    let env = [("NPSD_DATABASE_URL", app.db.url())];
    let (ok, out, err) = npsd_in(
        dir.path(),
        &env,
        &["import", "delighted", file.to_str().unwrap()],
    );
    assert!(ok && out.contains("2 imported"), "{out}\n{err}");

    // The comments carry only the property the file had.
    let comments = get(&app, "/api/v1/surveys/default/comments").await;
    let comments = comments["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 2);
    for c in comments {
        let names: Vec<&String> = c["properties"].as_object().unwrap().keys().collect();
        assert_eq!(names, ["plan"], "{c}");
    }
    // The export has a column per property: none for the ignored ones.
    let export = app.export_csv().await;
    let header: Vec<&str> = export.lines().next().unwrap().split(',').collect();
    assert!(header.contains(&"plan"), "{header:?}");
    for name in IGNORED {
        assert!(!header.contains(&name), "{name} is a column: {header:?}");
        // Nor is it a segment to break down by.
        let by = get(
            &app,
            &format!(
                "/api/v1/surveys/default/nps/breakdown?by={}",
                name.replace(' ', "+")
            ),
        )
        .await;
        assert_eq!(by["segments"], serde_json::json!([]), "{name}: {by}");
    }
}

crate::backend_tests!(
    a_delighted_export_becomes_history,
    a_plain_csv_is_imported_once,
    every_ignored_delighted_column_is_dropped
);
