//! `npsd serve` as a real process: started from the built binary, killed with SIGKILL, stopped
//! with SIGTERM, several at once on one database. Its output goes to a log file the test can read.
#![allow(dead_code)]

use crate::helpers::API_KEY;
use npsd::store::{DatabaseUrl, Store};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub struct NpsdProcess {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
    env: Vec<(String, String)>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl NpsdProcess {
    /// Starts `npsd serve` on its own port with the test's settings; `extra` overrides.
    pub fn start(db_url: &str, smtp_url: &str, log: &Path, extra: &[(&str, &str)]) -> NpsdProcess {
        let mut env: Vec<(String, String)> = [
            ("NPSD_DATABASE_URL", db_url),
            ("NPSD_SMTP_URL", smtp_url),
            ("NPSD_API_KEY", API_KEY),
            ("NPSD_MAIL_FROM", "ACME Feedback <feedback@shop.example>"),
            ("NPSD_RETRY_BASE_MS", "100"),
            ("NPSD_DISPATCH_POLL_MS", "100"),
            ("NPSD_SMTP_TIMEOUT_SECONDS", "5"),
            ("NPSD_LOG", "info"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in extra {
            env.retain(|(key, _)| key != k);
            env.push((k.to_string(), v.to_string()));
        }
        Self::spawn(env, log)
    }

    fn spawn(env: Vec<(String, String)>, log: &Path) -> NpsdProcess {
        let port = free_port();
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_npsd"));
        cmd.arg("serve")
            .env("NPSD_BIND", format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .current_dir(log.parent().unwrap());
        for (k, _) in std::env::vars() {
            if (k.starts_with("NPSD_") && !k.starts_with("NPSD_TEST_")) || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start npsd");
        NpsdProcess {
            child,
            port,
            log: log.to_path_buf(),
            env,
        }
    }

    /// The same process again, after it died: same settings, a new port.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        *self = Self::spawn(self.env.clone(), &self.log);
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until /healthz answers 200.
    pub async fn wait_ready(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("npsd exited at start ({status}):\n{}", self.log_text());
            }
            if let Ok(res) = client.get(self.url("/healthz")).send().await {
                if res.status().is_success() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "npsd never became ready:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// SIGKILL: no chance to clean up, as in a crash or an OOM kill.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, as a service manager stops a service.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
    }

    /// Waits for the process to exit by itself.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Posts transactions in batches of 1,000.
    pub async fn ingest(&self, items: Vec<Value>) {
        let client = reqwest::Client::new();
        for chunk in items.chunks(1000) {
            let res = client
                .post(self.url("/api/v1/transactions/batch"))
                .bearer_auth(API_KEY)
                .json(&chunk)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), reqwest::StatusCode::OK);
            let body: Value = res.json().await.unwrap();
            assert_eq!(
                body["accepted"].as_u64(),
                Some(chunk.len() as u64),
                "{body}"
            );
        }
    }
}

impl Drop for NpsdProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The outbox as the database holds it: (status, lease held) counts.
pub async fn outbox_summary(db_url: &str) -> OutboxSummary {
    let url = DatabaseUrl::parse(db_url).unwrap();
    let store = tokio::task::spawn_blocking(move || Store::open(&url, 1))
        .await
        .unwrap()
        .expect("open the database");
    store
        .read(|c| {
            use diesel::prelude::*;
            use npsd::store::schema::outbox as o;
            let rows: Vec<(String, Option<String>)> =
                o::table.select((o::status, o::lease_id)).load(c)?;
            Ok(OutboxSummary {
                pending: rows.iter().filter(|(s, _)| s == "pending").count(),
                sent: rows.iter().filter(|(s, _)| s == "sent").count(),
                other: rows
                    .iter()
                    .filter(|(s, _)| s != "pending" && s != "sent")
                    .count(),
                leased: rows.iter().filter(|(_, l)| l.is_some()).count(),
            })
        })
        .await
        .unwrap()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxSummary {
    pub pending: usize,
    pub sent: usize,
    pub other: usize,
    /// Rows that still carry a lease (claimed, not finished or released).
    pub leased: usize,
}

/// A mail server that accepts connections and never says a word.
pub struct SilentSmtp {
    pub port: u16,
    pub connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl SilentSmtp {
    pub fn start() -> SilentSmtp {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = connections.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                held.push(stream);
            }
        });
        SilentSmtp { port, connections }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }
}

/// Appends a line to a results file when NPSD_RELIABILITY_REPORT names one (the long runs).
pub fn report(line: &str) {
    eprintln!("{line}");
    if let Ok(path) = std::env::var("NPSD_RELIABILITY_REPORT") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// Long variants (more kills, four instances, 10,000 invitations) run with NPSD_TEST_LONG=1.
pub fn long() -> bool {
    std::env::var("NPSD_TEST_LONG").as_deref() == Ok("1")
}

/// The tests that run several npsd processes take turns: on a 2-core machine, two of them at once
/// would measure CPU starvation rather than npsd.
pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    TURN.lock().await
}
