//! One app per test: its own database (a temp SQLite file or a fresh PostgreSQL database), its own
//! port, its own SMTP server. Quiet unless TEST_LOG is set.
#![allow(dead_code)]

use crate::smtp::{ReceivedMail, TestSmtp};
use chrono::SubsecRound;
use diesel::{Connection, RunQueryDsl};
use npsd::config::{Config, Sources};
use npsd::domain::clock::{Clock, SharedClock};
use npsd::jobs::Dispatcher;
use npsd::startup::Application;
use npsd::store::Store;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use std::sync::Once;
use std::time::Duration;

pub const API_KEY: &str = "test-api-key-0123456789";
pub const WAIT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one test per backend from `async fn name(backend: Backend)` scenarios.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::helpers::postgres_available() {
                        super::$name($crate::helpers::Backend::Postgres).await
                    }
                }
            )*
        }
    };
}

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var("TEST_LOG").is_ok() {
            std::env::set_var("NPSD_LOG", std::env::var("TEST_LOG").unwrap_or_default());
            npsd::telemetry::init();
        }
    });
}

fn postgres_admin_url() -> String {
    std::env::var("NPSD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Whether the PostgreSQL tests can run. Without a server at the default address they are skipped
/// with a message; a server that was asked for (NPSD_TEST_POSTGRES_URL set, or
/// NPSD_TEST_REQUIRE_POSTGRES=1 as in CI) and cannot be reached fails them instead.
pub fn postgres_available() -> bool {
    static CHECK: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let result = CHECK.get_or_init(|| {
        diesel::pg::PgConnection::establish(&postgres_admin_url())
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    match result {
        Ok(()) => true,
        Err(e)
            if std::env::var("NPSD_TEST_REQUIRE_POSTGRES").as_deref() == Ok("1")
                || std::env::var_os("NPSD_TEST_POSTGRES_URL").is_some() =>
        {
            panic!("PostgreSQL was asked for (NPSD_TEST_POSTGRES_URL or NPSD_TEST_REQUIRE_POSTGRES=1) but {} is not reachable: {e}", postgres_admin_url())
        }
        Err(e) => {
            eprintln!(
                "SKIPPED: PostgreSQL test, no server at {} ({e}); set NPSD_TEST_POSTGRES_URL",
                postgres_admin_url()
            );
            false
        }
    }
}

/// A database that is removed again when the test ends.
pub enum TestDb {
    Sqlite(tempfile::TempDir, String),
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
    /// Another test app's database: used, not removed.
    Borrowed(String),
}

/// The migrated database every PostgreSQL test app starts from, cloned per test with `CREATE
/// DATABASE ... TEMPLATE`: the migrations run once per set of migrations, not once per test. Its
/// name carries a hash of `migrations/postgres`, so a changed migration makes a new one.
fn postgres_template(admin_url: &str) -> &'static str {
    static TEMPLATE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEMPLATE.get_or_init(|| {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
        let mut files: Vec<_> = walk(&dir);
        files.sort();
        for file in files {
            file.strip_prefix(&dir).unwrap().hash(&mut hasher);
            std::fs::read(&file).unwrap().hash(&mut hasher);
        }
        let name = format!("npsd_template_{:016x}", hasher.finish());
        let mut conn =
            diesel::pg::PgConnection::establish(admin_url).expect("connect to PostgreSQL");
        // Other test processes (the suite run twice at once, say) make the same template.
        diesel::sql_query("SELECT pg_advisory_lock(4242001)")
            .execute(&mut conn)
            .expect("template lock");
        let exists = diesel::sql_query(format!(
            "SELECT 1 AS one FROM pg_database WHERE datname = '{name}'"
        ))
        .execute(&mut conn)
        .expect("look for the template")
            > 0;
        if !exists {
            let building = format!("{name}_building");
            diesel::sql_query(format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
                .execute(&mut conn)
                .expect("drop a half-built template");
            diesel::sql_query(format!("CREATE DATABASE {building}"))
                .execute(&mut conn)
                .expect("create the template");
            let mut url = url::Url::parse(admin_url).expect("postgres url");
            url.set_path(&building);
            let db_url = npsd::store::DatabaseUrl::parse(url.as_str()).expect("template url");
            npsd::store::run_migrations(&db_url).expect("migrate the template");
            diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {name}"))
                .execute(&mut conn)
                .expect("name the template");
        }
        diesel::sql_query("SELECT pg_advisory_unlock(4242001)")
            .execute(&mut conn)
            .expect("template unlock");
        name
    })
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("migrations folder") {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

impl TestDb {
    /// A database with every migration applied (a clone of the template on PostgreSQL; on
    /// SQLite, where migrating a new file takes milliseconds, an empty file the app migrates).
    pub fn migrated(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => TestDb::create(backend),
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let template = postgres_template(&admin_url);
                TestDb::create_postgres(admin_url, Some(template))
            }
        }
    }

    /// An empty database (no migrations applied).
    pub fn create(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("npsd.db").display());
                TestDb::Sqlite(dir, url)
            }
            Backend::Postgres => TestDb::create_postgres(postgres_admin_url(), None),
        }
    }

    fn create_postgres(admin_url: String, template: Option<&str>) -> TestDb {
        // A template may be copied by one CREATE DATABASE at a time.
        static CLONING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let name = format!("npsd_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn =
            diesel::pg::PgConnection::establish(&admin_url).expect("connect to PostgreSQL");
        let create = match template {
            Some(t) => format!("CREATE DATABASE {name} TEMPLATE {t}"),
            None => format!("CREATE DATABASE {name}"),
        };
        {
            let _one = CLONING.lock().unwrap_or_else(|e| e.into_inner());
            diesel::sql_query(create)
                .execute(&mut conn)
                .expect("create database");
        }
        let mut url = url::Url::parse(&admin_url).expect("postgres url");
        url.set_path(&name);
        TestDb::Postgres {
            admin_url,
            name,
            url: url.to_string(),
        }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite(_, url) => url,
            TestDb::Postgres { url, .. } => url,
            TestDb::Borrowed(url) => url,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres {
            admin_url, name, ..
        } = self
        {
            if let Ok(mut conn) = diesel::pg::PgConnection::establish(admin_url) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn);
            }
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub smtp: TestSmtp,
    pub db: TestDb,
    pub store: Store,
    pub dispatcher: Dispatcher,
    /// The app's clock: [`test_epoch`] plus the time since the app started and what the test moved it by.
    pub clock: Arc<OffsetClock>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The settings every test app gets; `extra` overrides or adds.
pub fn test_config(db_url: &str, smtp_url: &str, extra: &[(&str, &str)]) -> Config {
    let mut pairs: Vec<(&str, &str)> = vec![
        ("NPSD_DATABASE_URL", db_url),
        ("NPSD_BIND", "127.0.0.1:0"),
        ("NPSD_SMTP_URL", smtp_url),
        ("NPSD_API_KEY", API_KEY),
        ("NPSD_MAIL_FROM", "ACME Feedback <feedback@shop.example>"),
        ("NPSD_RETRY_BASE_MS", "100"),
        ("NPSD_DISPATCH_POLL_MS", "50"),
        ("NPSD_SMTP_TIMEOUT_SECONDS", "5"),
        // Tests drain the outbox themselves (`drain`) instead of waiting for the background loop;
        // the tests of concurrency, crashes and shutdown turn it on.
        ("NPSD_DISPATCHER", "off"),
    ];
    for (k, v) in extra {
        pairs.retain(|(key, _)| key != k);
        pairs.push((k, v));
    }
    Config::from_sources(&Sources::from_pairs(pairs)).expect("test config")
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

pub async fn spawn_app_with(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
    init_logs();
    let smtp = TestSmtp::start();
    let db = TestDb::migrated(backend);
    spawn_on(db, smtp, extra).await
}

/// Where every test app's clock starts, whatever day the suite runs: Monday 2026-06-01 09:00 UTC.
/// A test that needs another instant moves the clock there (`set`), never reads the wall clock.
pub fn test_epoch() -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 6, 1)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .expect("a valid instant")
}

/// A test app's clock: a fixed starting instant chosen by the test ([`test_epoch`] unless told
/// otherwise), running on at the pace of real time from when it was made, and moved by the test.
pub struct OffsetClock {
    start: chrono::NaiveDateTime,
    made: std::time::Instant,
    moved: std::sync::Mutex<chrono::Duration>,
}

impl Default for OffsetClock {
    fn default() -> Self {
        OffsetClock::starting_at(test_epoch())
    }
}

impl OffsetClock {
    pub fn starting_at(start: chrono::NaiveDateTime) -> Self {
        OffsetClock {
            start,
            made: std::time::Instant::now(),
            moved: std::sync::Mutex::new(chrono::Duration::zero()),
        }
    }

    pub fn advance(&self, by: chrono::Duration) {
        *self.moved.lock().unwrap() += by;
    }

    /// Moves the clock to `t` (UTC), forward or back.
    pub fn set(&self, t: chrono::NaiveDateTime) {
        self.advance(t - self.now());
    }

    /// How far this clock is from the machine's (for programs that read the machine's clock,
    /// such as the official Delighted clients: they add it to theirs). The machine's own clock,
    /// not npsd's `SystemClock`, which `NPSD_TEST_CLOCK_SHIFT_DAYS` moves.
    ///
    /// It reads the wall clock only to take a difference: the program adds it back to its own
    /// reading of the same wall clock, so whatever the day, both sides see the test's time
    /// (the webhook receiver and the Delighted clients pass on any day, and with the clock 400
    /// days ahead in CI). After `advance` or `set`, call it again.
    pub fn ahead_of_wall_clock(&self) -> chrono::Duration {
        self.now() - chrono::Utc::now().naive_utc()
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> chrono::NaiveDateTime {
        let ran = chrono::Duration::from_std(self.made.elapsed()).expect("a short test");
        (self.start + ran + *self.moved.lock().unwrap()).trunc_subsecs(6)
    }
}

/// An app whose clock the test holds (every app's clock can also be moved with `app.clock`).
pub async fn spawn_app_with_clock(backend: Backend, clock: Arc<OffsetClock>) -> TestApp {
    init_logs();
    let smtp = TestSmtp::start();
    let db = TestDb::migrated(backend);
    start(db, smtp, &[], clock).await
}

/// Starts an app on an existing database and SMTP server.
pub async fn spawn_on(db: TestDb, smtp: TestSmtp, extra: &[(&str, &str)]) -> TestApp {
    start(db, smtp, extra, Arc::new(OffsetClock::default())).await
}

async fn start(
    db: TestDb,
    smtp: TestSmtp,
    extra: &[(&str, &str)],
    clock: Arc<OffsetClock>,
) -> TestApp {
    let config = test_config(db.url(), &smtp.url(), extra);
    let shared: SharedClock = clock.clone();
    let app = Application::build_with_clock(config, shared)
        .await
        .expect("app builds");
    let port = app.port();
    let store = app.store().clone();
    let dispatcher = app.dispatcher();
    let server = tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        smtp,
        db,
        store,
        dispatcher,
        clock,
        server,
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Reply {
        let mut req = self
            .client
            .request(method, self.url(path))
            .bearer_auth(API_KEY);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.unwrap();
        let body =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        Reply { status, body }
    }

    pub async fn get_api(&self, path: &str) -> Reply {
        self.api(reqwest::Method::GET, path, None).await
    }

    pub async fn patch_survey(&self, slug: &str, body: Value) -> Reply {
        let r = self
            .api(
                reqwest::Method::PATCH,
                &format!("/api/v1/surveys/{slug}"),
                Some(body),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r
    }

    pub async fn post_transaction(&self, body: Value) -> Reply {
        self.api(reqwest::Method::POST, "/api/v1/transactions", Some(body))
            .await
    }

    /// Sends everything that is due now, as the background dispatcher would, and returns when
    /// the outbox has nothing more due: how many rows it handled.
    pub async fn drain(&self) -> usize {
        self.dispatcher
            .dispatch_until_idle()
            .await
            .expect("dispatching succeeds")
    }

    /// Drains, then moves the clock past every retry delay and drains again, until nothing is
    /// left pending (at most `rounds` times).
    pub async fn drain_with_retries(&self, rounds: usize) {
        for _ in 0..rounds {
            self.drain().await;
            if self.pending_outbox_rows().await == 0 {
                return;
            }
            self.clock.advance(chrono::Duration::hours(2));
        }
    }

    pub async fn pending_outbox_rows(&self) -> i64 {
        self.store
            .read(|c| {
                use diesel::prelude::*;
                use npsd::store::schema::outbox as o;
                Ok(o::table
                    .filter(o::status.eq("pending"))
                    .count()
                    .get_result(c)?)
            })
            .await
            .unwrap()
    }

    /// Drains the outbox and returns the messages to `recipient`, asserting there are at least `n`.
    pub async fn drain_and_messages_to(&self, recipient: &str, n: usize) -> Vec<ReceivedMail> {
        self.drain().await;
        let got = self.smtp.messages_to(recipient);
        assert!(
            got.len() >= n,
            "expected {n} message(s) to {recipient} after draining the outbox, got {}.\n{}",
            got.len(),
            self.smtp.describe()
        );
        got
    }

    /// Posts a transaction and sends its survey email.
    pub async fn transaction_and_email(&self, transaction_id: &str, email: &str) -> SurveyMail {
        let before = self.smtp.messages_to(email).len();
        let r = self
            .post_transaction(json!({"transaction_id": transaction_id, "email": email, "name": "Ann", "properties": {"plan": "pro", "country": "DE"}}))
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        assert_eq!(r.body["invitation"]["status"], "scheduled", "{}", r.body);
        let mails = self.drain_and_messages_to(email, before + 1).await;
        SurveyMail::new(mails[before].clone())
    }

    pub async fn nps(&self, query: &str) -> Value {
        let r = self
            .get_api(&format!("/api/v1/surveys/default/nps{query}"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body
    }

    pub async fn comments(&self, query: &str) -> Value {
        let r = self
            .get_api(&format!("/api/v1/surveys/default/comments{query}"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body
    }

    /// Re-posting a known transaction answers with its invitation as it is now.
    pub async fn invitation(&self, transaction_id: &str, email: &str) -> Value {
        let r = self
            .post_transaction(json!({"transaction_id": transaction_id, "email": email}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body["invitation"].clone()
    }

    /// Drains the outbox, then expects the invitation in `status`.
    pub async fn drain_and_expect_status(
        &self,
        transaction_id: &str,
        email: &str,
        status: &str,
    ) -> Value {
        self.drain().await;
        let inv = self.invitation(transaction_id, email).await;
        assert_eq!(inv["status"], status, "{inv}");
        inv
    }

    /// The RFC 8058 one-click unsubscribe a mail client sends.
    pub async fn one_click_unsubscribe(&self, mail: &SurveyMail) -> StatusCode {
        self.post_form(
            &mail.unsubscribe_link(),
            &[("List-Unsubscribe", "One-Click")],
        )
        .await
        .0
    }

    pub async fn get_page(&self, url: &str) -> (StatusCode, String) {
        let res = self.client.get(url).send().await.expect("GET");
        (res.status(), res.text().await.unwrap())
    }

    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let res = self.client.post(url).form(form).send().await.expect("POST");
        (res.status(), res.text().await.unwrap())
    }

    /// An answer to the default survey as the widget on a page of `origin` posts it; the reply
    /// is checked to be 201 Created and returned as JSON.
    pub async fn web_answer_created(&self, origin: &str, body: &Value) -> Value {
        let res = self
            .client
            .post(self.url("/api/v1/embed/default/responses"))
            .header("Origin", origin)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{text}");
        serde_json::from_str(&text).unwrap()
    }

    /// The default survey's responses as CSV (`responses.csv`, 200 checked).
    pub async fn export_csv(&self) -> String {
        let res = self
            .client
            .get(self.url("/api/v1/surveys/default/responses.csv"))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        res.text().await.unwrap()
    }
}

/// A survey email as received, with its links picked out.
pub struct SurveyMail {
    pub mail: ReceivedMail,
    pub text: String,
    pub html: String,
}

impl SurveyMail {
    pub fn new(mail: ReceivedMail) -> SurveyMail {
        let text = mail.text_body().replace("\r\n", "\n");
        let html = mail.html_body().replace("\r\n", "\n");
        SurveyMail { mail, text, html }
    }

    /// The score links of the text part, in order 0..=10.
    pub fn score_links(&self) -> Vec<String> {
        let mut links: Vec<(u8, String)> = self
            .text
            .split_whitespace()
            .filter(|w| w.starts_with("http") && w.contains("/r/") && w.contains("?score="))
            .map(|w| {
                let score = w
                    .rsplit("?score=")
                    .next()
                    .unwrap()
                    .trim_end_matches(|c: char| !c.is_ascii_digit());
                (
                    score.parse().unwrap(),
                    w.trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
                        .to_string(),
                )
            })
            .collect();
        links.sort();
        links.dedup();
        links.into_iter().map(|(_, l)| l).collect()
    }

    pub fn score_link(&self, score: u8) -> String {
        let links = self.score_links();
        assert_eq!(
            links.len(),
            11,
            "expected 11 score links in:\n{}",
            self.text
        );
        links[score as usize].clone()
    }

    /// The response form: the score links without their score.
    pub fn form_link(&self) -> String {
        self.score_link(0).split('?').next().unwrap().to_string()
    }

    /// The unsubscribe URL from the List-Unsubscribe header.
    pub fn unsubscribe_link(&self) -> String {
        let h = self
            .mail
            .header("List-Unsubscribe")
            .expect("List-Unsubscribe header");
        h.trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_string()
    }

    /// The link token.
    pub fn token(&self) -> String {
        let l = self.score_link(0);
        l.split("/r/")
            .nth(1)
            .unwrap()
            .split('?')
            .next()
            .unwrap()
            .to_string()
    }

    /// The hidden trap link of the HTML part.
    pub fn trap_link(&self) -> String {
        let start = self.html.find("/verify").expect("trap link in html");
        let begin = self.html[..start].rfind("href=\"").expect("href") + 6;
        self.html[begin..start + "/verify".len()].to_string()
    }
}

/// The scores whose radio button is checked on a form page.
pub fn checked_scores(page: &str) -> Vec<u8> {
    page.split("<input")
        .skip(1)
        .map(|tag| tag.split('>').next().unwrap_or(""))
        .filter(|tag| tag.contains("name=\"score\"") && tag.contains("checked"))
        .filter_map(|tag| {
            tag.split("value=\"")
                .nth(1)?
                .split('"')
                .next()?
                .parse()
                .ok()
        })
        .collect()
}
