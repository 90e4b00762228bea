//! The post-purchase email path end to end: transaction in, email out over SMTP, link clicked,
//! comment posted, NPS and comment out of the API, unsubscribe.
use crate::backend_tests;
use crate::helpers::{spawn_app, Backend};
use reqwest::StatusCode;
use serde_json::json;

async fn survey_email_is_sent_over_smtp(backend: Backend) {
    let app = spawn_app(backend).await;
    let mail = app
        .transaction_and_email("order-1001", "ann@example.com")
        .await;
    let m = &mail.mail;

    assert_eq!(m.envelope_to, vec!["ann@example.com".to_string()]);
    assert_eq!(m.envelope_from, "feedback@shop.example");
    let content_type = m.header("Content-Type").unwrap();
    assert!(
        content_type.starts_with("multipart/alternative"),
        "{content_type}"
    );
    assert!(m.header("Date").is_some());
    assert!(m.header("From").unwrap().contains("feedback@shop.example"));
    assert!(m.header("To").unwrap().contains("ann@example.com"));
    assert!(!m.message_id().is_empty());
    assert_eq!(
        m.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let unsubscribe = mail.unsubscribe_link();
    assert!(
        unsubscribe.starts_with(&format!("{}/u/", app.address)),
        "{unsubscribe}"
    );
    assert!(m.raw.len() < 100 * 1024, "message is {} bytes", m.raw.len());

    // Both parts carry the question, all eleven links and the unsubscribe link.
    let question = "How likely are you to recommend ACME to a friend or colleague?";
    assert!(mail.text.contains(question), "{}", mail.text);
    assert!(mail.html.contains(question));
    assert!(mail.text.contains("Hi Ann,"));
    let links = mail.score_links();
    assert_eq!(links.len(), 11);
    for (score, link) in links.iter().enumerate() {
        assert_eq!(
            link,
            &format!("{}/r/{}?score={score}", app.address, mail.token())
        );
        assert!(
            mail.html.contains(&format!("href=\"{link}\"")),
            "html lacks {link}"
        );
    }
    assert!(mail.text.contains(&unsubscribe) && mail.html.contains(&unsubscribe));
    // The token is long and random (at least 128 bits).
    assert!(mail.token().len() >= 22);
    // The trap link is in the HTML only.
    assert!(!mail.text.contains("/verify"));
    assert!(mail.trap_link().ends_with("/verify"));
}

async fn click_comment_and_read_results(backend: Backend) {
    let app = spawn_app(backend).await;
    let mail = app
        .transaction_and_email("order-1", "ann@example.com")
        .await;

    let (status, page) = app.get_page(&mail.score_link(9)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("<fieldset") && page.contains("<legend"),
        "{page}"
    );
    assert_eq!(
        crate::helpers::checked_scores(&page),
        vec![9],
        "score 9 should be preselected:\n{page}"
    );

    // One click counts on its own.
    let nps = app.nps("").await;
    assert_eq!(nps["responses"], 1, "{nps}");
    assert_eq!(nps["promoters"], 1);
    assert_eq!(nps["nps"], 100.0);
    assert_eq!(nps["invitations_sent"], 1);
    assert_eq!(nps["response_rate"], 1.0);

    let form_url = mail.form_link();
    let (status, page) = app
        .post_form(
            &form_url,
            &[("score", "10"), ("comment", "Fast delivery, lovely shoes.")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Thank you"), "{page}");
    // Coming back to the form shows the answer as it stands.
    let (_, page) = app.get_page(&form_url).await;
    assert_eq!(crate::helpers::checked_scores(&page), vec![10]);
    assert!(page.contains("Fast delivery, lovely shoes."));

    let nps = app.nps("").await;
    assert_eq!(nps["responses"], 1, "one response per invitation: {nps}");
    assert_eq!(nps["promoters"], 1);
    assert!(nps["margin_of_error"].is_number());

    let comments = app.comments("").await;
    let c = &comments["comments"][0];
    assert_eq!(c["comment"], "Fast delivery, lovely shoes.");
    assert_eq!(c["score"], 10);
    assert_eq!(c["email"], "ann@example.com");
    assert_eq!(c["name"], "Ann");
    assert_eq!(c["transaction_id"], "order-1");
    assert_eq!(c["properties"], json!({"plan": "pro", "country": "DE"}));
    assert!(c["response_id"].is_string() && c["responded_at"].is_string());
    assert!(comments["next_cursor"].is_null());

    // A second customer, a detractor.
    let mail2 = app
        .transaction_and_email("order-2", "bob@example.com")
        .await;
    let form2 = mail2.form_link();
    let (status, _) = app
        .post_form(&form2, &[("score", "3"), ("comment", "Arrived broken.")])
        .await;
    assert_eq!(status, StatusCode::OK);
    let nps = app.nps("").await;
    assert_eq!(
        (
            nps["responses"].as_u64(),
            nps["detractors"].as_u64(),
            nps["nps"].as_f64()
        ),
        (Some(2), Some(1), Some(0.0))
    );
    let detractors = app.comments("?category=detractor").await;
    assert_eq!(detractors["comments"].as_array().unwrap().len(), 1);
    assert_eq!(detractors["comments"][0]["comment"], "Arrived broken.");

    // Newest first, cursor-paginated.
    let page1 = app.comments("?limit=1").await;
    assert_eq!(page1["comments"][0]["transaction_id"], "order-2");
    let cursor = page1["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_string();
    let page2 = app.comments(&format!("?limit=1&cursor={cursor}")).await;
    assert_eq!(page2["comments"][0]["transaction_id"], "order-1");
    assert!(page2["next_cursor"].is_null(), "{page2}");

    // Date filters: everything is today.
    let today = npsd::domain::clock::Clock::now(&*app.clock).date();
    let tomorrow = today.succ_opt().unwrap();
    let nps_today = app.nps(&format!("?from={today}&to={today}")).await;
    assert_eq!(nps_today["responses"], 2);
    assert_eq!(nps_today["from"], today.to_string());
    let nps_later = app.nps(&format!("?from={tomorrow}&to={tomorrow}")).await;
    assert_eq!(nps_later["responses"], 0);
    assert!(nps_later["nps"].is_null());
    assert!(nps_later["margin_of_error"].is_null());
}

async fn comments_longer_than_5000_characters_are_refused_not_cut(backend: Backend) {
    let app = spawn_app(backend).await;
    let mail = app
        .transaction_and_email("order-1", "ann@example.com")
        .await;
    let form = mail.form_link();
    let long = "x".repeat(5001);
    let (status, page) = app
        .post_form(&form, &[("score", "8"), ("comment", &long)])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("5000") || page.contains("5,000"), "{page}");
    assert!(
        page.contains(&long),
        "the comment is kept in the form for editing"
    );
    assert_eq!(app.nps("").await["responses"], 0, "nothing stored");

    let exact = "é".repeat(5000);
    let (status, _) = app
        .post_form(&form, &[("score", "8"), ("comment", &exact)])
        .await;
    assert_eq!(status, StatusCode::OK);
    let comments = app.comments("").await;
    assert_eq!(
        comments["comments"][0]["comment"]
            .as_str()
            .unwrap()
            .chars()
            .count(),
        5000
    );

    // A POST without a score is a friendly page too, and stores nothing new.
    let (status, page) = app.post_form(&form, &[("comment", "no score")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("score"), "{page}");
    assert_eq!(
        app.comments("").await["comments"][0]["comment"]
            .as_str()
            .unwrap()
            .chars()
            .count(),
        5000
    );
}

async fn unknown_links_get_a_page_not_an_error(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in [
        "/r/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA?score=3",
        "/r/nope",
        "/u/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let (status, page) = app.get_page(&app.url(path)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(page.contains("<html"), "{page}");
    }
    let (status, _) = app
        .post_form(
            &app.url("/r/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            &[("score", "3")],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .post_form(
            &app.url("/u/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            &[("List-Unsubscribe", "One-Click")],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A score outside 0..10 in a real link shows the form with a message and records nothing.
    let mail = app
        .transaction_and_email("order-1", "ann@example.com")
        .await;
    let (status, page) = app
        .get_page(&format!("{}/r/{}?score=11", app.address, mail.token()))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("0 to 10"), "{page}");
    assert_eq!(app.nps("").await["responses"], 0);
}

async fn unsubscribe_one_click_then_skipped(backend: Backend) {
    let app = spawn_app(backend).await;
    app.patch_survey("default", json!({"throttle_days": 0}))
        .await;
    let mail = app
        .transaction_and_email("order-1", "ann@example.com")
        .await;
    let unsubscribe = mail.unsubscribe_link();

    // A GET only asks.
    let (status, page) = app.get_page(&unsubscribe).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("<form") && page.contains("method=\"post\""),
        "{page}"
    );
    app.transaction_and_email("order-2", "ann@example.com")
        .await;

    // RFC 8058 one-click: a POST with that body, answered 200 without a redirect.
    let res = app
        .client
        .post(&unsubscribe)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("unsubscribed"));
    // Twice is fine.
    let (status, _) = app.post_form(&unsubscribe, &[]).await;
    assert_eq!(status, StatusCode::OK);

    let r = app
        .post_transaction(json!({"transaction_id": "order-3", "email": "ANN@example.com"}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.body["invitation"]["status"], "skipped");
    assert_eq!(r.body["invitation"]["reason"], "unsubscribed");

    // Another survey still reaches her: unsubscribes are per survey.
    let created = app
        .api(
            reqwest::Method::POST,
            "/api/v1/surveys",
            Some(json!({"slug": "support", "brand": "ACME Support"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let r = app
        .post_transaction(
            json!({"transaction_id": "ticket-1", "email": "ann@example.com", "survey": "support"}),
        )
        .await;
    assert_eq!(r.body["invitation"]["status"], "scheduled", "{}", r.body);
    let mails = app.drain_and_messages_to("ann@example.com", 3).await;
    assert!(mails[2].text_body().contains("ACME Support"));
}

async fn unsubscribing_while_waiting_cancels_the_scheduled_email(backend: Backend) {
    let app = spawn_app(backend).await;
    app.patch_survey("default", json!({"throttle_days": 0}))
        .await;
    let mail = app
        .transaction_and_email("order-1", "ann@example.com")
        .await;
    let r = app
        .post_transaction(
            json!({"transaction_id": "order-2", "email": "ann@example.com", "delay_seconds": 1}),
        )
        .await;
    assert_eq!(r.body["invitation"]["status"], "scheduled");
    let status = app.one_click_unsubscribe(&mail).await;
    assert_eq!(status, StatusCode::OK);
    app.clock.advance(chrono::Duration::seconds(2));
    let inv = app
        .drain_and_expect_status("order-2", "ann@example.com", "skipped")
        .await;
    assert_eq!(inv["reason"], "unsubscribed");
    assert_eq!(app.smtp.messages_to("ann@example.com").len(), 1);
}

async fn links_expire_with_the_response_window_but_unsubscribe_still_works(backend: Backend) {
    let clock = std::sync::Arc::new(crate::helpers::OffsetClock::default());
    let app = crate::helpers::spawn_app_with_clock(backend, clock.clone()).await;
    app.patch_survey("default", json!({"response_window_days": 7}))
        .await;
    let mail = app
        .transaction_and_email("order-1", "ann@example.com")
        .await;
    clock.advance(chrono::Duration::days(6));
    let (status, _) = app.get_page(&mail.score_link(9)).await;
    assert_eq!(status, StatusCode::OK, "still open on day 6");

    clock.advance(chrono::Duration::days(2));
    let (status, page) = app.get_page(&mail.score_link(3)).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("<html") && page.contains("expired"), "{page}");
    let form = mail.form_link();
    let (status, _) = app
        .post_form(&form, &[("score", "3"), ("comment", "late")])
        .await;
    assert_eq!(status, StatusCode::GONE);
    let nps = app.nps("").await;
    assert_eq!(
        (nps["responses"].as_u64(), nps["promoters"].as_u64()),
        (Some(1), Some(1)),
        "{nps}"
    );

    // People can always stop the emails.
    let status = app.one_click_unsubscribe(&mail).await;
    assert_eq!(status, StatusCode::OK);
    let r = app
        .post_transaction(json!({"transaction_id": "order-2", "email": "ann@example.com"}))
        .await;
    assert_eq!(r.body["invitation"]["reason"], "unsubscribed");
}

backend_tests!(
    links_expire_with_the_response_window_but_unsubscribe_still_works,
    survey_email_is_sent_over_smtp,
    click_comment_and_read_results,
    comments_longer_than_5000_characters_are_refused_not_cut,
    unknown_links_get_a_page_not_an_error,
    unsubscribe_one_click_then_skipped,
    unsubscribing_while_waiting_cancels_the_scheduled_email,
);
