//! Sending through the outbox: SMTP failures, retries, leases and several dispatchers.
use crate::backend_tests;
use crate::helpers::{spawn_app, spawn_app_with, spawn_on, Backend, TestDb, WAIT};
use crate::smtp::{Behavior, TestSmtp};
use npsd::store::outbox;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;

async fn a_temporary_smtp_failure_is_retried(backend: Backend) {
    let app = spawn_app(backend).await;
    app.smtp.set_behavior(
        "ann@example.com",
        Behavior::TempFailTimes {
            code: 451,
            times: 2,
        },
    );
    let r = app
        .post_transaction(json!({"transaction_id": "order-1", "email": "ann@example.com"}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    // The first attempt fails; each retry waits out its backoff.
    app.drain().await;
    assert_eq!(app.smtp.attempts_to("ann@example.com"), 1);
    assert_eq!(
        app.invitation("order-1", "ann@example.com").await["status"],
        "scheduled"
    );
    app.drain_with_retries(5).await;
    let mails = app.smtp.messages_to("ann@example.com");
    assert_eq!(mails.len(), 1);
    assert_eq!(app.smtp.attempts_to("ann@example.com"), 3);
    let inv = app
        .drain_and_expect_status("order-1", "ann@example.com", "sent")
        .await;
    assert!(inv["reason"].is_null());

    // The Message-ID was fixed when queued: the same on every attempt; links work.
    let mail = crate::helpers::SurveyMail::new(mails[0].clone());
    assert!(mail.mail.message_id().contains('@'));
    let (status, _) = app.get_page(&mail.score_link(7)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.nps("").await["passives"], 1);
}

async fn a_refused_connection_is_retried(backend: Backend) {
    // Nothing listens on the SMTP port at first.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let smtp_url = format!("smtp://127.0.0.1:{port}");
    let app = spawn_app_with(
        backend,
        &[("NPSD_SMTP_URL", &smtp_url), ("NPSD_RETRY_BASE_MS", "200")],
    )
    .await;
    let r = app
        .post_transaction(json!({"transaction_id": "order-1", "email": "ann@example.com"}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    app.drain().await;
    assert_eq!(
        app.invitation("order-1", "ann@example.com").await["status"],
        "scheduled"
    );
    let row = outbox_row(&app).await;
    assert!(row.attempts >= 1, "tried at least once");
    assert!(row.last_error.is_some(), "the failure is kept: {row:?}");
}

async fn outbox_row(app: &crate::helpers::TestApp) -> outbox::OutboxRow {
    app.store
        .read(|c| {
            use diesel::prelude::*;
            use npsd::store::schema::outbox as o;
            Ok(o::table.select(outbox::OutboxRow::as_select()).first(c)?)
        })
        .await
        .unwrap()
}

async fn a_permanent_smtp_failure_marks_the_invitation_failed(backend: Backend) {
    let app = spawn_app(backend).await;
    app.smtp.set_behavior(
        "gone@example.com",
        Behavior::Reject {
            code: 550,
            message: "mailbox unavailable".into(),
        },
    );
    app.post_transaction(json!({"transaction_id": "order-1", "email": "gone@example.com"}))
        .await;
    let inv = app
        .drain_and_expect_status("order-1", "gone@example.com", "failed")
        .await;
    let reason = inv["reason"].as_str().unwrap();
    assert!(
        reason.contains("550") && reason.contains("mailbox unavailable"),
        "{reason}"
    );
    assert_eq!(
        app.smtp.attempts_to("gone@example.com"),
        1,
        "no retry after a permanent failure"
    );

    // Others are not held up.
    app.transaction_and_email("order-2", "ann@example.com")
        .await;
}

async fn a_crash_between_claim_and_send_is_sent_after_the_lease(backend: Backend) {
    use npsd::domain::clock::Clock;
    let app = spawn_app(backend).await;
    let r = app
        .post_transaction(json!({"transaction_id": "order-1", "email": "ann@example.com"}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    // Another dispatcher claims the row and dies before sending.
    let now = app.clock.now();
    let lease = npsd::store::new_id();
    let claim_lease = lease.clone();
    let claimed = app
        .store
        .write(move |c| {
            outbox::claim_due(
                c,
                &claim_lease,
                now,
                10,
                chrono::Duration::seconds(15),
                None,
            )
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    app.drain().await;
    assert!(
        app.smtp.messages_to("ann@example.com").is_empty(),
        "held by the lease"
    );
    // The dead dispatcher's outcome would not count now either way: only the owner records.
    app.clock.advance(chrono::Duration::seconds(16));
    app.drain_and_expect_status("order-1", "ann@example.com", "sent")
        .await;
    assert_eq!(app.smtp.messages_to("ann@example.com").len(), 1);
    assert_eq!(outbox_row(&app).await.attempts, 2);
    let later = app.clock.now();
    let id = claimed[0].id.clone();
    let recorded = app
        .store
        .write(move |c| outbox::mark_failed(c, &id, &lease, "late outcome", later))
        .await
        .unwrap();
    assert!(!recorded, "a lost lease records nothing");
    assert_eq!(
        outbox_row(&app).await.status,
        npsd::store::state::OutboxStatus::Sent
    );
}

async fn several_instances_on_one_database_never_double_send(backend: Backend) {
    let smtp_a = TestSmtp::start();
    let smtp_url = smtp_a.url();
    let db = TestDb::create(backend);
    let db_url = db.url().to_string();
    let a = spawn_on(
        db,
        smtp_a,
        &[("NPSD_DISPATCH_BATCH", "7"), ("NPSD_DISPATCHER", "on")],
    )
    .await;
    // A second and third instance on the same database and the same mail server.
    let others = more_instances(&db_url, &smtp_url).await;

    let items: Vec<Value> = (0..120)
        .map(|i| json!({"transaction_id": format!("order-{i}"), "email": format!("c{i}@example.com")}))
        .collect();
    let r = a
        .api(
            Method::POST,
            "/api/v1/transactions/batch",
            Some(Value::Array(items)),
        )
        .await;
    assert_eq!(r.body["accepted"], 120, "{}", r.body);
    for i in 0..120 {
        a.smtp
            .wait_for_messages_to(&format!("c{i}@example.com"), 1, WAIT)
            .await;
    }
    // Every row is finished (none pending or claimed), so nothing more can arrive.
    while a.pending_outbox_rows().await > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let all = a.smtp.messages();
    assert_eq!(all.len(), 120, "each email exactly once");
    let ids: HashSet<String> = all.iter().map(|m| m.message_id()).collect();
    assert_eq!(ids.len(), 120);
    drop(others);
}

/// Two more apps on the same database, sending to the same mail server.
async fn more_instances(db_url: &str, smtp_url: &str) -> Vec<crate::helpers::TestApp> {
    let mut apps = Vec::new();
    for _ in 0..2 {
        let db = TestDb::Borrowed(db_url.to_string());
        apps.push(
            spawn_on(
                db,
                TestSmtp::start(),
                &[
                    ("NPSD_SMTP_URL", smtp_url),
                    ("NPSD_DISPATCH_BATCH", "7"),
                    ("NPSD_DISPATCHER", "on"),
                ],
            )
            .await,
        );
    }
    apps
}

backend_tests!(
    a_temporary_smtp_failure_is_retried,
    a_refused_connection_is_retried,
    a_permanent_smtp_failure_marks_the_invitation_failed,
    a_crash_between_claim_and_send_is_sent_after_the_lease,
    several_instances_on_one_database_never_double_send,
);
