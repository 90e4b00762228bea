//! POST /api/v1/transactions: idempotency, throttle, delays, batches and bad input.
use crate::backend_tests;
use crate::helpers::{spawn_app, Backend, API_KEY};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn the_same_transaction_twice_sends_one_email(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = json!({"transaction_id": "order-1001", "email": "ann@example.com", "name": "Ann", "survey": "default", "locale": "en", "properties": {"plan": "pro"}, "delay_seconds": 0});
    let first = app.post_transaction(body.clone()).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.body);
    let inv = &first.body["invitation"];
    assert_eq!(inv["status"], "scheduled");
    assert!(inv["reason"].is_null());
    assert!(inv["id"].is_string() && inv["send_at"].is_string());

    let second = app.post_transaction(body.clone()).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.body["invitation"]["id"], inv["id"]);

    app.drain_and_messages_to("ann@example.com", 1).await;
    app.post_transaction(body).await;
    app.drain().await;
    assert_eq!(app.smtp.messages_to("ann@example.com").len(), 1);
    let again = app.invitation("order-1001", "ann@example.com").await;
    assert_eq!(again["status"], "sent");
    assert!(again["sent_at"].is_string());
}

async fn the_throttle_skips_a_recent_customer(backend: Backend) {
    let app = spawn_app(backend).await;
    app.transaction_and_email("order-1", "ann@example.com")
        .await;
    let r = app
        .post_transaction(json!({"transaction_id": "order-2", "email": "Ann@Example.com"}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.body["invitation"]["status"], "skipped");
    assert_eq!(r.body["invitation"]["reason"], "throttled");

    // Two orders in a row while the first survey waits: only one survey.
    let r = app
        .post_transaction(
            json!({"transaction_id": "order-3", "email": "bob@example.com", "delay_seconds": 3600}),
        )
        .await;
    assert_eq!(r.body["invitation"]["status"], "scheduled");
    let r = app
        .post_transaction(json!({"transaction_id": "order-4", "email": "bob@example.com"}))
        .await;
    assert_eq!(r.body["invitation"]["reason"], "throttled");

    // With the throttle off, every transaction is surveyed.
    let p = app
        .patch_survey("default", json!({"throttle_days": 0}))
        .await;
    assert_eq!(p.status, StatusCode::OK);
    let r = app
        .post_transaction(json!({"transaction_id": "order-5", "email": "ann@example.com"}))
        .await;
    assert_eq!(r.body["invitation"]["status"], "scheduled");
    app.drain_and_messages_to("ann@example.com", 2).await;
}

async fn a_delay_holds_the_email_back(backend: Backend) {
    let app = spawn_app(backend).await;
    let r = app
        .post_transaction(
            json!({"transaction_id": "order-1", "email": "ann@example.com", "delay_seconds": 2}),
        )
        .await;
    assert_eq!(r.body["invitation"]["status"], "scheduled");
    let send_at =
        chrono::DateTime::parse_from_rfc3339(r.body["invitation"]["send_at"].as_str().unwrap())
            .unwrap();
    let in_secs =
        (send_at.naive_utc() - npsd::domain::clock::Clock::now(&*app.clock)).num_milliseconds();
    assert!(
        (1000..=2100).contains(&in_secs),
        "send_at is {in_secs} ms away"
    );
    app.drain().await;
    assert!(
        app.smtp.messages_to("ann@example.com").is_empty(),
        "sent before its time"
    );
    app.clock.advance(chrono::Duration::seconds(2));
    app.drain_and_messages_to("ann@example.com", 1).await;

    // The survey's own delay applies when the transaction names none.
    app.patch_survey("default", json!({"send_delay_seconds": 3600}))
        .await;
    let r = app
        .post_transaction(json!({"transaction_id": "order-2", "email": "bob@example.com"}))
        .await;
    let send_at =
        chrono::DateTime::parse_from_rfc3339(r.body["invitation"]["send_at"].as_str().unwrap())
            .unwrap();
    assert!(
        (send_at.naive_utc() - npsd::domain::clock::Clock::now(&*app.clock)).num_seconds() > 3500
    );
}

async fn bad_input_is_refused_with_a_clear_error(backend: Backend) {
    let app = spawn_app(backend).await;
    let url = app.url("/api/v1/transactions");
    let ok = json!({"transaction_id": "order-1", "email": "ann@example.com"});

    // No key, a wrong key, another scheme.
    let res = app.client.post(&url).json(&ok).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    assert!(body["error"]["message"].is_string());
    for wrong in [
        app.client.post(&url).bearer_auth("wrong-key-wrong-key"),
        app.client.post(&url).basic_auth("x", Some(API_KEY)),
    ] {
        let res = wrong.json(&ok).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }

    // Not JSON at all.
    let res = app
        .client
        .post(&url)
        .bearer_auth(API_KEY)
        .header("Content-Type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_json");

    // Each invalid field is named.
    for (body, field) in [
        (json!({"email": "ann@example.com"}), "transaction_id"),
        (json!({"transaction_id": "order-1"}), "email"),
        (
            json!({"transaction_id": "order-1", "email": "not-an-address"}),
            "email",
        ),
        (
            json!({"transaction_id": "order-1", "email": "ann@example.com", "delay_seconds": -1}),
            "delay_seconds",
        ),
        (
            json!({"transaction_id": "order-1", "email": "ann@example.com", "survey": "nope"}),
            "survey",
        ),
        (
            json!({"transaction_id": "order-1", "email": "ann@example.com", "locale": "??"}),
            "locale",
        ),
        (
            json!({"transaction_id": "order-1", "email": "ann@example.com", "properties": "plan=pro"}),
            "properties",
        ),
        (
            json!({"transaction_id": "", "email": "ann@example.com"}),
            "transaction_id",
        ),
    ] {
        let r = app.post_transaction(body.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(r.body["error"]["code"], "validation_failed");
        assert_eq!(r.body["error"]["field"], field, "{}", r.body);
        assert!(r.body["error"]["message"].as_str().unwrap().contains(field));
    }
    // Nothing was stored along the way: the good one is new.
    let r = app.post_transaction(ok).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);

    // Unknown routes under the API answer JSON.
    let r = app.get_api("/api/v1/nothing-here").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["error"]["code"], "not_found");
}

async fn a_batch_gets_one_result_per_item(backend: Backend) {
    let app = spawn_app(backend).await;
    app.post_transaction(json!({"transaction_id": "order-0", "email": "zed@example.com"}))
        .await;
    let items: Vec<Value> = (1..=40)
        .map(|i| json!({"transaction_id": format!("order-{i}"), "email": format!("c{i}@example.com"), "properties": {"n": i}}))
        .chain([
            json!({"transaction_id": "bad", "email": "nope"}),
            json!({"transaction_id": "order-0", "email": "zed@example.com"}),
            json!({"transaction_id": "x", "email": "x@example.com", "survey": "missing"}),
        ])
        .collect();
    let r = app
        .api(
            Method::POST,
            "/api/v1/transactions/batch",
            Some(json!({"transactions": items})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let results = r.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 43);
    assert!(results[..40]
        .iter()
        .all(|x| x["status"] == 202 && x["invitation"]["status"] == "scheduled"));
    assert_eq!(results[40]["status"], 422);
    assert_eq!(results[40]["error"]["field"], "email");
    assert_eq!(results[41]["status"], 200);
    assert_eq!(results[42]["error"]["field"], "survey");
    assert_eq!(results[7]["index"], 7);
    assert_eq!(
        (
            r.body["accepted"].as_u64(),
            r.body["duplicates"].as_u64(),
            r.body["rejected"].as_u64()
        ),
        (Some(40), Some(1), Some(2))
    );
    app.drain().await;
    for i in 1..=40 {
        assert_eq!(app.smtp.messages_to(&format!("c{i}@example.com")).len(), 1);
    }

    // A plain array works too; over 1,000 items is refused whole.
    let r = app
        .api(
            Method::POST,
            "/api/v1/transactions/batch",
            Some(json!([{"transaction_id": "a", "email": "a@example.com"}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let too_many: Vec<Value> = (0..1001)
        .map(|i| json!({"transaction_id": format!("t{i}"), "email": "a@example.com"}))
        .collect();
    let r = app
        .api(
            Method::POST,
            "/api/v1/transactions/batch",
            Some(Value::Array(too_many)),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.body["error"]["code"], "too_large");
    let r = app
        .post_transaction(json!({"transaction_id": "t5", "email": "a@example.com"}))
        .await;
    assert_eq!(
        r.status,
        StatusCode::ACCEPTED,
        "nothing of the refused batch was stored"
    );
}

async fn concurrent_transactions_for_one_customer_send_one_survey(backend: Backend) {
    let app = spawn_app(backend).await;
    let post = |body: Value| {
        let client = app.client.clone();
        let url = app.url("/api/v1/transactions");
        tokio::spawn(async move {
            let res = client
                .post(url)
                .bearer_auth(API_KEY)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = res.status();
            (status, res.json::<Value>().await.unwrap())
        })
    };
    // Forty orders of one customer at the same moment: one survey, the rest throttled.
    let orders: Vec<_> = (0..40)
        .map(|i| post(json!({"transaction_id": format!("order-{i}"), "email": "ann@example.com"})))
        .collect();
    let mut statuses = Vec::new();
    for o in orders {
        let (code, body) = o.await.unwrap();
        assert_eq!(code, StatusCode::ACCEPTED, "{body}");
        statuses.push(body["invitation"]["status"].as_str().unwrap().to_string());
    }
    assert_eq!(
        statuses.iter().filter(|s| *s == "scheduled").count(),
        1,
        "{statuses:?}"
    );
    // The same transaction posted ten times at once: one invitation.
    let repeats: Vec<_> = (0..10)
        .map(|_| post(json!({"transaction_id": "order-x", "email": "bob@example.com"})))
        .collect();
    let mut ids = std::collections::HashSet::new();
    let mut created = 0;
    for r in repeats {
        let (code, body) = r.await.unwrap();
        created += usize::from(code == StatusCode::ACCEPTED);
        ids.insert(body["invitation"]["id"].as_str().unwrap().to_string());
    }
    assert_eq!((created, ids.len()), (1, 1));
    app.drain().await;
    assert_eq!(app.smtp.messages_to("ann@example.com").len(), 1);
    assert_eq!(app.smtp.messages_to("bob@example.com").len(), 1);
}

backend_tests!(
    concurrent_transactions_for_one_customer_send_one_survey,
    the_same_transaction_twice_sends_one_email,
    the_throttle_skips_a_recent_customer,
    a_delay_holds_the_email_back,
    bad_input_is_refused_with_a_clear_error,
    a_batch_gets_one_result_per_item,
);
