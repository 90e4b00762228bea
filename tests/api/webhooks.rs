//! Events and webhooks end to end: a real receiver (tests/webhooks/receiver.py) verifies every
//! delivery with the Standard Webhooks reference library (PyPI `standardwebhooks`); customers
//! click and comment through the survey email; npsd runs as a process that is SIGKILLed during
//! delivery.
use crate::backend_tests;
use crate::helpers::{spawn_app_with, Backend, SurveyMail, TestApp, API_KEY};
use crate::process::NpsdProcess;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

backend_tests!(
    a_detractors_click_and_comment_reach_a_verified_webhook_in_order,
    a_failing_endpoint_is_retried_with_the_same_webhook_id,
    killing_npsd_during_delivery_loses_no_event,
    an_endpoint_failing_for_a_day_is_disabled_the_admins_told_and_resumed,
    every_door_records_the_same_events,
);

/// The Python receiver, killed when dropped.
pub struct Receiver {
    child: Child,
    pub port: u16,
    client: reqwest::Client,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Receiver {
    pub fn start() -> Receiver {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/webhooks/receiver.py");
        let mut child = Command::new("python3")
            .arg(script)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs the webhook receiver");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the receiver prints its port");
        let port = line.trim().parse().unwrap_or_else(|_| {
            panic!("the webhook receiver did not start (is `standardwebhooks` installed? pip install -r tests/webhooks/requirements.txt): {line:?}")
        });
        Receiver {
            child,
            port,
            client: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub async fn control(&self, cfg: Value) {
        let r = self
            .client
            .post(self.url("/_control"))
            .json(&cfg)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    /// Sets the endpoint's secret and the app's clock offset (the library checks timestamps).
    pub async fn expect(&self, secret: &str, ahead: chrono::Duration) {
        self.control(json!({"secret": secret, "offset_seconds": ahead.num_seconds()}))
            .await;
    }

    pub async fn received(&self) -> Vec<Value> {
        self.client
            .get(self.url("/_received"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Waits until `pred` holds for the deliveries received (at most `within`).
    pub async fn wait_until(
        &self,
        within: Duration,
        pred: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let got = self.received().await;
            if pred(&got) {
                return got;
            }
            assert!(
                start.elapsed() < within,
                "the receiver did not get what was expected within {within:?}; it has:\n{}",
                serde_json::to_string_pretty(&got).unwrap()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The types of the Standard Webhooks events delivered (Delighted-shaped ones have none).
fn types(got: &[Value]) -> Vec<String> {
    got.iter()
        .filter(|d| d["answered"] == 200)
        .filter_map(|d| d["payload"]["type"].as_str().map(str::to_string))
        .collect()
}

const OPEN: &[(&str, &str)] = &[
    ("NPSD_DISPATCHER", "on"),
    ("NPSD_WEBHOOK_ALLOW_HTTP", "1"),
    ("NPSD_WEBHOOK_ALLOW_PRIVATE", "1"),
];

async fn create_webhook(app: &TestApp, body: Value) -> Value {
    let r = app
        .api(reqwest::Method::POST, "/api/v1/webhooks", Some(body))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

/// Posts a transaction and waits for its survey email (the dispatcher runs in the background).
async fn email_for(app: &TestApp, transaction_id: &str, email: &str) -> SurveyMail {
    let r = app
        .post_transaction(json!({"transaction_id": transaction_id, "email": email, "name": "Dana", "properties": {"plan": "pro"}}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let start = Instant::now();
    loop {
        if let Some(m) = app.smtp.messages_to(email).first() {
            return SurveyMail::new(m.clone());
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no survey email");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn a_detractors_click_and_comment_reach_a_verified_webhook_in_order(backend: Backend) {
    let app = spawn_app_with(backend, OPEN).await;
    let receiver = Receiver::start();
    let hook = create_webhook(
        &app,
        json!({"url": receiver.url("/hooks/npsd"), "events": ["response.created", "comment.added"], "description": "CRM"}),
    )
    .await;
    let secret = hook["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"), "{hook}");
    assert_eq!(hook["enabled"], true);
    assert_eq!(hook["survey"], Value::Null);
    assert_eq!(hook["events"], json!(["response.created", "comment.added"]));
    receiver
        .expect(secret, app.clock.ahead_of_wall_clock())
        .await;
    let id = hook["id"].as_str().unwrap().to_string();
    // A receiver written for Delighted gets Delighted's shape and signature.
    let delighted = create_webhook(
        &app,
        json!({"url": receiver.url("/delighted"), "format": "delighted"}),
    )
    .await;
    assert_eq!(delighted["format"], "delighted");
    let delighted_secret = delighted["secret"].as_str().unwrap().to_string();
    // The secret is shown once.
    let shown = app.get_api(&format!("/api/v1/webhooks/{id}")).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.body.get("secret").is_none(), "{}", shown.body);

    let mail = email_for(&app, "order-77", "dana@example.com").await;
    let (status, _) = app.get_page(&mail.score_link(3)).await;
    assert_eq!(status, StatusCode::OK);
    let got = receiver
        .wait_until(Duration::from_secs(5), |g| !types(g).is_empty())
        .await;
    assert_eq!(types(&got), vec!["response.created"]);
    let (status, _) = app
        .post_form(
            &mail.form_link(),
            &[("score", "3"), ("comment", "The parcel came a week late.")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let got = receiver
        .wait_until(Duration::from_secs(5), |g| {
            types(g).len() >= 2 && g.iter().filter(|d| d["path"] == "/delighted").count() >= 2
        })
        .await;
    let (shaped, got): (Vec<Value>, Vec<Value>) =
        got.into_iter().partition(|d| d["path"] == "/delighted");
    assert_eq!(types(&got), vec!["response.created", "comment.added"]);
    // Delighted's shape: no invitation.sent (Delighted had no such webhook), the two answer
    // changes as survey_response.updated, signed sha256=HEX(HMAC-SHA256(secret, body)).
    assert_eq!(shaped.len(), 2, "{shaped:?}");
    for d in &shaped {
        use hmac::Mac;
        let body = d["body"].as_str().unwrap();
        let mut mac =
            hmac::Hmac::<sha2::Sha256>::new_from_slice(delighted_secret.as_bytes()).unwrap();
        mac.update(body.as_bytes());
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(d["delighted_signature"], expected.as_str());
        let p: Value = serde_json::from_str(body).unwrap();
        assert_eq!(p["event_type"], "survey_response.updated");
        assert_eq!(p["event_data"]["survey_type"], "nps");
        assert_eq!(p["event_data"]["score"], 3);
        assert_eq!(p["event_data"]["person"]["email"], "dana@example.com");
        assert_eq!(p["event_data"]["person_properties"]["plan"], "pro");
        assert!(p["event_data"]["created_at"].is_i64());
    }
    let last: Value = serde_json::from_str(shaped[1]["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        last["event_data"]["comment"],
        "The parcel came a week late."
    );
    for d in &got {
        assert_eq!(d["verified"], true, "standardwebhooks refused it: {d}");
        assert_eq!(d["path"], "/hooks/npsd");
        assert_eq!(d["content_type"], "application/json");
        assert_eq!(d["webhook_id"], d["payload"]["id"], "{d}");
        assert!(d["webhook_signature"].as_str().unwrap().starts_with("v1,"));
    }
    let comment = &got[1]["payload"];
    assert_eq!(comment["survey"], "default");
    let response = &comment["data"]["response"];
    assert_eq!(response["score"], 3);
    assert_eq!(response["category"], "detractor");
    assert_eq!(response["comment"], "The parcel came a week late.");
    assert_eq!(response["channel"], "email");
    assert_eq!(response["status"], "counted");
    assert_eq!(response["person"]["email"], "dana@example.com");
    assert_eq!(response["person"]["name"], "Dana");
    assert_eq!(response["transaction_id"], "order-77");
    assert_eq!(response["properties"]["plan"], "pro");
    let rid = response["id"].as_str().unwrap();
    assert_eq!(
        response["links"]["dashboard"],
        format!("{}/dashboard/default/responses/{rid}", app.address)
    );
    assert_eq!(got[0]["payload"]["data"]["response"]["id"], rid);

    // The delivery log, newest first (written a moment after the receiver has the event).
    let start = Instant::now();
    let log = loop {
        let log = app
            .get_api(&format!("/api/v1/webhooks/{id}/deliveries"))
            .await;
        assert_eq!(log.status, StatusCode::OK, "{}", log.body);
        if log.body["deliveries"].as_array().unwrap().len() >= 2 {
            break log;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "{}", log.body);
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let deliveries = log.body["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 2, "{}", log.body);
    assert_eq!(deliveries[0]["event_type"], "comment.added");
    assert_eq!(deliveries[0]["outcome"], "delivered");
    assert_eq!(deliveries[0]["response_code"], 200);
    assert_eq!(deliveries[0]["attempt"], 1);
    assert!(deliveries[0]["response_body"]
        .as_str()
        .unwrap()
        .contains("ok"));

    // The same events for a consumer that polls, with the invitation's too.
    let all = app.get_api("/api/v1/events").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    let kinds: Vec<&str> = all.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec!["invitation.sent", "response.created", "comment.added"],
        "{}",
        all.body
    );
    let sent = &all.body["events"][0]["data"]["invitation"];
    assert_eq!(sent["transaction_id"], "order-77");
    assert_eq!(sent["status"], "sent");
    let cursor = all.body["next_cursor"].as_str().unwrap().to_string();
    let none = app.get_api(&format!("/api/v1/events?after={cursor}")).await;
    assert_eq!(none.body["events"], json!([]));
    assert_eq!(none.body["next_cursor"], cursor);
    let only = app.get_api("/api/v1/events?type=comment.added").await;
    assert_eq!(only.body["events"].as_array().unwrap().len(), 1);
    assert_eq!(only.body["events"][0]["id"], got[1]["payload"]["id"]);

    // A test event, and a redelivery with the original webhook-id.
    let t = app
        .api(
            reqwest::Method::POST,
            &format!("/api/v1/webhooks/{id}/test"),
            None,
        )
        .await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.body);
    assert_eq!(t.body["outcome"], "delivered");
    assert_eq!(t.body["event_type"], "webhook.test");
    let first = deliveries[1]["id"].as_str().unwrap();
    let again = app
        .api(
            reqwest::Method::POST,
            &format!("/api/v1/webhooks/{id}/deliveries/{first}/redeliver"),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["outcome"], "delivered");
    assert_eq!(again.body["attempt"], 2);
    let got = receiver
        .wait_until(Duration::from_secs(5), |g| {
            g.iter().filter(|d| d["path"] == "/hooks/npsd").count() >= 4
        })
        .await;
    let got: Vec<Value> = got
        .into_iter()
        .filter(|d| d["path"] == "/hooks/npsd")
        .collect();
    assert_eq!(got[2]["payload"]["type"], "webhook.test");
    assert_eq!(got[3]["webhook_id"], got[0]["webhook_id"]);
    assert!(got.iter().all(|d| d["verified"] == true));

    // A response event only reaches an endpoint that wants it: an erasure is seen by polling.
    let erased = app
        .client
        .delete(app.url("/api/v1/people/dana@example.com"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert!(erased.status().is_success(), "{}", erased.status());
    let after = app.get_api(&format!("/api/v1/events?after={cursor}")).await;
    let events = after.body["events"].as_array().unwrap();
    assert_eq!(
        events.len(),
        1,
        "the person's events went with them: {}",
        after.body
    );
    assert_eq!(events[0]["type"], "person.erased");
    // No copy of the address stays behind: the ids the earlier events carried say who it was.
    assert!(!after.body.to_string().contains("dana@"), "{}", after.body);
    assert_eq!(events[0]["data"]["responses"], json!([rid]));
    let invitation = sent["id"].as_str().unwrap();
    assert_eq!(events[0]["data"]["invitations"], json!([invitation]));
    let before = app.get_api("/api/v1/events").await;
    assert_eq!(
        before.body["events"].as_array().unwrap().len(),
        1,
        "{}",
        before.body
    );
}

async fn a_failing_endpoint_is_retried_with_the_same_webhook_id(backend: Backend) {
    let app = spawn_app_with(backend, OPEN).await;
    let receiver = Receiver::start();
    let hook = create_webhook(&app, json!({"url": receiver.url("/in")})).await;
    receiver
        .expect(
            hook["secret"].as_str().unwrap(),
            app.clock.ahead_of_wall_clock(),
        )
        .await;
    receiver
        .control(json!({"fail_first": 1, "status": 503}))
        .await;
    let id = hook["id"].as_str().unwrap();
    // A bounce recorded through the API: an event of no survey, for an endpoint of all surveys.
    let r = app
        .api(
            reqwest::Method::POST,
            "/api/v1/suppressions",
            Some(json!({"email": "gone@example.com", "reason": "bounce"})),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    // The first attempt is answered 503, the second about 5 seconds later 200.
    let got = receiver
        .wait_until(Duration::from_secs(15), |g| g.len() >= 2)
        .await;
    assert_eq!(got[0]["answered"], 503);
    assert_eq!(got[1]["answered"], 200);
    assert_eq!(got[0]["webhook_id"], got[1]["webhook_id"]);
    assert_eq!(got[1]["payload"]["type"], "bounce.created");
    assert_eq!(got[1]["payload"]["data"]["email"], "gone@example.com");
    let waited = got[1]["at"].as_f64().unwrap() - got[0]["at"].as_f64().unwrap();
    assert!(waited >= 4.0, "retried after {waited} s, not about 5");
    // The log is written once the endpoint's answer is in: a moment after the receiver has it.
    let start = Instant::now();
    let log = loop {
        let log = app
            .get_api(&format!("/api/v1/webhooks/{id}/deliveries"))
            .await;
        if log.body["deliveries"].as_array().unwrap().len() >= 2 {
            break log;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "{}", log.body);
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let d = log.body["deliveries"].as_array().unwrap();
    assert_eq!(d.len(), 2, "{}", log.body);
    assert_eq!(d[1]["outcome"], "retrying");
    assert_eq!(d[1]["response_code"], 503);
    assert_eq!(d[0]["outcome"], "delivered");
    assert_eq!(d[0]["attempt"], 2);
}

/// npsd as a process, SIGKILLed while the receiver holds a delivery open: after a restart every
/// event arrives, repeats carry the same webhook-id, and nothing is lost.
async fn killing_npsd_during_delivery_loses_no_event(backend: Backend) {
    let _turn = crate::process::one_at_a_time().await;
    let db = crate::helpers::TestDb::migrated(backend);
    let smtp = crate::smtp::TestSmtp::start();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("npsd.log");
    let env = [
        ("NPSD_WEBHOOK_ALLOW_HTTP", "1"),
        ("NPSD_WEBHOOK_ALLOW_PRIVATE", "1"),
    ];
    let mut npsd = NpsdProcess::start(db.url(), &smtp.url(), &log, &env);
    npsd.wait_ready().await;
    let client = reqwest::Client::new();
    let receiver = Receiver::start();
    let hook: Value = client
        .post(npsd.url("/api/v1/webhooks"))
        .bearer_auth(API_KEY)
        .json(&json!({"url": receiver.url("/in"), "events": ["unsubscribe.created", "bounce.created"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The process runs on the machine's clock, moved as NPSD_TEST_CLOCK_SHIFT_DAYS says.
    let shift = std::env::var("NPSD_TEST_CLOCK_SHIFT_DAYS")
        .ok()
        .and_then(|d| d.trim().parse::<i64>().ok())
        .unwrap_or(0);
    receiver
        .expect(
            hook["secret"].as_str().expect("created"),
            chrono::Duration::days(shift),
        )
        .await;
    // Every delivery is held for 2 s: the kill lands while one is in flight.
    receiver.control(json!({"delay_seconds": 2.0})).await;
    let addresses: Vec<String> = (0..3).map(|i| format!("b{i}@example.com")).collect();
    for a in &addresses {
        let r = client
            .post(npsd.url("/api/v1/suppressions"))
            .bearer_auth(API_KEY)
            .json(&json!({"email": a, "reason": "bounce"}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
    receiver
        .wait_until(Duration::from_secs(10), |g| !g.is_empty())
        .await;
    npsd.kill();
    receiver.control(json!({"delay_seconds": 0.0})).await;
    npsd.restart();
    npsd.wait_ready().await;
    // The lease of the killed process runs out (15 s, NPSD_LEASE_SECONDS); the restarted
    // instance takes the endpoint over then.
    let got = receiver
        .wait_until(Duration::from_secs(60), |g| {
            let mut ids: Vec<&str> = g
                .iter()
                .filter(|d| d["answered"] == 200)
                .filter_map(|d| d["webhook_id"].as_str())
                .collect();
            ids.sort();
            ids.dedup();
            ids.len() >= 3
        })
        .await;
    assert!(got.iter().all(|d| d["verified"] == true));
    // Deduplicated by webhook-id, the receiver has each event once, in order.
    let mut seen: Vec<String> = Vec::new();
    for d in &got {
        let id = d["webhook_id"].as_str().unwrap().to_string();
        if !seen.contains(&id) {
            seen.push(id);
        }
    }
    let emails: Vec<String> = seen
        .iter()
        .map(|id| {
            got.iter().find(|d| d["webhook_id"] == id.as_str()).unwrap()["payload"]["data"]["email"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(emails, addresses, "in order, none lost");
    npsd.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_endpoints_are_checked_and_managed_through_the_api() {
    // Without the test-only allowances: https only, no private addresses.
    let app = spawn_app_with(Backend::Sqlite, &[]).await;
    let post = |body: Value| {
        let app = &app;
        async move {
            app.api(reqwest::Method::POST, "/api/v1/webhooks", Some(body))
                .await
        }
    };
    for (body, field) in [
        (json!({"url": "http://hooks.example.com/x"}), "url"),
        (json!({"url": "https://127.0.0.1/x"}), "url"),
        (json!({"url": "https://[::1]/x"}), "url"),
        (json!({"url": "https://10.1.2.3/x"}), "url"),
        (json!({"url": "https://169.254.169.254/latest"}), "url"),
        (json!({"url": "https://localhost/x"}), "url"),
        (json!({"url": "ftp://hooks.example.com/x"}), "url"),
        (json!({"url": "not a url"}), "url"),
        (json!({"url": "https://user:pw@hooks.example.com/x"}), "url"),
        (
            json!({"url": "https://hooks.example.com/x", "events": ["response.exploded"]}),
            "events",
        ),
        (
            json!({"url": "https://hooks.example.com/x", "survey": "nope"}),
            "survey",
        ),
        (
            json!({"url": "https://hooks.example.com/x", "colour": "red"}),
            "colour",
        ),
        (
            json!({"url": "https://hooks.example.com/x", "format": "zapier"}),
            "format",
        ),
        (json!({}), "url"),
    ] {
        let r = post(body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
        assert_eq!(r.body["error"]["field"], field, "{body}: {}", r.body);
        assert!(r.body["error"]["message"].is_string());
    }
    let made = post(json!({"url": "https://hooks.example.com/npsd", "survey": "default"})).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert_eq!(made.body["survey"], "default");
    assert_eq!(made.body["events"], json!([]));
    let id = made.body["id"].as_str().unwrap();
    let list = app.get_api("/api/v1/webhooks").await;
    assert_eq!(list.body["webhooks"].as_array().unwrap().len(), 1);
    assert!(list.body["webhooks"][0].get("secret").is_none());
    let patched = app
        .api(
            reqwest::Method::PATCH,
            &format!("/api/v1/webhooks/{id}"),
            Some(json!({"enabled": false, "survey": null, "events": ["person.erased"]})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["enabled"], false);
    assert_eq!(patched.body["survey"], Value::Null);
    assert_eq!(patched.body["events"], json!(["person.erased"]));
    let bad = app
        .api(
            reqwest::Method::PATCH,
            &format!("/api/v1/webhooks/{id}"),
            Some(json!({"url": "https://192.168.1.1/"})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let bad = app.get_api("/api/v1/events?type=nope").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let bad = app.get_api("/api/v1/events?after=garbage").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let deleted = app
        .client
        .delete(app.url(&format!("/api/v1/webhooks/{id}")))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    for path in [
        format!("/api/v1/webhooks/{id}"),
        format!("/api/v1/webhooks/{id}/deliveries"),
    ] {
        let r = app.get_api(&path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "not_found");
    }
}

async fn an_endpoint_failing_for_a_day_is_disabled_the_admins_told_and_resumed(backend: Backend) {
    let app = spawn_app_with(backend, OPEN).await;
    crate::dashboard::add_admin(&app);
    let receiver = Receiver::start();
    let hook = create_webhook(&app, json!({"url": receiver.url("/down")})).await;
    let secret = hook["secret"].as_str().unwrap().to_string();
    let id = hook["id"].as_str().unwrap().to_string();
    receiver
        .expect(&secret, app.clock.ahead_of_wall_clock())
        .await;
    receiver
        .control(json!({"fail_first": 1000, "status": 500}))
        .await;
    let r = app
        .api(
            reqwest::Method::POST,
            "/api/v1/suppressions",
            Some(json!({"email": "gone@example.com", "reason": "bounce"})),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    receiver
        .wait_until(Duration::from_secs(5), |g| !g.is_empty())
        .await;
    let shown = app.get_api(&format!("/api/v1/webhooks/{id}")).await;
    assert_eq!(shown.body["enabled"], true);
    assert!(shown.body["failing_since"].is_string(), "{}", shown.body);
    // A day later the endpoint still fails: it is disabled and every admin is told by email.
    app.clock.advance(chrono::Duration::hours(25));
    let start = Instant::now();
    let shown = loop {
        let shown = app.get_api(&format!("/api/v1/webhooks/{id}")).await;
        if shown.body["enabled"] == false {
            break shown;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{}", shown.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        shown.body["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("24 hours"),
        "{}",
        shown.body
    );
    let admin = crate::dashboard::ADMIN;
    let start = Instant::now();
    let told = loop {
        if let Some(m) = app.smtp.messages_to(admin).first() {
            break m.clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no notice to {admin}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert!(
        told.subject().contains("webhook was disabled"),
        "{}",
        told.subject()
    );
    for part in [told.text_body(), told.html_body()] {
        assert!(part.contains(&receiver.url("/down")), "{part}");
    }
    if crate::spam::spamassassin_available() {
        let (score, report) = crate::spam::spam_score(&told.raw);
        assert!(score < 1.0, "SpamAssassin score {score}:\n{report}");
    }
    // Fixed and resumed: the event it missed arrives, with its webhook-id.
    let first_id = receiver.received().await[0]["webhook_id"].clone();
    receiver.control(json!({"fail_first": 0})).await;
    receiver
        .expect(&secret, app.clock.ahead_of_wall_clock())
        .await;
    let resumed = app
        .api(
            reqwest::Method::PATCH,
            &format!("/api/v1/webhooks/{id}"),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(resumed.status, StatusCode::OK, "{}", resumed.body);
    assert_eq!(resumed.body["disabled_reason"], Value::Null);
    let got = receiver
        .wait_until(Duration::from_secs(5), |g| {
            g.iter().any(|d| d["answered"] == 200)
        })
        .await;
    let ok = got.iter().find(|d| d["answered"] == 200).unwrap();
    assert_eq!(ok["webhook_id"], first_id);
    assert_eq!(ok["verified"], true, "{ok}");
}

/// The types and channels of the events listed after `cursor` (from the start when None), with
/// the cursor to go on from.
async fn events_after(app: &TestApp, cursor: Option<&str>) -> (Vec<(String, String)>, String) {
    let path = match cursor {
        Some(c) => format!("/api/v1/events?limit=500&after={c}"),
        None => "/api/v1/events?limit=500".to_string(),
    };
    let r = app.get_api(&path).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let list = r.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["data"]["response"]["channel"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    (list, r.body["next_cursor"].as_str().unwrap().to_string())
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// The embedded form, the Delighted API, an import (silent unless --events), a change through
/// the Delighted API and an unsubscribe record the events the email links do.
async fn every_door_records_the_same_events(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("NPSD_EMBED_RATE_LIMIT", "0"),
            ("NPSD_EMBED_SURVEY_RATE_LIMIT", "0"),
        ],
    )
    .await;
    app.patch_survey(
        "default",
        json!({"allowed_origins": ["https://shop.example"]}),
    )
    .await;
    let (_, start) = events_after(&app, None).await;

    // The embedded form: an answer with its comment.
    app.web_answer_created(
        "https://shop.example",
        &json!({"score": 2, "comment": "Checkout kept failing.", "email": "web@example.com"}),
    )
    .await;
    let (got, cursor) = events_after(&app, Some(&start)).await;
    assert_eq!(
        got,
        pairs(&[("response.created", "web"), ("comment.added", "web")])
    );

    // The Delighted API: a person, then an answer for them.
    let person: Value = app
        .client
        .post(app.url("/v1/people.json"))
        .basic_auth(API_KEY, Some(""))
        .json(&json!({"email": "api@example.com", "send": false}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let res = app
        .client
        .post(app.url("/v1/survey_responses.json"))
        .basic_auth(API_KEY, Some(""))
        .form(&[("person", person["id"].as_str().unwrap()), ("score", "9")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let (got, cursor) = events_after(&app, Some(&cursor)).await;
    assert_eq!(got, pairs(&[("response.created", "api")]));

    // An import records nothing, unless asked to.
    let dir = tempfile::tempdir().unwrap();
    let env = [("NPSD_DATABASE_URL", app.db.url())];
    for (name, extra) in [("quiet.csv", None), ("loud.csv", Some("--events"))] {
        let file = dir.path().join(name);
        std::fs::write(
            &file,
            format!(
                "email,score,comment,responded_at\n{name}@example.com,6,Meh,2026-05-01T10:00:00Z\n"
            ),
        )
        .unwrap();
        let mut args = vec!["import", "csv"];
        args.extend(extra);
        args.push(file.to_str().unwrap());
        let (ok, out, err) = crate::cli::npsd_in(dir.path(), &env, &args);
        assert!(ok, "{out}\n{err}");
    }
    let (got, cursor) = events_after(&app, Some(&cursor)).await;
    assert_eq!(
        got,
        pairs(&[("response.created", "import"), ("comment.added", "import")]),
        "only the import with --events"
    );

    // A discard by hand (the dashboard's and the API's door) and a restore.
    let web = app.comments("?channel=web").await;
    let id = web["comments"][0]["id"].as_str().unwrap().to_string();
    for action in ["discard", "restore"] {
        let r = app
            .api(
                reqwest::Method::POST,
                &format!("/api/v1/surveys/default/responses/{id}/{action}"),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let r = app.get_api(&format!("/api/v1/events?after={cursor}")).await;
    let events = r.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{}", r.body);
    assert_eq!(events[0]["type"], "response.updated");
    assert_eq!(events[0]["data"]["previous"]["status"], "counted");
    assert_eq!(events[1]["data"]["previous"]["status"], "bot");
    assert_eq!(events[1]["data"]["response"]["status"], "counted");
}

/// A name that resolves to a loopback or private address is refused at delivery, by the
/// resolver the connection goes through: nothing reaches it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_resolving_to_a_private_address_is_refused_at_delivery() {
    use std::net::ToSocketAddrs;
    // A name this machine resolves (its hosts file) to loopback or a private address.
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let named: Vec<String> = hosts
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| {
            l.split_whitespace()
                .skip(1)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|h| h != "localhost" && !h.ends_with(".localhost"))
        .collect();
    let host = named
        .into_iter()
        .chain(
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string()),
        )
        .find(|h| {
            (h.as_str(), 443)
                .to_socket_addrs()
                .map(|a| {
                    let a: Vec<_> = a.collect();
                    !a.is_empty() && a.iter().all(|a| !npsd_app::webhooks::is_public(a.ip()))
                })
                .unwrap_or(false)
        })
        .expect("a host name resolving to loopback or a private address (/etc/hosts)");
    let app = spawn_app_with(Backend::Sqlite, &[("NPSD_DISPATCHER", "on")]).await;
    let url = format!("https://{host}/hook");
    let hook = create_webhook(&app, json!({"url": url})).await;
    let id = hook["id"].as_str().unwrap();
    let r = app
        .api(
            reqwest::Method::POST,
            "/api/v1/suppressions",
            Some(json!({"email": "gone@example.com", "reason": "bounce"})),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let start = Instant::now();
    let log = loop {
        let log = app
            .get_api(&format!("/api/v1/webhooks/{id}/deliveries"))
            .await;
        if !log.body["deliveries"].as_array().unwrap().is_empty() {
            break log;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no attempt");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let d = &log.body["deliveries"][0];
    assert_eq!(d["outcome"], "retrying", "{d}");
    assert_eq!(d["response_code"], Value::Null);
    assert!(
        d["error"]
            .as_str()
            .unwrap()
            .contains("loopback, link-local or private"),
        "{d}"
    );
}
