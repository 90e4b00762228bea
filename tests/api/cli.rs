//! The operator's commands, run as the built binary: `npsd keys`, `npsd suppress`, `npsd backup`.
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
    let out = Command::new(env!("CARGO_BIN_EXE_npsd"))
        .args(args)
        .envs(env.iter().copied())
        .env_remove("NPSD_CONFIG")
        .current_dir(dir)
        .output()
        .expect("run npsd");
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
