//! Seeds a benchmark database through npsd's own store code (bench/seeding.rs); bench/run.py
//! runs it between two starts of npsd. The database is opened as npsd opens it (its migrations
//! run), and the survey is the one with the slug `default`.
//!
//!     seed --database-url URL tokens FILE TAG
//!         one sent invitation with an answer link token per line of FILE (the link's secret)
//!     seed --database-url URL responses ROWS START_DAY
//!         ROWS responses spread over the 365 days from START_DAY (YYYY-MM-DD)
//!
//! Prints one line, `seeded N in S s`, on stdout; progress on stderr. Exits non-zero on failure.
use chrono::NaiveDate;
use npsd::store::surveys::{self, SurveyRow};
use npsd::store::{DatabaseUrl, Store};
use std::time::Instant;

#[path = "seeding.rs"]
mod seeding;

/// Tokens per write transaction.
const CHUNK: usize = 5_000;

fn usage() -> ! {
    eprintln!(
        "usage: seed --database-url URL tokens FILE TAG | seed --database-url URL responses ROWS START_DAY"
    );
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some("--database-url"), Some(url)) = (args.first().map(String::as_str), args.get(1))
    else {
        usage()
    };
    let url = DatabaseUrl::parse(url).unwrap_or_else(|e| {
        eprintln!("seed: --database-url: {e}");
        std::process::exit(2)
    });
    let sqlite = matches!(url, DatabaseUrl::Sqlite(_));
    // An hour per read: the seed runs its chunks (and folds their tally journal) as reads, and
    // the service's 5 s budget stopped a 250,000-row chunk whenever the machine was slow.
    let store = Store::open_with_budget(&url, 2, std::time::Duration::from_secs(3600))
        .unwrap_or_else(|e| {
            eprintln!("seed: cannot open the database: {e:#}");
            std::process::exit(1)
        });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let survey: SurveyRow = rt
        .block_on(store.read(|c| surveys::find_by_slug(c, "default")))
        .expect("read the survey")
        .unwrap_or_else(|| {
            eprintln!("seed: no survey 'default' (start npsd once on the database first)");
            std::process::exit(1)
        });
    let started = Instant::now();
    let seeded = match &args[2..] {
        [what, file, tag] if what == "tokens" => {
            let text = std::fs::read_to_string(file).unwrap_or_else(|e| {
                eprintln!("seed: cannot read {file}: {e}");
                std::process::exit(1)
            });
            let tokens: Vec<String> = text.lines().map(str::to_string).collect();
            let now = chrono::Utc::now().naive_utc();
            for (n, chunk) in tokens.chunks(CHUNK).enumerate() {
                let (survey, chunk, tag) = (survey.clone(), chunk.to_vec(), tag.clone());
                rt.block_on(store.write(move |c| {
                    seeding::link_tokens(c, &survey, &chunk, &tag, n * CHUNK, now)
                }))
                .expect("seed link tokens");
                eprintln!(
                    "seed: {}/{} link tokens",
                    (n * CHUNK + CHUNK).min(tokens.len()),
                    tokens.len()
                );
            }
            // The sendings' tally changes folded in, as the service's projection would have.
            rt.block_on(store.write(|c| npsd::store::journal::fold_all(c, true)))
                .expect("fold the tally journal");
            // Fresh statistics, as after a day of traffic: the planner's choices depend on them.
            rt.block_on(store.read(|c| {
                use diesel::connection::SimpleConnection;
                c.batch_execute("ANALYZE")?;
                Ok(())
            }))
            .expect("analyze");
            tokens.len() as u64
        }
        [what, rows, start] if what == "responses" => {
            let rows: u64 = rows.parse().unwrap_or_else(|_| usage());
            let start = NaiveDate::parse_from_str(start, "%Y-%m-%d").unwrap_or_else(|_| usage());
            let id = survey.id.clone();
            // Not `store.write`: the seed commits chunk by chunk itself.
            rt.block_on(store.read(move |c| {
                seeding::responses(c, sqlite, &id, start, 0, rows);
                Ok(())
            }))
            .expect("seed responses");
            rows
        }
        _ => usage(),
    };
    // The events of the seeded history past their retention, as a running service would have
    // pruned them long ago (30 days, the default): a benchmark that starts with a year of them
    // would measure npsd's first prune, not its answers.
    let cutoff = chrono::Utc::now().naive_utc() - chrono::Duration::days(30);
    loop {
        let pruned = rt
            .block_on(store.write(move |c| npsd::store::events::prune(c, cutoff, 50_000)))
            .expect("prune the seeded events");
        if pruned < 50_000 {
            break;
        }
    }
    store.close();
    println!(
        "seeded {seeded} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
