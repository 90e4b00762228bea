//! The operator's commands, run as the built binary: `npsd keys`, `npsd suppress`, `npsd backup`,
//! what they do without a database; and what `npsd serve` writes to its log.
use crate::helpers::{spawn_app, Backend};
use diesel::{Connection, RunQueryDsl};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::process::Command;

fn npsd(db_url: &str, args: &[&str]) -> (bool, String, String) {
    npsd_in(
        &std::env::temp_dir(),
        &[("NPSD_DATABASE_URL", db_url)],
        args,
    )
}

/// Runs the built binary in `dir` with these variables (and no config file): success, stdout,
/// stderr.
pub(crate) fn npsd_in(
    dir: &std::path::Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_npsd"));
    cmd.env_remove("NPSD_CONFIG");
    outcome(cmd.args(args).envs(env.iter().copied()).current_dir(dir))
}

/// Runs a command to its end: success, stdout, stderr.
fn outcome(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().expect("run npsd");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_suppressions_from_the_command_line() {
    let app = spawn_app(Backend::Sqlite).await;
    let db = app.db.url().to_string();
    let (ok, out, err) = npsd(&db, &["keys", "create", "--name", "cli", "--scope", "read"]);
    assert!(ok, "{err}");
    let key = out.lines().last().unwrap().trim().to_string();
    assert!(key.starts_with("npsd_"), "{out}");
    let res = app
        .client
        .get(app.url("/api/v1/surveys"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .client
        .post(app.url("/api/v1/transactions"))
        .bearer_auth(&key)
        .json(&json!({"transaction_id": "1", "email": "a@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let (ok, out, _) = npsd(&db, &["keys", "list", "--json"]);
    assert!(ok);
    let keys: Value = serde_json::from_str(&out).unwrap();
    let id = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "cli")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!out.contains(&key));
    let (ok, _, err) = npsd(&db, &["keys", "revoke", &id]);
    assert!(ok, "{err}");
    let (ok, _, err) = npsd(&db, &["keys", "create", "--name", "x", "--scope", "root"]);
    assert!(!ok && err.contains("scope"), "{err}");

    let (ok, _, err) = npsd(&db, &["suppress", "Ann@Example.com", "--reason", "bounce"]);
    assert!(ok, "{err}");
    let r = app
        .post_transaction(json!({"transaction_id": "o-1", "email": "ann@example.com"}))
        .await;
    assert_eq!(r.body["invitation"]["reason"], "suppressed", "{}", r.body);
    let (ok, out, _) = npsd(&db, &["suppress", "list"]);
    assert!(
        ok && out.contains("Ann@Example.com") && out.contains("bounce"),
        "{out}"
    );
    let (ok, _, _) = npsd(&db, &["suppress", "remove", "ann@example.com"]);
    assert!(ok);
    let (ok, _, err) = npsd(&db, &["suppress", "remove", "ann@example.com"]);
    assert!(!ok && err.contains("not suppressed"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_serving_is_a_complete_database() {
    let app = spawn_app(Backend::Sqlite).await;
    let db = app.db.url().to_string();
    // Writes go on while the backup is taken.
    let writer = {
        let client = app.client.clone();
        let url = app.url("/api/v1/transactions");
        tokio::spawn(async move {
            for i in 0..200 {
                client
                    .post(&url)
                    .bearer_auth(crate::helpers::API_KEY)
                    .json(&json!({"transaction_id": format!("o-{i}"), "email": format!("c{i}@example.com"), "delay_seconds": 3600}))
                    .send()
                    .await
                    .unwrap();
            }
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.db");
    let (ok, out, err) = npsd(&db, &["backup", file.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    writer.await.unwrap();

    // The copy opens as a database with every table, and consistent counts.
    let mut conn =
        diesel::sqlite::SqliteConnection::establish(file.to_str().unwrap()).expect("open backup");
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let count = |conn: &mut diesel::sqlite::SqliteConnection, sql: &str| {
        diesel::sql_query(sql).get_result::<Count>(conn).unwrap().n
    };
    let invitations = count(&mut conn, "SELECT count(*) AS n FROM invitations");
    let outbox = count(&mut conn, "SELECT count(*) AS n FROM outbox");
    assert_eq!(invitations, outbox, "each invitation has its outbox row");
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM surveys"), 1);
    assert!(!dir.path().join("backup.db.partial").exists());

    // It will not overwrite, and PostgreSQL is pointed to pg_dump.
    let (ok, _, err) = npsd(&db, &["backup", file.to_str().unwrap()]);
    assert!(!ok && err.contains("exists"), "{err}");
    let (ok, _, err) = npsd("postgres://nobody@127.0.0.1:1/x", &["backup", "/tmp/x.db"]);
    assert!(!ok && err.contains("pg_dump"), "{err}");

    // Restoring is copying the file back: a service started on the copy has the data.
    let restored = format!("sqlite://{}", file.display());
    let (ok, _, err) = npsd(&restored, &["migrate"]);
    assert!(ok, "{err}");
    let _ = app;
}

#[test]
fn a_read_only_database_names_the_variable_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("npsd.db");
    let (ok, _, err) = npsd(&format!("sqlite://{}", path.display()), &["migrate"]);
    assert!(ok, "{err}");
    // Opened read-only (root may write to any file, so chmod would not stop it).
    let url = format!("sqlite://file:{}?mode=ro", path.display());
    let out = Command::new(env!("CARGO_BIN_EXE_npsd"))
        .arg("serve")
        .env("NPSD_DATABASE_URL", &url)
        .env("NPSD_BIND", "127.0.0.1:0")
        .env_remove("NPSD_API_KEY")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("NPSD_DATABASE_URL"), "{err}");
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("read"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

/// Runs the built binary in `dir` with only these NPSD_ variables (none inherited, no config
/// file): success, stdout, stderr.
fn npsd_alone(
    dir: &std::path::Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_npsd"));
    for (k, _) in std::env::vars() {
        if (k.starts_with("NPSD_") && !k.starts_with("NPSD_TEST_")) || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    outcome(cmd.args(args).envs(env.iter().copied()).current_dir(dir))
}

/// The names of the files in `dir`.
fn files_in(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn admin_commands_refuse_a_missing_database_and_create_none() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let csv = elsewhere.path().join("history.csv");
    std::fs::write(
        &csv,
        "email,score,comment,responded_at\nann@example.com,9,,2025-03-01\n",
    )
    .unwrap();
    let csv = csv.to_str().unwrap();
    let commands: [&[&str]; 7] = [
        &["users", "add", "ann@shop.example", "--role", "admin"],
        &["users", "list"],
        &["keys", "create", "--name", "shop", "--scope", "ingest"],
        &["keys", "list"],
        &["suppress", "ann@example.com"],
        &["import", "csv", csv],
        &["digest", "--survey", "default", "--dry-run"],
    ];
    let expected = format!(
        "no database at SQLite file {}",
        dir.path().join("npsd.db").display()
    );
    for args in commands {
        let (ok, out, err) = npsd_alone(dir.path(), &[], args);
        assert!(
            !ok,
            "npsd {args:?} succeeded without a database: {out}{err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(err.contains(&expected), "npsd {args:?}: {err}");
        assert!(err.contains("NPSD_DATABASE_URL"), "{err}");
        assert!(err.contains("npsd migrate"), "{err}");
        assert!(
            files_in(dir.path()).is_empty(),
            "npsd {args:?} left {:?}",
            files_in(dir.path())
        );
    }
    // A database named elsewhere that is not there: that path is named.
    let missing = elsewhere.path().join("typo.db");
    let (ok, _, err) = npsd_alone(
        dir.path(),
        &[(
            "NPSD_DATABASE_URL",
            &format!("sqlite://{}", missing.display()),
        )],
        &["keys", "list"],
    );
    assert!(!ok && err.contains(&missing.display().to_string()), "{err}");
    assert!(!missing.exists());

    // `migrate` creates one; then the commands work, in its folder and pointed at it from another.
    let (ok, _, err) = npsd_alone(dir.path(), &[], &["migrate"]);
    assert!(ok, "{err}");
    let (ok, out, err) = npsd_alone(
        dir.path(),
        &[],
        &["keys", "create", "--name", "shop", "--scope", "ingest"],
    );
    assert!(ok && out.contains("created API key 'shop'"), "{out}{err}");
    let url = format!("sqlite://{}", dir.path().join("npsd.db").display());
    let (ok, out, err) = npsd_alone(
        elsewhere.path(),
        &[("NPSD_DATABASE_URL", &url)],
        &["import", "csv", csv],
    );
    assert!(ok && out.contains("1 imported"), "{out}{err}");
    assert!(!elsewhere.path().join("npsd.db").exists());
}

#[test]
fn admin_commands_refuse_a_database_npsd_never_set_up() {
    let dir = tempfile::tempdir().unwrap();
    // An empty file, and another program's SQLite database.
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, "").unwrap();
    let other = dir.path().join("other.db");
    let mut conn = diesel::sqlite::SqliteConnection::establish(other.to_str().unwrap()).unwrap();
    diesel::sql_query("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        .execute(&mut conn)
        .unwrap();
    drop(conn);
    for file in [&empty, &other] {
        let url = format!("sqlite://{}", file.display());
        let (ok, _, err) = npsd_alone(
            dir.path(),
            &[("NPSD_DATABASE_URL", &url)],
            &["users", "add", "ann@shop.example"],
        );
        assert!(!ok, "{err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(
            err.contains(&file.display().to_string()) && err.contains("not an npsd database"),
            "{err}"
        );
    }
    // Nothing was added to either.
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);
    let mut conn = diesel::sqlite::SqliteConnection::establish(other.to_str().unwrap()).unwrap();
    let tables = diesel::sql_query("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'")
        .get_result::<Count>(&mut conn)
        .unwrap();
    assert_eq!(tables.n, 1, "only the program's own table");
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[test]
fn admin_commands_refuse_a_postgres_database_that_is_missing_or_never_migrated() {
    if !crate::helpers::postgres_available() {
        return;
    }
    let db = crate::helpers::TestDb::create(Backend::Postgres);
    let dir = tempfile::tempdir().unwrap();
    let mut missing = url::Url::parse(db.url()).unwrap();
    missing.set_path("npsd_no_such_database");
    let (ok, _, err) = npsd_alone(
        dir.path(),
        &[("NPSD_DATABASE_URL", missing.as_str())],
        &["keys", "list"],
    );
    assert!(!ok, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("NPSD_DATABASE_URL")
            && err.contains("PostgreSQL database npsd_no_such_database"),
        "{err}"
    );

    // The test's database exists but was never migrated: refused, and left empty.
    let (ok, _, err) = npsd_alone(
        dir.path(),
        &[("NPSD_DATABASE_URL", db.url())],
        &["users", "add", "ann@shop.example"],
    );
    assert!(!ok, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("not an npsd database"), "{err}");
    let mut conn = diesel::pg::PgConnection::establish(db.url()).unwrap();
    let tables = diesel::sql_query(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = current_schema()",
    )
    .get_result::<Count>(&mut conn)
    .unwrap();
    assert_eq!(tables.n, 0, "npsd created tables");
    let (ok, _, err) = npsd_alone(dir.path(), &[("NPSD_DATABASE_URL", db.url())], &["migrate"]);
    assert!(ok, "{err}");
    let (ok, out, err) = npsd_alone(
        dir.path(),
        &[("NPSD_DATABASE_URL", db.url())],
        &["users", "add", "ann@shop.example"],
    );
    assert!(ok, "{out}{err}");
}

#[test]
fn a_sign_in_link_uses_the_public_url_or_says_it_assumes_the_default_address() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = npsd_alone(dir.path(), &[], &["migrate"]);
    assert!(ok, "{err}");
    let link = |out: &str| {
        out.lines()
            .find(|l| l.starts_with("http"))
            .unwrap_or_else(|| panic!("no link in {out}"))
            .to_string()
    };

    let (ok, out, err) = npsd_alone(
        dir.path(),
        &[("NPSD_PUBLIC_URL", "https://nps.shop.example/")],
        &["users", "add", "ann@shop.example"],
    );
    assert!(ok, "{err}");
    assert!(link(&out).starts_with("https://nps.shop.example/"), "{out}");
    assert!(!err.contains("NPSD_PUBLIC_URL"), "{err}");

    let (ok, out, err) = npsd_alone(dir.path(), &[], &["users", "add", "bob@shop.example"]);
    assert!(ok, "{err}");
    assert!(link(&out).starts_with("http://127.0.0.1:8080/"), "{out}");
    assert!(
        err.contains("NPSD_PUBLIC_URL") && err.contains("default address http://127.0.0.1:8080"),
        "the link's address is said to be an assumption: {err}"
    );
}

/// `npsd serve` with its output in a file (no terminal): answers a 404, a 422 and a 409, stops,
/// and returns what it wrote.
async fn serve_log(extra: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("npsd.log");
    let db = format!("sqlite://{}", dir.path().join("npsd.db").display());
    let mut env = vec![
        // Backtraces on: a client error must not carry one.
        ("RUST_BACKTRACE", "1"),
        ("RUST_LIB_BACKTRACE", "1"),
    ];
    env.extend_from_slice(extra);
    let mut npsd = crate::process::NpsdProcess::start(&db, "smtp://127.0.0.1:1", &log, &env);
    npsd.wait_ready().await;
    let client = reqwest::Client::new();
    let api = |method: reqwest::Method, path: &str| {
        client
            .request(method, npsd.url(path))
            .bearer_auth(crate::helpers::API_KEY)
    };
    let res = api(reqwest::Method::GET, "/api/v1/surveys/nosuch")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = api(reqwest::Method::POST, "/api/v1/transactions")
        .json(&json!({"transaction_id": "1", "email": "not an address"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = api(reqwest::Method::POST, "/api/v1/surveys")
        .json(&json!({"slug": "default"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    npsd.terminate();
    assert!(
        npsd.wait_exit(std::time::Duration::from_secs(30))
            .await
            .is_some(),
        "npsd did not stop"
    );
    npsd.log_text()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_to_a_file_are_plain_text_with_one_line_per_client_error() {
    let log = serve_log(&[]).await;
    assert!(!log.contains('\x1b'), "escape codes in the log:\n{log}");
    // Every line is an event of its own (a timestamp first): no backtrace, no cause chain.
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            line.starts_with(|c: char| c.is_ascii_digit()),
            "a line that is not an event: {line:?} in\n{log}"
        );
    }
    for status in ["404", "422", "409"] {
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.contains(&format!("status={status}")) && l.contains("refused"))
            .collect();
        assert_eq!(lines.len(), 1, "one line for the {status}:\n{log}");
        assert!(lines[0].contains("INFO"), "{}", lines[0]);
    }
    assert!(log.contains("no survey with slug 'nosuch'"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line() {
    let log = serve_log(&[("NPSD_LOG_FORMAT", "json")]).await;
    let events: Vec<Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect();
    for event in &events {
        assert!(
            event["level"].is_string() && event["message"].is_string(),
            "{event}"
        );
    }
    assert!(events.iter().any(|e| e["message"] == "npsd listening"));
    for status in [404, 422, 409] {
        let refused: Vec<&Value> = events
            .iter()
            .filter(|e| e["status"] == status && e["message"] == "request refused")
            .collect();
        assert_eq!(refused.len(), 1, "{log}");
        assert_eq!(refused[0]["level"], "INFO");
    }
}

#[test]
fn a_bad_log_format_stops_start_up_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_npsd"))
        .arg("serve")
        .env("NPSD_LOG_FORMAT", "yaml")
        .env("NPSD_BIND", "127.0.0.1:0")
        .env_remove("NPSD_CONFIG")
        .env_remove("NPSD_DATABASE_URL")
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("npsd started with NPSD_LOG_FORMAT=yaml");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("NPSD_LOG_FORMAT") && err.contains("yaml"),
        "{err}"
    );
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
}
