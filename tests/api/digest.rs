//! The NPS digest end to end: settings through the API, the schedule at fixed clocks (moved, never
//! slept through), the email received over SMTP with the API's figures, exactly once per recipient
//! across restarts and racing instances, one-click unsubscribe, the pause after silent periods.
use crate::backend_tests;
use crate::helpers::{spawn_app, test_config, Backend, TestApp};
use chrono::NaiveDateTime;
use npsd::domain::clock::SharedClock;
use npsd::startup::Application;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const SHOP: &str = "https://shop.example";
const CX: &str = "cx@shop.example";
const OPS: &str = "ops@shop.example";

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
}

/// Moves the app's clock to `t` (UTC).
fn set_clock(app: &TestApp, t: NaiveDateTime) {
    app.clock.set(t);
}

/// A web answer at the app's current time.
async fn web_answer(app: &TestApp, score: u8, comment: Option<&str>, visitor: &str) {
    let mut body = json!({"score": score, "visitor_id": visitor, "name": "Zoe Park", "properties": {"plan": "pro"}});
    if let Some(c) = comment {
        body["comment"] = json!(c);
    }
    app.web_answer_created(SHOP, &body).await;
}

async fn enable_digest(app: &TestApp, tz: &str) {
    app.patch_survey(
        "default",
        json!({"allowed_origins": [SHOP], "digest": {"enabled": true, "recipients": [CX, OPS], "weekday": "mon", "hour": 9, "time_zone": tz}}),
    )
    .await;
}

/// Switches the digest on on Wednesday 25 November 2026 (week 48), after the three weeks that
/// `seed_three_weeks` fills: week 47 is then the first digest due, never an older one.
async fn enable_digest_in_week_48(app: &TestApp) {
    set_clock(app, at("2026-11-25 10:00"));
    enable_digest(app, "Europe/Berlin").await;
}

/// Three weeks of answers (Europe/Berlin weeks 45, 46, 47 of 2026), the last with comments and
/// two email answers.
async fn seed_three_weeks(app: &TestApp) {
    set_clock(app, at("2026-11-04 12:00"));
    for (i, s) in [10, 9, 3].into_iter().enumerate() {
        web_answer(app, s, None, &format!("w45-{i}")).await;
    }
    set_clock(app, at("2026-11-11 12:00"));
    for (i, s) in [9, 7, 2, 10].into_iter().enumerate() {
        web_answer(app, s, None, &format!("w46-{i}")).await;
    }
    set_clock(app, at("2026-11-18 12:00"));
    let mail = app
        .transaction_and_email("order-1", "ann@example.com")
        .await;
    let (status, _) = app.get_page(&mail.score_link(10)).await;
    assert_eq!(status, StatusCode::OK);
    let mail = app
        .transaction_and_email("order-2", "bob@example.com")
        .await;
    let (status, _) = app
        .post_form(
            &mail.form_link(),
            &[("score", "6"), ("comment", "Late again")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    web_answer(app, 9, Some("Lovely boots"), "w47-1").await;
    web_answer(app, 9, None, "w47-2").await;
    web_answer(
        app,
        0,
        Some("<script>alert(1)</script> never arrived"),
        "w47-3",
    )
    .await;
    web_answer(app, 8, None, "w47-4").await;
}

async fn the_weekly_digest_arrives_once_with_the_apis_figures(backend: Backend) {
    let app = spawn_app(backend).await;
    enable_digest_in_week_48(&app).await;
    let survey = app.get_api("/api/v1/surveys/default").await.body;
    assert_eq!(
        survey["digest"],
        json!({"enabled": true, "recipients": [CX, OPS], "weekday": "mon", "hour": 9, "time_zone": "Europe/Berlin", "period": "weekly"})
    );
    seed_three_weeks(&app).await;
    assert!(
        app.smtp.messages_to(CX).is_empty(),
        "no digest while seeding"
    );

    // Monday 23 November, 08:59 in Berlin: not yet. 09:00: the digest of week 47.
    set_clock(&app, at("2026-11-23 07:59"));
    app.drain().await;
    assert!(app.smtp.messages_to(CX).is_empty());
    set_clock(&app, at("2026-11-23 08:00"));
    let cx = app.drain_and_messages_to(CX, 1).await;
    let ops = app.smtp.messages_to(OPS);
    assert_eq!((cx.len(), ops.len()), (1, 1), "one digest per recipient");

    // The figures are the API's for the same week in the same zone.
    let api = app
        .get_api("/api/v1/surveys/default/nps?from=2026-11-16&to=2026-11-22&tz=Europe/Berlin")
        .await
        .body;
    assert_eq!(api["responses"], 6);
    assert_eq!(api["nps"], 16.7);
    assert_eq!(
        api["distribution"],
        json!([1, 0, 0, 0, 0, 0, 1, 0, 1, 2, 1])
    );
    let previous = app
        .get_api("/api/v1/surveys/default/nps?from=2026-11-09&to=2026-11-15&tz=Europe/Berlin")
        .await
        .body;
    assert_eq!(previous["nps"], 25.0);
    let mail = &cx[0];
    let text = mail.text_body();
    let html = mail.html_body();
    for body in [&text, &html] {
        assert!(body.contains("16.7"), "the NPS: {body}");
        assert!(body.contains("Week 47"), "{body}");
        // 6 answers against 4: their intervals overlap, so the change is no clear one.
        assert!(
            body.contains("no clear change vs the previous week"),
            "the change against the previous week: {body}"
        );
        assert!(
            body.contains("Only 6 responses: too few answers for a reliable figure."),
            "{body}"
        );
        assert!(body.contains("Lovely boots") && body.contains("Late again"));
        assert!(
            body.contains("Zoe") && !body.contains("Zoe Park"),
            "first names only"
        );
    }
    // The distribution and counts as the text part lists them ("9 | ###   2", "Responses  6  +2").
    let distribution = api["distribution"].as_array().unwrap();
    for (score, n) in distribution.iter().enumerate() {
        let listed = text.lines().any(|l| {
            l.trim_start().starts_with(&format!("{score} |"))
                && l.trim_end().ends_with(&format!(" {n}"))
        });
        assert!(listed, "score {score} with {n} responses in:\n{text}");
    }
    let row = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row in:\n{text}"))
            .split_whitespace()
            .skip(name.split_whitespace().count())
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(row("Responses"), "6 +2");
    assert_eq!(row("Promoters"), "3 +1");
    assert_eq!(row("Detractors"), "2 +1");
    assert_eq!(row("Invitations sent"), "2 +2");
    assert!(text.contains("<script>alert(1)</script> never arrived"));
    assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62; never arrived"));
    assert!(!html.contains("<script"));
    let subject = mail.header("Subject").unwrap();
    assert!(
        subject.contains("ACME") && subject.contains("16.7"),
        "{subject}"
    );
    assert!(mail.header("List-Unsubscribe").unwrap().contains("/d/"));
    assert_eq!(
        mail.header("List-Unsubscribe-Post").unwrap(),
        "List-Unsubscribe=One-Click"
    );
    assert!(mail.header("Date").is_some());
    assert!(mail.header("Message-ID").unwrap().contains('@'));
    assert!(mail.raw.len() < 100 * 1024);
    assert!(html.contains("/dashboard/default") && html.contains("tz=Europe/Berlin"));
    assert!(text.contains(&format!("{CX} is on the ACME NPS digest list")) || text.contains(CX));

    // Never twice: later rounds, and an instance starting on the same database, send nothing more.
    set_clock(&app, at("2026-11-23 15:00"));
    app.drain().await;
    let second = second_instance(&app).await;
    second.dispatch_until_idle().await.unwrap();
    assert_eq!(app.smtp.messages_to(CX).len(), 1);
    assert_eq!(app.smtp.messages_to(OPS).len(), 1);

    // One click takes one recipient off this survey's digest, and only that one.
    let link = mail
        .header("List-Unsubscribe")
        .unwrap()
        .trim_matches(|c| c == '<' || c == '>')
        .to_string();
    let (status, page) = app
        .post_form(&link, &[("List-Unsubscribe", "One-Click")])
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("You will not receive further NPS digests from ACME."));
    let survey = app.get_api("/api/v1/surveys/default").await.body;
    assert_eq!(survey["digest"]["recipients"], json!([OPS]));
    set_clock(&app, at("2026-11-30 08:05"));
    app.drain().await;
    assert_eq!(app.smtp.messages_to(CX).len(), 1);
    assert_eq!(app.smtp.messages_to(OPS).len(), 2);

    // The recipient's export names the list; erasing their data takes them off it, and the
    // digest, without recipients, is then off.
    let export = app.get_api(&format!("/api/v1/people/{OPS}")).await;
    assert_eq!(
        export.body["digest_lists"],
        json!(["default"]),
        "{}",
        export.body
    );
    let r = app
        .api(Method::DELETE, &format!("/api/v1/people/{OPS}"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["erased"]["digest_lists"], 1);
    let digest = &app.get_api("/api/v1/surveys/default").await.body["digest"];
    assert_eq!(digest["recipients"], json!([]));
    assert_eq!(digest["enabled"], false);
}

/// Another instance on the app's database, with the app's clock and SMTP server.
async fn second_instance(app: &TestApp) -> npsd::jobs::Dispatcher {
    let config = test_config(app.db.url(), &app.smtp.url(), &[]);
    let clock: SharedClock = app.clock.clone();
    let other = Application::build_with_clock(config, clock)
        .await
        .expect("a second instance");
    let dispatcher = other.dispatcher();
    // The HTTP side of the second instance is not needed: only its dispatcher.
    drop(other);
    dispatcher
}

async fn a_missed_slot_goes_out_once_and_a_late_setup_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    // Set up on Wednesday 25 November, after this week's slot: last week's digest goes at once.
    set_clock(&app, at("2026-11-25 10:00"));
    enable_digest(&app, "UTC").await;
    app.drain().await;
    let mails = app.smtp.messages_to(CX);
    assert_eq!(mails.len(), 1);
    assert!(mails[0].text_body().contains("Week 47"));
    assert!(mails[0].text_body().contains("No responses this week."));
    // Down from Sunday 29 November to Wednesday 9 December: on restart, only the latest missed
    // week (49) goes, once.
    set_clock(&app, at("2026-12-09 11:00"));
    let second = second_instance(&app).await;
    second.dispatch_until_idle().await.unwrap();
    app.drain().await;
    let mails = app.smtp.messages_to(CX);
    assert_eq!(mails.len(), 2, "{}", app.smtp.describe());
    assert!(mails[1].text_body().contains("Week 49"));
}

async fn two_schedulers_racing_send_one_digest_per_recipient(backend: Backend) {
    let app = spawn_app(backend).await;
    set_clock(&app, at("2026-11-20 12:00"));
    enable_digest(&app, "UTC").await;
    set_clock(&app, at("2026-11-23 09:01"));
    let others = [second_instance(&app).await, second_instance(&app).await];
    let (a, b, c) = tokio::join!(
        app.dispatcher.dispatch_until_idle(),
        others[0].dispatch_until_idle(),
        others[1].dispatch_until_idle(),
    );
    for r in [a, b, c] {
        r.unwrap();
    }
    assert_eq!(app.smtp.messages_to(CX).len(), 1, "{}", app.smtp.describe());
    assert_eq!(app.smtp.messages_to(OPS).len(), 1);
}

async fn silent_weeks_say_so_and_pause_the_digest(backend: Backend) {
    let app = spawn_app(backend).await;
    set_clock(&app, at("2026-10-28 12:00"));
    enable_digest(&app, "UTC").await;
    // Weeks 44 to 47 without responses: four digests, the fourth says it pauses.
    for monday in ["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"] {
        set_clock(&app, at(&format!("{monday} 09:30")));
        app.drain().await;
    }
    let mails = app.smtp.messages_to(CX);
    assert_eq!(mails.len(), 4, "{}", app.smtp.describe());
    assert!(mails[0].text_body().contains("No responses this week."));
    assert!(!mails[2].text_body().contains("pauses"));
    assert!(
        mails[3].text_body().contains("pauses"),
        "{}",
        mails[3].text_body()
    );
    // Week 48 is silent too: paused, nothing sent.
    set_clock(&app, at("2026-11-30 09:30"));
    app.drain().await;
    assert_eq!(app.smtp.messages_to(CX).len(), 4);
    // A response in week 49: the digest is back.
    set_clock(&app, at("2026-12-02 12:00"));
    web_answer(&app, 9, None, "back").await;
    set_clock(&app, at("2026-12-07 09:30"));
    app.drain().await;
    let mails = app.smtp.messages_to(CX);
    assert_eq!(mails.len(), 5);
    assert!(!mails[4].text_body().contains("No responses this week."));
}

async fn bad_digest_settings_name_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    for (digest, field) in [
        (json!({"weekday": "someday"}), "digest.weekday"),
        (json!({"hour": 24}), "digest.hour"),
        (json!({"time_zone": "Europe/Atlantis"}), "digest.time_zone"),
        (
            json!({"recipients": ["not an address"]}),
            "digest.recipients",
        ),
        (json!({"period": "hourly"}), "digest.period"),
        (json!({"enabled": true}), "digest.recipients"),
    ] {
        let r = app
            .api(
                Method::PATCH,
                "/api/v1/surveys/default",
                Some(json!({ "digest": digest })),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{digest}");
        assert_eq!(r.body["error"]["field"], field, "{digest}: {}", r.body);
    }
    let r = app
        .patch_survey(
            "default",
            json!({"digest": {"time_zone": "america/new_york", "weekday": "Friday"}}),
        )
        .await;
    assert_eq!(r.body["digest"]["time_zone"], "America/New_York");
    assert_eq!(r.body["digest"]["weekday"], "fri");
    app.patch_survey(
        "default",
        json!({"digest": {"time_zone": "UTC", "weekday": "mon"}}),
    )
    .await;
    let defaults: Value = app.get_api("/api/v1/surveys/default").await.body["digest"].clone();
    assert_eq!(
        defaults,
        json!({"enabled": false, "recipients": [], "weekday": "mon", "hour": 9, "time_zone": "UTC", "period": "weekly"})
    );
    let r = app
        .get_api("/api/v1/surveys/default/nps?tz=Mars/Base")
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["error"]["field"], "tz");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_digest_passes_spamassassin() {
    if !crate::spam::spamassassin_available() {
        return;
    }
    let app = spawn_app(Backend::Sqlite).await;
    enable_digest_in_week_48(&app).await;
    seed_three_weeks(&app).await;
    set_clock(&app, at("2026-11-23 08:00"));
    let mail = &app.drain_and_messages_to(CX, 1).await[0];
    let (score, report) = crate::spam::spam_score(&mail.raw);
    assert!(score < 1.0, "SpamAssassin score {score}:\n{report}");
}

/// The digest as a mail client on a phone and on a desktop would show it: no sideways scrolling;
/// screenshots and the HTML under docs/ with NPSD_TEST_SCREENSHOT_DIR.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_digest_reads_well_on_a_phone_and_a_desktop() {
    let Some((browser, app, _turn)) =
        crate::browser::start("the_digest_reads_well_on_a_phone_and_a_desktop", (390, 900)).await
    else {
        return;
    };
    enable_digest_in_week_48(&app).await;
    seed_three_weeks(&app).await;
    set_clock(&app, at("2026-11-23 08:00"));
    let html = app.drain_and_messages_to(CX, 1).await[0].html_body();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("digest.html");
    std::fs::write(&file, &html).unwrap();
    browser.goto(&format!("file://{}", file.display())).await;
    browser.wait_for("table").await;
    browser
        .assert_no_horizontal_overflow("the digest at 390 px")
        .await;
    browser.screenshot("digest-390.png").await;
    browser.resize((800, 1200)).await;
    browser
        .assert_no_horizontal_overflow("the digest at 800 px")
        .await;
    browser.screenshot("digest-800.png").await;
    // Its unsubscribe page, in the survey's brand, asks before it acts.
    let link = html
        .split("href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|u| u.contains("/d/"))
        .expect("the unsubscribe link")
        .to_string();
    browser.resize((390, 900)).await;
    browser.goto(&link).await;
    let page = browser.wait_for("main").await.text().await.unwrap();
    assert!(page.contains("from ACME NPS digests?"), "{page}");
    browser
        .assert_no_horizontal_overflow("the digest's unsubscribe page")
        .await;
    browser.screenshot("digest-unsubscribe-390.png").await;
    browser.close().await;
}

fn npsd_cli(app: &TestApp, dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    crate::cli::npsd_in(
        dir,
        &[
            ("NPSD_DATABASE_URL", app.db.url()),
            ("NPSD_SMTP_URL", &app.smtp.url()),
            ("NPSD_MAIL_FROM", "ACME Feedback <feedback@shop.example>"),
            ("NPSD_PUBLIC_URL", &app.address),
        ],
        args,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_by_hand_renders_sends_to_one_or_claims_the_period() {
    let app = spawn_app(Backend::Sqlite).await;
    enable_digest_in_week_48(&app).await;
    seed_three_weeks(&app).await;
    let dir = tempfile::tempdir().unwrap();
    // --dry-run: the text on stdout, the HTML in a file it names; nothing sent.
    let (ok, out, err) = npsd_cli(
        &app,
        dir.path(),
        &[
            "digest",
            "--survey",
            "default",
            "--period",
            "2026-W47",
            "--dry-run",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("16.7") && out.contains("Week 47"), "{out}");
    let file = dir.path().join("npsd-digest-default-2026-W47.html");
    assert!(err.contains("npsd-digest-default-2026-W47.html"), "{err}");
    assert!(std::fs::read_to_string(&file).unwrap().contains("16.7"));
    assert!(app.smtp.messages_to(CX).is_empty());
    // --to: one address now; the period stays unsent for the recipients.
    let (ok, _, err) = npsd_cli(
        &app,
        dir.path(),
        &[
            "digest",
            "--survey",
            "default",
            "--period",
            "2026-W47",
            "--to",
            "boss@shop.example",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(app.smtp.messages_to("boss@shop.example").len(), 1);
    assert!(app.smtp.messages_to(CX).is_empty());
    // Without --to: the period is claimed and sent to the recipients, once; nothing else that
    // waits in the outbox (a survey email due now) is touched.
    let r = app
        .post_transaction(json!({"transaction_id": "order-9", "email": "carl@example.com"}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let (ok, out, err) = npsd_cli(
        &app,
        dir.path(),
        &["digest", "--survey", "default", "--period", "2026-W47"],
    );
    assert!(ok, "{err}");
    assert!(out.contains("2 recipient"), "{out}");
    assert_eq!(app.smtp.messages_to(CX).len(), 1);
    assert!(app.smtp.messages_to("carl@example.com").is_empty());
    app.drain().await;
    assert_eq!(app.smtp.messages_to("carl@example.com").len(), 1);
    let (ok, _, err) = npsd_cli(
        &app,
        dir.path(),
        &["digest", "--survey", "default", "--period", "2026-W47"],
    );
    assert!(!ok && err.contains("sent already"), "{err}");
    set_clock(&app, at("2026-11-23 08:00"));
    app.drain().await;
    assert_eq!(
        app.smtp.messages_to(CX).len(),
        1,
        "the schedule does not send it again"
    );
    // A period that has not ended is never claimed for the recipients.
    let (ok, _, err) = npsd_cli(
        &app,
        dir.path(),
        &["digest", "--survey", "default", "--period", "2030-W01"],
    );
    assert!(!ok && err.contains("has not ended yet"), "{err}");
    // Bad input: one clear line.
    let (ok, _, err) = npsd_cli(
        &app,
        dir.path(),
        &["digest", "--survey", "nope", "--dry-run"],
    );
    assert!(!ok && err.contains("no survey with slug 'nope'"), "{err}");
    let (ok, _, err) = npsd_cli(
        &app,
        dir.path(),
        &[
            "digest",
            "--survey",
            "default",
            "--period",
            "last week",
            "--dry-run",
        ],
    );
    assert!(!ok && err.contains("2026-W47"), "{err}");
}

backend_tests!(
    the_weekly_digest_arrives_once_with_the_apis_figures,
    a_missed_slot_goes_out_once_and_a_late_setup_at_once,
    two_schedulers_racing_send_one_digest_per_recipient,
    silent_weeks_say_so_and_pause_the_digest,
    bad_digest_settings_name_the_field,
);
