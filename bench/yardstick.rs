//! The write yardstick: the most durable single-row appends per second a server on this machine
//! can acknowledge to this client, so that bench/run.py compares npsd's write paths (a click, a
//! comment, a widget answer, an ingested transaction) with it instead of with `/livez`, which
//! touches no database. It is measured in the same run as npsd, on each backend, with the same
//! wrk settings, on a fresh database of its own.
//!
//! Nothing of npsd: actix-web and diesel only, and the same kind of group commit as npsd's writer
//! (crates/npsd-store/src/writer.rs). Each `POST /append` goes through a bounded queue to the
//! writer threads (1 on SQLite, 2 on PostgreSQL, each with a connection of its own); a writer
//! takes every request waiting (at most 256), inserts one row for each, one statement each, in
//! ONE transaction (`BEGIN IMMEDIATE` on SQLite, with npsd's pragmas: WAL, synchronous=NORMAL, a
//! busy timeout), commits, and only then answers each caller `201 {"id": ...}`. A row is the size
//! of an answer event: a 36-character time-ordered id, a survey id, a score, a comment (when
//! given) and a timestamp.
//!
//!     yardstick --database-url sqlite://PATH|postgres://URL [--port N]
//!
//! `--port 0` (the default) picks a free port. It prints `listening on 127.0.0.1:PORT` on stdout
//! once it listens (bench/run.py reads it), creates its table if missing, and serves
//! `POST /append` (form or query `score=N`, 0 to 10, default 0, and optionally `comment=...`; any
//! body is accepted) and `GET /livez` (200 `ok`) until SIGTERM or Ctrl-C.
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, ExpressionMethods, QueryResult, RunQueryDsl};
use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};

/// The most appends one transaction takes; the rest wait for the next (as npsd's writer).
const MAX_BATCH: usize = 256;
/// Appends waiting for a writer; beyond, callers wait (asynchronously) for room (as npsd's).
const QUEUE: usize = 4096;
/// Every row's survey id: a constant of an answer's size.
const SURVEY: &str = "0193e0c2-6a4f-7d41-9b8e-yardstick000";

diesel::table! {
    yardstick_events (id) {
        id -> Text,
        survey_id -> Text,
        score -> Integer,
        comment -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS yardstick_events (\
     id TEXT PRIMARY KEY, survey_id TEXT NOT NULL, score INTEGER NOT NULL, comment TEXT, \
     created_at TIMESTAMP NOT NULL)";

/// The pragmas npsd gives every SQLite connection (`setup_connection` in npsd-store).
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; \
     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;";

#[derive(Clone)]
enum Database {
    Sqlite(String),
    Postgres(String),
}

impl Database {
    fn parse(raw: &str) -> Result<Database, String> {
        let raw = raw.trim();
        if let Some(path) = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err("sqlite:// needs a file path".into());
            }
            Ok(Database::Sqlite(path.to_string()))
        } else if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            Ok(Database::Postgres(raw.to_string()))
        } else {
            Err("must start with sqlite:// or postgres://".into())
        }
    }

    /// Writer threads: SQLite has one writer anyway; PostgreSQL takes two side by side (as npsd).
    fn writers(&self) -> usize {
        match self {
            Database::Sqlite(_) => 1,
            Database::Postgres(_) => 2,
        }
    }
}

enum Conn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

fn connect(db: &Database) -> Result<Conn, String> {
    match db {
        Database::Sqlite(path) => {
            let mut c = SqliteConnection::establish(path)
                .map_err(|e| format!("cannot open the SQLite file {path}: {e}"))?;
            c.batch_execute(SQLITE_PRAGMAS)
                .map_err(|e| format!("SQLite pragmas: {e}"))?;
            Ok(Conn::Sqlite(c))
        }
        Database::Postgres(url) => PgConnection::establish(url)
            .map(Conn::Postgres)
            .map_err(|e| format!("cannot connect to PostgreSQL: {e}")),
    }
}

fn create_table(conn: &mut Conn) -> QueryResult<()> {
    match conn {
        Conn::Sqlite(c) => c.batch_execute(CREATE_TABLE),
        Conn::Postgres(c) => c.batch_execute(CREATE_TABLE),
    }
}

/// A 36-character id like npsd's UUIDv7 strings: time-ordered (milliseconds first), then a
/// random part drawn once per process, then a counter.
fn new_id() -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static SALT: OnceLock<u64> = OnceLock::new();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let salt = *SALT.get_or_init(|| {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(now.as_nanos() as u64);
        h.finish()
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let ms = now.as_millis() as u64;
    format!(
        "{:08x}-{:04x}-7{:03x}-{:04x}-{:012x}",
        ms >> 16,
        ms & 0xffff,
        (salt >> 16) & 0xfff,
        salt & 0xffff,
        n & 0xffff_ffff_ffff
    )
}

/// One request's append, waiting in the queue; answered with the row's id after the commit.
struct Append {
    score: i32,
    comment: Option<String>,
    reply: oneshot::Sender<Result<String, String>>,
}

/// Takes what is waiting (at least one append, at most `MAX_BATCH`), or `None` once every sender
/// is gone. The queue's lock is held only while taking, so writer threads take turns.
fn next_batch(rx: &Mutex<mpsc::Receiver<Append>>) -> Option<Vec<Append>> {
    let mut queue = rx.lock().unwrap_or_else(|e| e.into_inner());
    let first = queue.blocking_recv()?;
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match queue.try_recv() {
            Ok(a) => batch.push(a),
            Err(_) => break,
        }
    }
    Some(batch)
}

/// `BEGIN` (`$begin`), one INSERT per append, `COMMIT`; on any error `ROLLBACK` and the error.
/// A macro, not a function: the same statements for both connection types.
macro_rules! append_all {
    ($c:ident, $begin:expr, $batch:expr, $ids:expr) => {{
        $c.batch_execute($begin)?;
        let mut result: QueryResult<()> = Ok(());
        for (a, id) in $batch.iter().zip($ids.iter()) {
            let row = (
                yardstick_events::id.eq(id),
                yardstick_events::survey_id.eq(SURVEY),
                yardstick_events::score.eq(a.score),
                yardstick_events::comment.eq(a.comment.as_deref()),
                yardstick_events::created_at.eq(chrono::Utc::now().naive_utc()),
            );
            if let Err(e) = diesel::insert_into(yardstick_events::table)
                .values(row)
                .execute(&mut *$c)
            {
                result = Err(e);
                break;
            }
        }
        if result.is_ok() {
            result = $c.batch_execute("COMMIT");
        }
        if result.is_err() {
            let _ = $c.batch_execute("ROLLBACK");
        }
        result
    }};
}

/// The batch's rows in one transaction.
fn commit(conn: &mut Conn, batch: &[Append], ids: &[String]) -> QueryResult<()> {
    match conn {
        Conn::Sqlite(c) => append_all!(c, "BEGIN IMMEDIATE", batch, ids),
        Conn::Postgres(c) => append_all!(c, "BEGIN", batch, ids),
    }
}

/// A writer thread: batch after batch until the queue is closed. A batch that does not commit is
/// answered with its error (503) and the connection is opened again for the next.
fn writer(db: &Database, rx: &Mutex<mpsc::Receiver<Append>>) {
    let mut conn: Option<Conn> = None;
    while let Some(batch) = next_batch(rx) {
        if conn.is_none() {
            match connect(db) {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    for a in batch {
                        let _ = a.reply.send(Err(e.clone()));
                    }
                    continue;
                }
            }
        }
        let c = conn.as_mut().expect("connected above");
        let ids: Vec<String> = batch.iter().map(|_| new_id()).collect();
        match commit(c, &batch, &ids) {
            Ok(()) => {
                // The caller may have gone: the row stands regardless.
                for (a, id) in batch.into_iter().zip(ids) {
                    let _ = a.reply.send(Ok(id));
                }
            }
            Err(e) => {
                conn = None;
                let message = format!("the batch did not commit: {e}");
                for a in batch {
                    let _ = a.reply.send(Err(message.clone()));
                }
            }
        }
    }
}

/// `POST /append`: `score` (and `comment`) from the query string or a form body, any body else.
async fn append(
    req: HttpRequest,
    body: web::Bytes,
    queue: web::Data<mpsc::Sender<Append>>,
) -> HttpResponse {
    let mut score: Option<String> = None;
    let mut comment: Option<String> = None;
    for source in [req.query_string().as_bytes(), &body[..]] {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(source).unwrap_or_default();
        for (name, value) in pairs {
            match name.as_str() {
                "score" => score = Some(value),
                "comment" => comment = Some(value).filter(|c| !c.is_empty()),
                _ => {}
            }
        }
    }
    let score = match score.as_deref().unwrap_or("0").trim().parse::<i32>() {
        Ok(n) if (0..=10).contains(&n) => n,
        _ => return HttpResponse::BadRequest().body("score must be a whole number from 0 to 10"),
    };
    let (reply, answer) = oneshot::channel();
    if queue
        .send(Append {
            score,
            comment,
            reply,
        })
        .await
        .is_err()
    {
        return HttpResponse::ServiceUnavailable().body("the writers are gone");
    }
    match answer.await {
        Ok(Ok(id)) => HttpResponse::Created().json(serde_json::json!({ "id": id })),
        Ok(Err(e)) => HttpResponse::ServiceUnavailable().body(e),
        Err(_) => HttpResponse::ServiceUnavailable().body("the writer dropped the append"),
    }
}

async fn livez() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

fn usage() -> ! {
    eprintln!("usage: yardstick --database-url sqlite://PATH|postgres://URL [--port N]");
    std::process::exit(2)
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[actix_web::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(url) = arg(&args, "--database-url") else {
        usage()
    };
    let port: u16 = match arg(&args, "--port") {
        None => 0,
        Some(p) => p.parse().unwrap_or_else(|_| usage()),
    };
    let db = Database::parse(&url).unwrap_or_else(|e| {
        eprintln!("yardstick: --database-url: {e}");
        std::process::exit(2)
    });
    // The table, on a connection of its own (on SQLite it also turns on WAL for the file).
    let created = connect(&db).and_then(|mut c| create_table(&mut c).map_err(|e| e.to_string()));
    if let Err(e) = created {
        eprintln!("yardstick: cannot create the table: {e}");
        return ExitCode::FAILURE;
    }
    let (tx, rx) = mpsc::channel::<Append>(QUEUE);
    let rx = Arc::new(Mutex::new(rx));
    let writers: Vec<std::thread::JoinHandle<()>> = (0..db.writers())
        .map(|n| {
            let (db, rx) = (db.clone(), rx.clone());
            std::thread::Builder::new()
                .name(format!("yardstick-writer-{n}"))
                .spawn(move || writer(&db, &rx))
                .expect("starting a writer thread")
        })
        .collect();
    let listener = match std::net::TcpListener::bind(("127.0.0.1", port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("yardstick: cannot listen on 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
    let queue = web::Data::new(tx);
    let for_apps = queue.clone();
    let server = match HttpServer::new(move || {
        App::new()
            .app_data(for_apps.clone())
            .route("/append", web::post().to(append))
            .route("/livez", web::get().to(livez))
    })
    .listen(listener)
    {
        Ok(s) => s.shutdown_timeout(2).run(),
        Err(e) => {
            eprintln!("yardstick: cannot serve: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on 127.0.0.1:{port}");
    let _ = std::io::stdout().flush();
    let served = server.await;
    // The writers end once every sender is gone (the apps' went with the server): their
    // connections close before the process exits. Bounded: 5 s at most.
    drop(queue);
    let end = Instant::now() + Duration::from_secs(5);
    while writers.iter().any(|w| !w.is_finished()) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(10));
    }
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("yardstick: {e}");
            ExitCode::FAILURE
        }
    }
}
