//! Alert rules end to end: a detractor clicks and comments through the survey email; Slack and
//! Teams receivers (tests/webhooks/receiver.py) get one message each with the payload shapes their
//! incoming webhooks take, the team's address gets one alert email over SMTP (text and HTML, under
//! 100 KB, SpamAssassin under 1); a discard as a bot brings a follow-up; a summary rule waits.
use crate::backend_tests;
use crate::helpers::{spawn_app_with, Backend, SurveyMail, TestApp};
use crate::webhooks::Receiver;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

backend_tests!(
    a_detractors_comment_reaches_slack_teams_and_email_once,
    a_summary_rule_sends_one_message_for_many_answers,
);

const OPEN: &[(&str, &str)] = &[
    ("NPSD_DISPATCHER", "on"),
    ("NPSD_WEBHOOK_ALLOW_HTTP", "1"),
    ("NPSD_WEBHOOK_ALLOW_PRIVATE", "1"),
];

async fn create_rule(app: &TestApp, body: Value) -> Value {
    let r = app
        .api(
            reqwest::Method::POST,
            "/api/v1/surveys/default/alerts",
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

fn at(got: &[Value], path: &str) -> Vec<Value> {
    got.iter()
        .filter(|d| d["path"] == path)
        .map(|d| serde_json::from_str(d["body"].as_str().unwrap()).unwrap())
        .collect()
}

/// Slack's incoming webhooks take `text` and Block Kit `blocks`.
fn assert_block_kit(m: &Value) {
    assert!(m["text"].as_str().is_some_and(|t| !t.is_empty()), "{m}");
    let blocks = m["blocks"].as_array().expect("blocks");
    assert!(!blocks.is_empty() && blocks.len() <= 50, "{m}");
    for b in blocks {
        let kind = b["type"].as_str().unwrap();
        assert!(
            ["header", "section", "actions", "divider", "context"].contains(&kind),
            "{b}"
        );
        if kind == "header" {
            assert_eq!(b["text"]["type"], "plain_text");
            assert!(b["text"]["text"].as_str().unwrap().chars().count() <= 150);
        }
        if kind == "section" {
            assert!(b.get("text").is_some() || b.get("fields").is_some(), "{b}");
            for f in b["fields"].as_array().into_iter().flatten() {
                assert_eq!(f["type"], "mrkdwn");
            }
        }
        if kind == "actions" {
            for e in b["elements"].as_array().unwrap() {
                assert_eq!(e["type"], "button");
                assert!(e["url"].as_str().unwrap().starts_with("http"));
            }
        }
    }
}

/// Teams takes a message whose attachment is an Adaptive Card.
fn assert_adaptive_card(m: &Value) {
    assert_eq!(m["type"], "message", "{m}");
    let a = &m["attachments"][0];
    assert_eq!(a["contentType"], "application/vnd.microsoft.card.adaptive");
    let card = &a["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert!(card["version"].as_str().is_some());
    for e in card["body"].as_array().unwrap() {
        let kind = e["type"].as_str().unwrap();
        assert!(["TextBlock", "FactSet"].contains(&kind), "{e}");
        if kind == "FactSet" {
            for f in e["facts"].as_array().unwrap() {
                assert!(f["title"].is_string() && f["value"].is_string(), "{f}");
            }
        }
    }
    for act in card["actions"].as_array().unwrap() {
        assert_eq!(act["type"], "Action.OpenUrl");
    }
}

async fn wait_for_mail(app: &TestApp, to: &str, n: usize) -> Vec<crate::smtp::ReceivedMail> {
    let start = Instant::now();
    loop {
        let got = app.smtp.messages_to(to);
        if got.len() >= n {
            return got;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "expected {n} message(s) to {to}:\n{}",
            app.smtp.describe()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn email_for(app: &TestApp, id: &str, email: &str) -> SurveyMail {
    let r = app
        .post_transaction(json!({"transaction_id": id, "email": email, "name": "Dana Reyes", "properties": {"plan": "pro"}}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    SurveyMail::new(wait_for_mail(app, email, 1).await[0].clone())
}

async fn a_detractors_comment_reaches_slack_teams_and_email_once(backend: Backend) {
    let app = spawn_app_with(backend, OPEN).await;
    let chat = Receiver::start();
    let rule = create_rule(
        &app,
        json!({"name": "Detractors with a comment", "when": {"category": "detractor", "has_comment": true},
               "email": ["team@shop.example"], "slack_webhook_url": chat.url("/slack"), "teams_webhook_url": chat.url("/teams")}),
    )
    .await;
    assert_eq!(rule["summary_minutes"], 0);
    assert_eq!(
        rule["when"],
        json!({"category": "detractor", "has_comment": true})
    );
    assert_eq!(rule["enabled"], true);
    // A rule for every low score fires on the click already, and not again for the comment.
    create_rule(
        &app,
        json!({"name": "Low scores", "when": {"max_score": 6}, "slack_webhook_url": chat.url("/low")}),
    )
    .await;
    // A rule for promoters never fires here.
    create_rule(
        &app,
        json!({"name": "Promoters", "when": {"category": "promoter"}, "slack_webhook_url": chat.url("/promoters")}),
    )
    .await;

    let mail = email_for(&app, "order-9", "dana@example.com").await;
    app.get_page(&mail.score_link(3)).await;
    chat.wait_until(Duration::from_secs(5), |g| at(g, "/low").len() == 1)
        .await;
    let (status, _) = app
        .post_form(
            &mail.form_link(),
            &[
                ("score", "3"),
                ("comment", "The parcel came a week late & wet."),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let got = chat
        .wait_until(Duration::from_secs(5), |g| {
            at(g, "/slack").len() == 1 && at(g, "/teams").len() == 1
        })
        .await;
    let slack = &at(&got, "/slack")[0];
    assert_block_kit(slack);
    let text = slack.to_string();
    assert!(text.contains("Detractor 3"), "{text}");
    assert!(
        text.contains("The parcel came a week late &amp; wet."),
        "Slack's escaping: {text}"
    );
    assert!(
        text.contains("Dana Reyes &lt;dana@example.com&gt;"),
        "{text}"
    );
    assert!(text.contains("/dashboard/default/responses/"), "{text}");
    let teams = &at(&got, "/teams")[0];
    assert_adaptive_card(teams);
    assert!(teams
        .to_string()
        .contains("The parcel came a week late & wet."));
    let mails = wait_for_mail(&app, "team@shop.example", 1).await;
    let alert = &mails[0];
    assert!(
        alert.subject().contains("Detractor 3"),
        "{}",
        alert.subject()
    );
    for part in [alert.text_body(), alert.html_body()] {
        assert!(part.contains("The parcel came a week late"), "{part}");
        assert!(part.contains("/dashboard/default/responses/"), "{part}");
    }
    assert!(alert.raw.len() < 100 * 1024);
    if crate::spam::spamassassin_available() {
        let (score, report) = crate::spam::spam_score(&alert.raw);
        assert!(score < 1.0, "SpamAssassin score {score}:\n{report}");
    }

    // Nothing more comes for this answer; the low-score rule did not fire twice.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = chat.received().await;
    assert_eq!(at(&got, "/slack").len(), 1);
    assert_eq!(at(&got, "/teams").len(), 1);
    assert_eq!(at(&got, "/low").len(), 1);
    assert!(at(&got, "/promoters").is_empty());
    assert_eq!(app.smtp.messages_to("team@shop.example").len(), 1);

    // Discarded as a bot after its alert: a follow-up says so, the alert is not taken back.
    let rid = slack.to_string();
    let rid = rid
        .split("/dashboard/default/responses/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let r = app
        .api(
            reqwest::Method::POST,
            &format!("/api/v1/surveys/default/responses/{rid}/discard"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let got = chat
        .wait_until(Duration::from_secs(5), |g| {
            at(g, "/slack").len() == 2 && at(g, "/low").len() == 2
        })
        .await;
    assert!(at(&got, "/slack")[1]
        .to_string()
        .contains("Discarded as a bot"));
    let mails = wait_for_mail(&app, "team@shop.example", 2).await;
    assert!(mails[1].subject().contains("Discarded as a bot"));
}

async fn a_summary_rule_sends_one_message_for_many_answers(backend: Backend) {
    let app = spawn_app_with(backend, OPEN).await;
    let chat = Receiver::start();
    let rule = create_rule(
        &app,
        json!({"name": "All answers", "slack_webhook_url": chat.url("/digest"), "summary_minutes": 10}),
    )
    .await;
    let id = rule["id"].as_str().unwrap();
    for i in 0..3 {
        let mail = email_for(&app, &format!("o-{i}"), &format!("p{i}@example.com")).await;
        app.get_page(&mail.score_link(8 + i as u8)).await;
    }
    // Ten minutes have not passed: nothing yet.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(at(&chat.received().await, "/digest").is_empty());
    app.clock.advance(chrono::Duration::minutes(11));
    let got = chat
        .wait_until(Duration::from_secs(5), |g| at(g, "/digest").len() == 1)
        .await;
    let m = &at(&got, "/digest")[0];
    assert_block_kit(m);
    assert!(
        m["text"]
            .as_str()
            .unwrap()
            .starts_with("3 answers matched All answers"),
        "{m}"
    );
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(at(&chat.received().await, "/digest").len(), 1);

    // Rules are managed through the API.
    let listed = app.get_api("/api/v1/surveys/default/alerts").await;
    assert_eq!(listed.body["alerts"].as_array().unwrap().len(), 1);
    let patched = app
        .api(
            reqwest::Method::PATCH,
            &format!("/api/v1/surveys/default/alerts/{id}"),
            Some(json!({"enabled": false, "when": {"min_score": 9}})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["enabled"], false);
    assert_eq!(patched.body["when"], json!({"min_score": 9}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_rules_are_checked() {
    let app = spawn_app_with(Backend::Sqlite, &[]).await;
    for (body, field) in [
        (json!({"when": {}, "email": ["a@shop.example"]}), "name"),
        (json!({"name": "x"}), "email"),
        (json!({"name": "x", "email": ["not an address"]}), "email"),
        (
            json!({"name": "x", "email": ["a@shop.example"], "when": {"min_score": 11}}),
            "when.min_score",
        ),
        (
            json!({"name": "x", "email": ["a@shop.example"], "when": {"min_score": 7, "max_score": 3}}),
            "when.min_score",
        ),
        (
            json!({"name": "x", "email": ["a@shop.example"], "when": {"category": "fan"}}),
            "when.category",
        ),
        (
            json!({"name": "x", "email": ["a@shop.example"], "when": {"channel": "fax"}}),
            "when.channel",
        ),
        (
            json!({"name": "x", "email": ["a@shop.example"], "when": {"mood": "bad"}}),
            "when.mood",
        ),
        (
            json!({"name": "x", "email": ["a@shop.example"], "when": {"has_comment": "yes"}}),
            "when.has_comment",
        ),
        (
            json!({"name": "x", "slack_webhook_url": "http://hooks.slack.com/x"}),
            "slack_webhook_url",
        ),
        (
            json!({"name": "x", "teams_webhook_url": "https://10.0.0.1/x"}),
            "teams_webhook_url",
        ),
        (
            json!({"name": "x", "email": ["a@shop.example"], "summary_minutes": 5000}),
            "summary_minutes",
        ),
        (
            json!({"name": "x", "email": ["a@shop.example"], "colour": 1}),
            "colour",
        ),
    ] {
        let r = app
            .api(
                reqwest::Method::POST,
                "/api/v1/surveys/default/alerts",
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
        assert_eq!(r.body["error"]["field"], field, "{body}: {}", r.body);
    }
    let r = app
        .api(
            reqwest::Method::POST,
            "/api/v1/surveys/nope/alerts",
            Some(json!({"name": "x", "email": ["a@shop.example"]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = app.get_api("/api/v1/surveys/default/alerts/al_nope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    // A change may not leave a rule with nowhere to send to.
    let made = create_rule(&app, json!({"name": "x", "email": ["a@shop.example"]})).await;
    let id = made["id"].as_str().unwrap();
    let r = app
        .api(
            reqwest::Method::PATCH,
            &format!("/api/v1/surveys/default/alerts/{id}"),
            Some(json!({"email": []})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["error"]["field"], "email");
    let kept = app
        .get_api(&format!("/api/v1/surveys/default/alerts/{id}"))
        .await;
    assert_eq!(kept.body["email"], json!(["a@shop.example"]));
}
