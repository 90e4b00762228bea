//! How fast the insights answer on a big database: seeds a survey with N responses (default
//! 10 million, one year, two properties) through the same triggers as production, then times
//! NPS for date ranges, a weekly trend over the year and a breakdown by a property, through the
//! very functions the API and the dashboard call (`store::reports`).
//!
//!     cargo run --release --example insights -- --database-url sqlite://bench.db [--rows 10000000]
//!     cargo run --release --example insights -- --database-url postgres://postgres@127.0.0.1/npsd_bench
//!
//! Seeding is skipped when the survey holds the rows already, so a second run only measures.
//! Results go to standard output as a Markdown table (docs/PERFORMANCE.md keeps the latest).
use chrono::{Days, NaiveDate, NaiveDateTime};
use diesel::connection::SimpleConnection;
use npsd::domain::insight::{periods, Interval, PropertyFilter};
use npsd::store::ids::SurveyId;
use npsd::store::responses::ResponseFilter;
use npsd::store::{reports, DatabaseUrl, DbConn, Store};
use std::time::{Duration, Instant};

#[path = "seeding.rs"]
mod seeding;

const SURVEY: &str = "bench";
const RUNS: usize = 15;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 11, 24).unwrap()
}

fn at(d: NaiveDate) -> NaiveDateTime {
    d.and_hms_opt(0, 0, 0).unwrap()
}

fn seed(conn: &mut DbConn, sqlite: bool, rows: u64) {
    conn.batch_execute(&format!(
        "INSERT INTO surveys (id, slug, brand, created_at, updated_at) \
         SELECT '{SURVEY}', '{SURVEY}', 'Bench', '2025-11-24 00:00:00', '2025-11-24 00:00:00' \
         WHERE NOT EXISTS (SELECT 1 FROM surveys WHERE id = '{SURVEY}')"
    ))
    .expect("survey");
    let survey = SurveyId::from(SURVEY);
    let have = seeding::count(conn, &survey) as u64;
    if have >= rows {
        println!("seed: {have} responses present, not seeding");
        return;
    }
    let secs = seeding::responses(conn, sqlite, &survey, start(), have, rows);
    println!(
        "seed: {} responses with 2 properties each in {secs:.0} s ({:.0} rows/s)",
        rows - have,
        (rows - have) as f64 / secs
    );
}

/// One query to time: it answers with a line that shows it read what it should.
type Scenario = Box<dyn Fn(&mut DbConn) -> String + Send + Sync>;

fn time<T>(mut f: impl FnMut() -> T) -> (Duration, Duration, T) {
    let mut samples = Vec::with_capacity(RUNS);
    let mut last = f();
    for _ in 0..RUNS {
        let t = Instant::now();
        last = f();
        samples.push(t.elapsed());
    }
    samples.sort();
    (samples[RUNS / 2], samples[RUNS * 95 / 100], last)
}

fn main() {
    let url = arg("--database-url").unwrap_or_else(|| "sqlite://bench-insights.db".into());
    let rows: u64 = arg("--rows")
        .map(|r| r.parse().expect("--rows is a number"))
        .unwrap_or(10_000_000);
    let url = DatabaseUrl::parse(&url).expect("--database-url");
    let sqlite = matches!(url, DatabaseUrl::Sqlite(_));
    let store = Store::open(&url, 2).expect("open the database");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // Not `store.write`: the seed commits chunk by chunk itself.
    rt.block_on(store.read(move |c| {
        seed(c, sqlite, rows);
        Ok(())
    }))
    .unwrap();

    let end = start() + Days::new(365);
    let scenarios: Vec<(&str, Scenario)> = vec![
        (
            "NPS, whole year",
            Box::new(move |c| {
                let f = ResponseFilter::default().between(at(start()), at(end));
                let r = reports::nps(c, &SurveyId::from(SURVEY), &f).unwrap();
                format!("{} responses, NPS {:?}", r.summary.responses, r.summary.nps)
            }),
        ),
        (
            "NPS, one month",
            Box::new(move |c| {
                let s = start() + Days::new(100);
                let f = ResponseFilter::default().between(at(s), at(s + Days::new(30)));
                let r = reports::nps(c, &SurveyId::from(SURVEY), &f).unwrap();
                format!("{} responses", r.summary.responses)
            }),
        ),
        (
            "NPS, 90 days in Asia/Kolkata (edges off the hour)",
            Box::new(move |c| {
                let s = start() + Days::new(200);
                let zone = npsd::domain::digest::Zone::named("Asia/Kolkata").unwrap();
                let midnight = |d: NaiveDate| zone.midnight(d).unwrap();
                let f = ResponseFilter::default().between(midnight(s), midnight(s + Days::new(90)));
                let r = reports::nps(c, &SurveyId::from(SURVEY), &f).unwrap();
                format!("{} responses", r.summary.responses)
            }),
        ),
        (
            "Weekly trend, one year (53 points)",
            Box::new(move |c| {
                let p = periods(Interval::Week, start(), end - Days::new(1), at).unwrap();
                let t = reports::trend(c, &SurveyId::from(SURVEY), &ResponseFilter::default(), &p)
                    .unwrap();
                format!("{} points", t.len())
            }),
        ),
        (
            "Daily trend, one year (365 points)",
            Box::new(move |c| {
                let p = periods(Interval::Day, start(), end - Days::new(1), at).unwrap();
                let t = reports::trend(c, &SurveyId::from(SURVEY), &ResponseFilter::default(), &p)
                    .unwrap();
                format!("{} points", t.len())
            }),
        ),
        (
            "Breakdown by plan, whole year",
            Box::new(move |c| {
                let f = ResponseFilter::default().between(at(start()), at(end));
                let b = reports::breakdown(c, &SurveyId::from(SURVEY), &f, "plan").unwrap();
                format!("{} segments", b.len())
            }),
        ),
        (
            "Breakdown by country, one month, web only",
            Box::new(move |c| {
                let s = start() + Days::new(60);
                let mut f = ResponseFilter::default().between(at(s), at(s + Days::new(30)));
                f.channel = Some(npsd::store::state::Channel::Web);
                let b = reports::breakdown(c, &SurveyId::from(SURVEY), &f, "country").unwrap();
                format!("{} segments", b.len())
            }),
        ),
        (
            "NPS, one week, property.plan=pro (row path, indexed)",
            Box::new(move |c| {
                let s = start() + Days::new(150);
                let mut f = ResponseFilter::default().between(at(s), at(s + Days::new(7)));
                f.properties = PropertyFilter::from_pairs([("property.plan", "pro")]).unwrap();
                let r = reports::nps(c, &SurveyId::from(SURVEY), &f).unwrap();
                format!("{} responses", r.summary.responses)
            }),
        ),
    ];
    println!(
        "\n{} with {rows} responses; median and p95 of {RUNS} runs after one warm-up\n",
        if sqlite { "SQLite" } else { "PostgreSQL" }
    );
    println!("| query | median | p95 | answer |\n|---|---:|---:|---|");
    for (name, f) in scenarios {
        let f = std::sync::Arc::new(f);
        let (median, p95, answer) = rt.block_on(store.read(move |c| Ok(time(|| f(c))))).unwrap();
        println!(
            "| {name} | {:.1} ms | {:.1} ms | {answer} |",
            median.as_secs_f64() * 1000.0,
            p95.as_secs_f64() * 1000.0
        );
    }
}
