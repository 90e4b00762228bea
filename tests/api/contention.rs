//! Writes that meet: a cancel racing the dispatcher's claim, and many clients clicking and
//! ingesting at once. Nobody gets a 5xx for a deadlock, PostgreSQL records none, and every cancel
//! keeps its word (200: no email goes out; 409: exactly one does).
use crate::backend_tests;
use crate::helpers::{spawn_app_with, Backend, SurveyMail, TestDb, API_KEY};
use crate::process::{one_at_a_time, NpsdProcess};
use crate::smtp::TestSmtp;
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

backend_tests!(a_cancel_racing_the_dispatcher_is_200_and_unsent_or_409_and_sent_once);

mod postgres_load {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sixty_four_clients_clicking_and_ingesting_meet_no_deadlock() {
        if crate::helpers::postgres_available() {
            super::sixty_four_clients_clicking_and_ingesting_meet_no_deadlock().await
        }
    }
}

const RACES: usize = 300;

async fn a_cancel_racing_the_dispatcher_is_200_and_unsent_or_409_and_sent_once(backend: Backend) {
    // The dispatcher runs in the background and wakes for each due-now invitation, as in
    // production: the cancel meets its claim, its send or its outcome.
    let app = spawn_app_with(
        backend,
        &[("NPSD_DISPATCHER", "on"), ("NPSD_DISPATCH_POLL_MS", "10")],
    )
    .await;
    let races = futures_util::stream::iter(0..RACES)
        .map(|i| {
            let app = &app;
            async move {
                let email = format!("race{i}@example.com");
                let r = app
                    .post_transaction(
                        json!({"transaction_id": format!("race-{i}"), "email": email}),
                    )
                    .await;
                assert_eq!(r.status, StatusCode::ACCEPTED, "ingest {i}: {}", r.body);
                let id = r.body["invitation"]["id"].as_str().unwrap().to_string();
                let cancel = app
                    .api(
                        reqwest::Method::DELETE,
                        &format!("/api/v1/invitations/{id}"),
                        None,
                    )
                    .await;
                (email, cancel.status, cancel.body)
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;

    // Everything that was going to be sent has been: nothing is left pending.
    let deadline = Instant::now() + Duration::from_secs(60);
    while app.pending_outbox_rows().await > 0 {
        assert!(Instant::now() < deadline, "the outbox never emptied");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (mut cancelled, mut too_late) = (0, 0);
    for (email, status, body) in &races {
        let sent = app.smtp.messages_to(email).len();
        match *status {
            StatusCode::OK => {
                assert_eq!(body["status"], "skipped", "{body}");
                assert_eq!(sent, 0, "{email} was cancelled (200) yet emailed");
                cancelled += 1;
            }
            StatusCode::CONFLICT => {
                assert_eq!(body["error"]["code"], "conflict", "{body}");
                assert_eq!(sent, 1, "{email} could not be cancelled (409): one email");
                too_late += 1;
            }
            other => panic!("cancelling {email} answered {other}: {body}"),
        }
    }
    eprintln!("{RACES} races: {cancelled} cancelled in time, {too_late} too late");
    assert_eq!(cancelled + too_late, RACES);
}

/// How many deadlocks PostgreSQL has detected in a database (its cumulative statistics).
fn deadlocks(db: &TestDb) -> i64 {
    use diesel::{Connection, QueryableByName, RunQueryDsl};
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        deadlocks: i64,
    }
    let mut conn = diesel::pg::PgConnection::establish(db.url()).unwrap();
    diesel::sql_query("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        .get_result::<Count>(&mut conn)
        .unwrap()
        .deadlocks
}

/// What the load got back: status codes and how often.
#[derive(Default)]
struct Tally {
    by_status: std::collections::BTreeMap<u16, usize>,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        for (status, n) in other.by_status {
            *self.by_status.entry(status).or_default() += n;
        }
    }

    fn server_errors(&self) -> usize {
        self.by_status
            .iter()
            .filter(|(s, _)| **s >= 500)
            .map(|(_, n)| n)
            .sum()
    }
}

async fn sixty_four_clients_clicking_and_ingesting_meet_no_deadlock() {
    let _turn = one_at_a_time().await;
    let smtp = TestSmtp::start();
    let db = TestDb::create(Backend::Postgres);
    let dir = tempfile::tempdir().unwrap();
    // One instance, as released: both writer threads, the dispatcher on, logs at INFO.
    let mut npsd = NpsdProcess::start(db.url(), &smtp.url(), &dir.path().join("npsd.log"), &[]);
    npsd.wait_ready().await;

    // 300 customers with an email each, whose score links the load clicks again and again.
    let seeded = 300;
    npsd.ingest(
        (0..seeded)
            .map(|i| json!({"transaction_id": format!("seed-{i}"), "email": format!("c{i}@example.com")}))
            .collect(),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(120);
    while smtp.messages().len() < seeded {
        assert!(Instant::now() < deadline, "the seeded emails never arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let links: Vec<Vec<String>> = smtp
        .messages()
        .into_iter()
        .map(|m| SurveyMail::new(m).score_links())
        .collect();
    let before = deadlocks(&db);

    // 64 clients for 10 s on few rows, so that writes meet: even ones click a score link of one
    // of 16 emails (a re-click changes the score and the tallies), odd ones post a transaction
    // for one of 16 addresses (every fourth repeats an earlier id: ingest's dedupe). Then 5 s of
    // transactions alone, for 4 addresses: they are written beside each other (shared lock).
    let base = npsd.url("");
    let mut total = load(&base, &links, Duration::from_secs(10), true, 16).await;
    total.add(load(&base, &links, Duration::from_secs(5), false, 4).await);
    let requests: usize = total.by_status.values().sum();
    eprintln!("load: {requests} requests, by status {:?}", total.by_status);
    npsd.terminate();
    npsd.wait_exit(Duration::from_secs(60)).await;
    let log = npsd.log_text();

    assert_eq!(
        total.server_errors(),
        0,
        "5xx answers under load: {:?}\n{log}",
        total.by_status
    );
    assert!(
        !log.to_lowercase().contains("deadlock"),
        "a deadlock reached the log:\n{log}"
    );
    // PostgreSQL's own count, once the instance's connections have closed (a server process
    // flushes its statistics as it ends).
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        deadlocks(&db),
        before,
        "PostgreSQL detected deadlocks under the load"
    );
    assert!(requests > 64, "the load ran: {requests} requests");
}

/// 64 clients for `length`: with `clicks`, even ones click score links of the first 16 emails;
/// the others post transactions for `addresses` addresses (every fourth repeats an earlier id).
async fn load(
    base: &str,
    links: &[Vec<String>],
    length: Duration,
    clicks: bool,
    addresses: usize,
) -> Tally {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let until = Instant::now() + length;
    let clients = (0..64usize).map(|c| {
        let client = client.clone();
        let links = links.to_vec();
        let base = base.to_string();
        tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut n = 0usize;
            while Instant::now() < until {
                n += 1;
                let res = if clicks && c.is_multiple_of(2) {
                    let email = &links[(c * 31 + n * 7) % 16];
                    client.get(&email[(c + n) % email.len()]).send().await
                } else {
                    let id = if n.is_multiple_of(4) {
                        format!("load{addresses}-{c}-{}", n / 2)
                    } else {
                        format!("load{addresses}-{c}-{n}")
                    };
                    let email = format!("l{}@example.com", (c + n) % addresses);
                    client
                        .post(format!("{base}/api/v1/transactions"))
                        .bearer_auth(API_KEY)
                        .json(&json!({"transaction_id": id, "email": email}))
                        .send()
                        .await
                };
                let status = res.expect("npsd answers").status().as_u16();
                *tally.by_status.entry(status).or_default() += 1;
            }
            tally
        })
    });
    let mut total = Tally::default();
    for t in futures_util::future::join_all(clients).await {
        total.add(t.unwrap());
    }
    total
}
