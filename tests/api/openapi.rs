//! The OpenAPI document: served, complete, and checked by schemathesis (a tool nobody here
//! wrote) against the running binary on both backends: no 5xx, every status documented, every
//! answer matching its schema.
use crate::helpers::{Backend, TestDb, API_KEY};
use crate::process::{one_at_a_time, NpsdProcess};
use crate::smtp::TestSmtp;
use serde_json::Value;
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_lists_every_route_with_its_errors() {
    let app = crate::helpers::spawn_app(Backend::Sqlite).await;
    let res = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/api/v1/transactions", vec!["post"]),
        ("/api/v1/transactions/batch", vec!["post"]),
        ("/api/v1/surveys", vec!["get", "post"]),
        ("/api/v1/surveys/{slug}", vec!["get", "patch"]),
        ("/api/v1/surveys/{slug}/nps", vec!["get"]),
        ("/api/v1/surveys/{slug}/comments", vec!["get"]),
        ("/api/v1/api-keys", vec!["get", "post"]),
        ("/api/v1/api-keys/{id}", vec!["delete"]),
        ("/api/v1/suppressions", vec!["get", "post"]),
        ("/api/v1/suppressions/{email}", vec!["delete"]),
        ("/api/v1/people/{email}", vec!["get", "delete"]),
    ] {
        for m in methods {
            let op = &paths[path][m];
            assert!(op.is_object(), "{m} {path} is documented");
            for status in ["401", "403", "422", "429"] {
                assert!(
                    op["responses"][status].is_object(),
                    "{m} {path} documents {status}"
                );
            }
        }
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

/// The schemathesis command: NPSD_SCHEMATHESIS names it (as `.ci/run` does), else `st` on PATH.
fn schemathesis() -> Option<String> {
    let named = std::env::var("NPSD_SCHEMATHESIS").ok();
    let candidates = named
        .into_iter()
        .chain(["st".to_string(), "schemathesis".to_string()]);
    let found = candidates.into_iter().find(|bin| {
        Command::new(bin)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        if std::env::var("NPSD_TEST_REQUIRE_SCHEMATHESIS").as_deref() == Ok("1") {
            panic!("schemathesis is required (NPSD_TEST_REQUIRE_SCHEMATHESIS=1) but `st` is not installed: pip install schemathesis");
        }
        eprintln!("SKIPPED: schemathesis is not installed (pip install schemathesis)");
    }
    found
}

async fn schemathesis_finds_nothing(backend: Backend) {
    let Some(st) = schemathesis() else { return };
    let _turn = one_at_a_time().await;
    let smtp = TestSmtp::start();
    let db = TestDb::create(backend);
    let dir = tempfile::tempdir().unwrap();
    let mut npsd = NpsdProcess::start(
        db.url(),
        &smtp.url(),
        &dir.path().join("npsd.log"),
        &[("NPSD_AUTH_FAILURE_LIMIT", "0")],
    );
    npsd.wait_ready().await;
    let examples = if crate::process::long() { "300" } else { "40" };
    let url = npsd.url("/api/openapi.json");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&st)
            .args(["run", &url, "-H", &format!("Authorization: Bearer {API_KEY}")])
            .args([
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
                "--max-examples",
                examples,
                "--workers",
                "2",
                "--seed",
                "20261126",
                "--request-timeout",
                "20",
            ])
            .env("NO_COLOR", "1")
            .current_dir(dir.path())
            .output()
            .expect("run schemathesis")
    })
    .await
    .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Vec<&str> = report
        .lines()
        .filter(|l| l.contains("generated") || l.contains("passed") || l.contains("failed"))
        .collect();
    eprintln!("schemathesis ({backend:?}): {}", summary.join(" | "));
    assert!(
        out.status.success(),
        "schemathesis found problems ({backend:?}):\n{report}\nnpsd log:\n{}",
        npsd.log_text()
    );
    npsd.terminate();
}

crate::backend_tests!(schemathesis_finds_nothing);
