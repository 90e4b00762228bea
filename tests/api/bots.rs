//! Email security scanners open every link; their clicks must not count. HEAD records nothing.
use crate::backend_tests;
use crate::helpers::{spawn_app, spawn_app_with_clock, Backend, OffsetClock};
use reqwest::StatusCode;
use std::sync::Arc;

async fn a_scanner_opening_every_link_is_not_counted(backend: Backend) {
    let app = spawn_app(backend).await;
    let mail = app
        .transaction_and_email("order-1", "ann@example.com")
        .await;
    for score in 0..=10 {
        let (status, _) = app.get_page(&mail.score_link(score)).await;
        assert_eq!(status, StatusCode::OK);
    }
    let nps = app.nps("").await;
    assert_eq!(
        nps["responses"], 0,
        "a scanner's clicks do not count: {nps}"
    );

    // The person then answers with the form: a POST always counts and wins.
    let form = mail.form_link();
    let (status, _) = app
        .post_form(&form, &[("score", "8"), ("comment", "")])
        .await;
    assert_eq!(status, StatusCode::OK);
    let nps = app.nps("").await;
    assert_eq!(
        (nps["responses"].as_u64(), nps["passives"].as_u64()),
        (Some(1), Some(1)),
        "{nps}"
    );
    // Later scanner visits do not undo it.
    app.get_page(&mail.score_link(0)).await;
    app.get_page(&mail.score_link(10)).await;
    assert_eq!(app.nps("").await["passives"], 1);
}

async fn a_person_who_changes_their_mind_later_counts_with_the_later_score(backend: Backend) {
    let clock = Arc::new(OffsetClock::default());
    let app = spawn_app_with_clock(backend, clock.clone()).await;
    let mail = app
        .transaction_and_email("order-1", "ann@example.com")
        .await;
    app.get_page(&mail.score_link(6)).await;
    assert_eq!(app.nps("").await["detractors"], 1);
    // Twenty seconds later the person clicks 8: a change of mind, not a scanner.
    clock.advance(chrono::Duration::seconds(20));
    app.get_page(&mail.score_link(8)).await;
    let nps = app.nps("").await;
    assert_eq!(
        (
            nps["responses"].as_u64(),
            nps["passives"].as_u64(),
            nps["detractors"].as_u64()
        ),
        (Some(1), Some(1), Some(0)),
        "{nps}"
    );
    // A scanner's burst (different scores within a second) is still a bot visit.
    let mail2 = app
        .transaction_and_email("order-2", "bob@example.com")
        .await;
    for score in [0, 5, 10] {
        app.get_page(&mail2.score_link(score)).await;
    }
    assert_eq!(app.nps("").await["responses"], 1);
}

async fn two_different_scores_within_a_minute_are_a_bot(backend: Backend) {
    let app = spawn_app(backend).await;
    let mail = app
        .transaction_and_email("order-1", "ann@example.com")
        .await;
    app.get_page(&mail.score_link(3)).await;
    assert_eq!(app.nps("").await["detractors"], 1, "one click counts");
    app.get_page(&mail.score_link(9)).await;
    assert_eq!(app.nps("").await["responses"], 0);
    // The same score again is just a person reopening the link.
    let mail2 = app
        .transaction_and_email("order-2", "bob@example.com")
        .await;
    app.get_page(&mail2.score_link(9)).await;
    app.get_page(&mail2.score_link(9)).await;
    let nps = app.nps("").await;
    assert_eq!(
        (nps["responses"].as_u64(), nps["promoters"].as_u64()),
        (Some(1), Some(1)),
        "{nps}"
    );
}

async fn the_hidden_trap_link_marks_a_bot(backend: Backend) {
    let app = spawn_app(backend).await;
    let mail = app
        .transaction_and_email("order-1", "ann@example.com")
        .await;
    app.get_page(&mail.score_link(10)).await;
    let (status, _) = app.get_page(&mail.trap_link()).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.nps("").await["responses"], 0);

    // Trap first, then a click: not counted either.
    let mail2 = app
        .transaction_and_email("order-2", "bob@example.com")
        .await;
    app.get_page(&mail2.trap_link()).await;
    app.get_page(&mail2.score_link(10)).await;
    assert_eq!(app.nps("").await["responses"], 0);
}

async fn head_requests_record_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let mail = app
        .transaction_and_email("order-1", "ann@example.com")
        .await;
    for url in [
        mail.score_link(2),
        mail.score_link(9),
        mail.trap_link(),
        mail.unsubscribe_link(),
    ] {
        let res = app.client.head(&url).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{url}");
    }
    assert_eq!(app.nps("").await["responses"], 0);
    // Still subscribed, still counted normally afterwards.
    app.get_page(&mail.score_link(9)).await;
    assert_eq!(app.nps("").await["promoters"], 1);
}

async fn a_scanner_opening_every_link_at_once_is_not_counted(backend: Backend) {
    let app = spawn_app(backend).await;
    let mail = app
        .transaction_and_email("order-1", "ann@example.com")
        .await;
    let clicks = (0..=10u8).map(|score| {
        let client = app.client.clone();
        let url = mail.score_link(score);
        tokio::spawn(async move { client.get(url).send().await.unwrap().status() })
    });
    for click in clicks.collect::<Vec<_>>() {
        assert_eq!(click.await.unwrap(), StatusCode::OK);
    }
    let nps = app.nps("").await;
    assert_eq!(
        nps["responses"], 0,
        "parallel scanner clicks do not count: {nps}"
    );
}

backend_tests!(
    a_scanner_opening_every_link_is_not_counted,
    a_scanner_opening_every_link_at_once_is_not_counted,
    two_different_scores_within_a_minute_are_a_bot,
    a_person_who_changes_their_mind_later_counts_with_the_later_score,
    the_hidden_trap_link_marks_a_bot,
    head_requests_record_nothing,
);
