//! The emails as a spam filter sees them: SpamAssassin, offline.
use crate::helpers::{spawn_app, Backend};
use std::io::Write;
use std::process::{Command, Stdio};

pub fn spamassassin_available() -> bool {
    let found = Command::new("spamassassin")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok();
    if !found {
        if std::env::var("NPSD_TEST_REQUIRE_SPAMASSASSIN").as_deref() == Ok("1") {
            panic!("spamassassin is required (NPSD_TEST_REQUIRE_SPAMASSASSIN=1) but not installed");
        }
        eprintln!("SKIPPED: spamassassin is not installed (apt-get install spamassassin)");
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_survey_email_passes_spamassassin() {
    if !spamassassin_available() {
        return;
    }
    let app = spawn_app(Backend::Sqlite).await;
    let mail = app
        .transaction_and_email("order-1", "ann@example.com")
        .await;
    let (score, report) = spam_score(&mail.mail.raw);
    assert!(score < 1.0, "SpamAssassin score {score}:\n{report}");
}

/// SpamAssassin's score of a raw message (local tests only, no network), with its report.
pub fn spam_score(raw: &[u8]) -> (f64, String) {
    let mut child = Command::new("spamassassin")
        .args(["-L", "-t"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(raw).unwrap();
    let out = child.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    let status = report
        .lines()
        .find(|l| l.starts_with("X-Spam-Status:"))
        .unwrap_or_else(|| panic!("no X-Spam-Status in:\n{report}"));
    let score: f64 = status
        .split("score=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no score in {status}"));
    (score, report.into_owned())
}
