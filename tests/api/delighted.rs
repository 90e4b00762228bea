//! Migrating from Delighted: its API at /v1 as its official clients and hand-written integrations
//! use it. The official clients themselves (Python `delighted` 4.2 from PyPI, Node `delighted`
//! 2.2 from npm) drive npsd through `tests/delighted/client_test.{py,js}`; where a client is not
//! installed those tests print SKIPPED and pass, unless NPSD_TEST_REQUIRE_DELIGHTED=1 (as in CI).
use crate::helpers::{Backend, SurveyMail, TestApp, API_KEY};
use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// `Authorization: Basic base64(KEY)`, as Python's client sends it (no colon).
fn basic(key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

struct V1Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

async fn v1(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> V1Reply {
    v1_as(app, API_KEY, method, path, body).await
}

async fn v1_get(app: &TestApp, path: &str) -> V1Reply {
    v1(app, Method::GET, path, None).await
}

async fn v1_post(app: &TestApp, path: &str, body: Value) -> V1Reply {
    v1(app, Method::POST, path, Some(body)).await
}

async fn v1_put(app: &TestApp, path: &str, body: Value) -> V1Reply {
    v1(app, Method::PUT, path, Some(body)).await
}

async fn v1_delete(app: &TestApp, path: &str) -> V1Reply {
    v1(app, Method::DELETE, path, None).await
}

async fn v1_as_get(app: &TestApp, key: &str, path: &str) -> V1Reply {
    v1_as(app, key, Method::GET, path, None).await
}

async fn v1_as_post(app: &TestApp, key: &str, path: &str, body: Value) -> V1Reply {
    v1_as(app, key, Method::POST, path, Some(body)).await
}

async fn v1_as_put(app: &TestApp, key: &str, path: &str, body: Value) -> V1Reply {
    v1_as(app, key, Method::PUT, path, Some(body)).await
}

async fn v1_as(
    app: &TestApp,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> V1Reply {
    let mut req = app
        .client
        .request(method, app.url(path))
        .header("Authorization", basic(key));
    if let Some(b) = body {
        req = req.json(&b);
    }
    reply(req.send().await.expect("request")).await
}

/// A request with a body as hand-written integrations send them: `content_type` as given.
async fn v1_raw(app: &TestApp, path: &str, content_type: &str, body: String) -> V1Reply {
    let res = app
        .client
        .post(app.url(path))
        .header("Authorization", basic(API_KEY))
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .expect("request");
    reply(res).await
}

/// A form-encoded POST (`properties[plan]=pro`).
async fn v1_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> V1Reply {
    let body = serde_urlencoded::to_string(form).unwrap();
    v1_raw(app, path, "application/x-www-form-urlencoded", body).await
}

async fn reply(res: reqwest::Response) -> V1Reply {
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    let body =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    V1Reply {
        status,
        headers,
        body,
    }
}

async fn create_person(app: &TestApp, body: Value) -> Value {
    let r = v1_post(app, "/v1/people.json", body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

async fn people_are_surveyed_as_transactions(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let ann = create_person(
        &app,
        json!({"email": "ann@example.com", "name": "Ann",
               "properties": {"plan": "pro", "question_product_name": "the Acme Kettle"}}),
    )
    .await;
    assert!(ann["id"].as_str().is_some_and(|id| !id.is_empty()), "{ann}");
    assert_eq!(ann["email"], "ann@example.com");
    assert!(ann["survey_scheduled_at"].is_i64(), "{ann}");
    assert_eq!(ann["properties"]["plan"], "pro");

    // A hand-written integration posting a form, with the colon after the key (Node's way).
    let res = app
        .client
        .post(app.url("/v1/people"))
        .basic_auth(API_KEY, Some(""))
        .form(&[
            ("email", "bob@example.com"),
            ("name", "Bob"),
            ("properties[plan]", "free"),
            ("properties[Customer ID]", "7"),
        ])
        .send()
        .await
        .unwrap();
    let bob = reply(res).await;
    assert_eq!(bob.status, StatusCode::OK, "{}", bob.body);
    assert_eq!(
        bob.body["properties"],
        json!({"plan": "free", "Customer ID": "7"})
    );

    // send: false records the person without surveying them.
    let cat = create_person(&app, json!({"email": "cat@example.com", "send": false})).await;
    assert_eq!(cat["survey_scheduled_at"], Value::Null, "{cat}");
    // The survey's throttle applies as today: Ann was asked already.
    let again = create_person(&app, json!({"email": "ann@example.com"})).await;
    assert_eq!(again["id"], ann["id"], "the same person");
    assert_eq!(
        again["survey_scheduled_at"],
        Value::Null,
        "throttled: {again}"
    );
    // A delay puts the email later.
    let dan = create_person(&app, json!({"email": "dan@example.com", "delay": 3600})).await;
    let now = app_now(&app);
    let at = dan["survey_scheduled_at"].as_i64().unwrap();
    assert!((now + 3590..=now + 3610).contains(&at), "{dan}");

    let ann_mail =
        SurveyMail::new(app.drain_and_messages_to("ann@example.com", 1).await[0].clone());
    assert!(
        ann_mail
            .text
            .contains("How likely are you to recommend the Acme Kettle")
            && ann_mail.html.contains("the Acme Kettle"),
        "question_product_name fills the question:\n{}",
        ann_mail.text
    );
    assert_eq!(
        ann_mail.mail.subject(),
        "How likely are you to recommend the Acme Kettle?"
    );
    assert_eq!(app.smtp.messages_to("bob@example.com").len(), 1);
    assert!(app.smtp.messages_to("cat@example.com").is_empty());
    assert!(app.smtp.messages_to("dan@example.com").is_empty());
    // The page the link opens asks the same question.
    let (status, page) = app.get_page(&ann_mail.score_link(9)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("the Acme Kettle"), "{page}");

    // npsd made each a transaction of the key's survey, with an id of its own.
    let list = app
        .get_api("/api/v1/invitations?email=bob@example.com")
        .await;
    let tx = list.body["invitations"][0]["transaction_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(tx.starts_with("delighted-"), "{}", list.body);

    // Pending survey requests of Dan are cancelled; his email never goes out.
    let r = v1_delete(
        &app,
        "/v1/people/dan%40example.com/survey_requests/pending.json",
    )
    .await;
    assert_eq!((r.status, &r.body), (StatusCode::OK, &json!({"ok": true})));
    app.clock.advance(chrono::Duration::hours(2));
    app.drain().await;
    assert!(app.smtp.messages_to("dan@example.com").is_empty());

    // Bad input: 422 in Delighted's shape, naming the field.
    let r = v1_post(&app, "/v1/people", json!({"name": "No Email"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["status"], 422);
    assert_eq!(r.body["errors"]["email"][0], "is required", "{}", r.body);
    let r = v1_post(&app, "/v1/people", json!({"email": "nope"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["errors"]["email"].is_array(), "{}", r.body);
    let r = v1_post(
        &app,
        "/v1/people",
        json!({"email": "e@example.com", "delay": -1}),
    )
    .await;
    assert!(r.body["errors"]["delay"].is_array(), "{}", r.body);
    // Email only: SMS is refused by name, and nobody has a phone number.
    let r = v1_post(
        &app,
        "/v1/people",
        json!({"phone_number": "+14155551212", "channel": "sms"}),
    )
    .await;
    assert!(r.body["errors"]["channel"].is_array(), "{}", r.body);
    let r = v1_post(&app, "/v1/people", json!({"phone_number": "+14155551212"})).await;
    assert!(r.body["errors"]["email"].is_array(), "{}", r.body);
    let r = v1_get(&app, "/v1/people?phone_number=%2B14155551212").await;
    assert_eq!(r.body, json!([]));
    let r = v1_delete(&app, "/v1/people/phone_number:%2B14155551212").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn people_list_in_cursor_pages(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let mut made = Vec::new();
    for i in 0..5 {
        let p = create_person(
            &app,
            json!({"email": format!("p{i}@example.com"), "send": false}),
        )
        .await;
        made.push(p["id"].as_str().unwrap().to_string());
    }
    let mut seen = Vec::new();
    let mut next = Some(app.url("/v1/people.json?per_page=2"));
    let mut pages = 0;
    while let Some(url) = next.take() {
        let res = app
            .client
            .get(&url)
            .header("Authorization", basic(API_KEY))
            .send()
            .await
            .unwrap();
        let r = reply(res).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        pages += 1;
        for p in r.body.as_array().expect("a bare array") {
            assert!(p["id"].is_string() && p["created_at"].is_i64(), "{p}");
            seen.push(p["id"].as_str().unwrap().to_string());
        }
        if let Some(link) = r.headers.get("link") {
            let link = link.to_str().unwrap();
            assert!(link.ends_with("; rel=\"next\""), "{link}");
            let target = &link[1..link.find('>').unwrap()];
            assert!(target.starts_with(&app.address), "absolute: {link}");
            next = Some(target.to_string());
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, made, "every person once, oldest first");

    let r = v1_get(&app, "/v1/people?email=P3%40Example.com").await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    assert_eq!(r.body[0]["email"], "p3@example.com");
    let future = app_now(&app) + 3600;
    let r = v1_get(&app, &format!("/v1/people?since={future}")).await;
    assert_eq!(r.body, json!([]));
    // One person, by id or by address.
    let r = v1_get(&app, &format!("/v1/people/{}.json", made[2])).await;
    assert_eq!(
        (r.status, r.body["email"].as_str()),
        (StatusCode::OK, Some("p2@example.com"))
    );
    let r = v1_get(&app, "/v1/people/email:p4%40example.com").await;
    assert_eq!(r.body["id"], made[4].as_str());
    let r = v1_get(&app, "/v1/people/nobody").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // A new name, by path or (Node's person.save) by the id in the body; never a new address.
    let r = v1_put(
        &app,
        &format!("/v1/people/{}", made[2]),
        json!({"name": "Pat"}),
    )
    .await;
    assert_eq!(
        (r.status, r.body["name"].as_str()),
        (StatusCode::OK, Some("Pat")),
        "{}",
        r.body
    );
    let r = v1_put(
        &app,
        "/v1/people",
        json!({"id": made[2], "email": "p2@example.com", "name": "Pat Two"}),
    )
    .await;
    assert_eq!(r.body["name"], "Pat Two", "{}", r.body);
    let r = v1_put(
        &app,
        "/v1/people",
        json!({"id": made[2], "email": "new@example.com"}),
    )
    .await;
    assert!(r.body["errors"]["email"].is_array(), "{}", r.body);
    // `curl -d '{...}'` labels JSON as a form: it is read as JSON.
    let r = v1_raw(
        &app,
        "/v1/people",
        "application/x-www-form-urlencoded",
        r#"{"email": "curl@example.com", "send": false}"#.into(),
    )
    .await;
    assert_eq!(
        (r.status, r.body["email"].as_str()),
        (StatusCode::OK, Some("curl@example.com"))
    );
    let r = v1_get(&app, "/v1/people?per_page=101").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["errors"]["per_page"].is_array());
}

/// Ann answered 10 by her email's link; Bob's answer of 4 came through the API, given two days
/// before, with a `plan` property.
struct TwoAnswers {
    app: TestApp,
    ann: Value,
    bob: Value,
    bob_response: String,
    two_days_ago: i64,
}

async fn two_answers(backend: Backend) -> TwoAnswers {
    let app = crate::helpers::spawn_app(backend).await;
    let ann = create_person(
        &app,
        json!({"email": "ann@example.com", "name": "Ann", "properties": {"plan": "pro"}}),
    )
    .await;
    let bob = create_person(&app, json!({"email": "bob@example.com", "send": false})).await;
    let mail = SurveyMail::new(app.drain_and_messages_to("ann@example.com", 1).await[0].clone());
    app.get_page(&mail.score_link(10)).await;
    let two_days_ago = app_now(&app) - 2 * 86400;
    let created = v1_form(
        &app,
        "/v1/survey_responses.json",
        &[
            ("person", bob["id"].as_str().unwrap()),
            ("score", "4"),
            ("comment", "Too slow"),
            ("person_properties[plan]", "free"),
            ("created_at", &two_days_ago.to_string()),
        ],
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let bob_response = created.body["id"].as_str().unwrap().to_string();
    TwoAnswers {
        app,
        ann,
        bob,
        bob_response,
        two_days_ago,
    }
}

/// The answers listed, oldest first (Bob's, then Ann's).
async fn listed(app: &TestApp) -> Vec<Value> {
    let r = v1_get(app, "/v1/survey_responses").await;
    r.body.as_array().expect("a bare array").clone()
}

async fn a_survey_response_is_created_with_its_original_time(backend: Backend) {
    let t = two_answers(backend).await;
    let r = v1_get(&t.app, &format!("/v1/survey_responses/{}", t.bob_response)).await;
    let b = &r.body;
    assert_eq!(
        (b["score"].as_i64(), b["comment"].as_str()),
        (Some(4), Some("Too slow"))
    );
    assert_eq!(b["person"], t.bob["id"]);
    assert_eq!(b["created_at"], t.two_days_ago);
    assert_eq!(b["survey_type"], "nps");
    assert_eq!(b["person_properties"], json!({"plan": "free"}));
    for list in ["notes", "tags", "additional_answers"] {
        assert_eq!(b[list], json!([]));
    }
}

async fn survey_responses_list_oldest_first_with_filters_and_pages(backend: Backend) {
    let TwoAnswers {
        app,
        ann,
        bob_response,
        ..
    } = two_answers(backend).await;
    // Oldest first by default; ids are strings, times integers.
    let list = listed(&app).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["id"], bob_response.as_str());
    assert_eq!(list[1]["score"], 10);
    assert_eq!(list[1]["person"], ann["id"]);
    assert_eq!(list[1]["person_properties"]["plan"], "pro");
    assert!(list[1]["created_at"].is_i64() && list[1]["updated_at"].is_i64());
    // The permalink opens the response in the dashboard (after signing in).
    let permalink = list[1]["permalink"].as_str().unwrap();
    assert!(permalink.starts_with(&format!("{}/dashboard/default/responses/", app.address)));
    let res = app.client.get(permalink).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "to the sign-in page");

    let r = v1_get(
        &app,
        "/v1/survey_responses?order=desc&per_page=1&page=1&expand[]=person",
    )
    .await;
    assert_eq!(r.body[0]["score"], 10);
    assert_eq!(
        r.body[0]["person"]["email"], "ann@example.com",
        "{}",
        r.body
    );
    assert_eq!(r.body[0]["person"]["name"], "Ann");
    let r = v1_get(&app, "/v1/survey_responses?per_page=1&page=3").await;
    assert_eq!(r.body, json!([]));
    let r = v1_get(
        &app,
        "/v1/survey_responses?person_email=bob%40example.com&expand=person&expand=notes",
    )
    .await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    assert_eq!(r.body[0]["person"]["email"], "bob@example.com");
    let r = v1_get(
        &app,
        &format!(
            "/v1/survey_responses?person_id={}",
            ann["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    // `until` is inclusive to the second, as the API shows times.
    let ann_at = list[1]["created_at"].as_i64().unwrap();
    let r = v1_get(&app, &format!("/v1/survey_responses?until={ann_at}")).await;
    assert_eq!(r.body.as_array().unwrap().len(), 2, "{}", r.body);
    let m = v1_get(&app, &format!("/v1/metrics?until={ann_at}")).await;
    assert_eq!(m.body["response_count"], 2);
    let r = v1_get(&app, &format!("/v1/survey_responses?until={}", ann_at - 1)).await;
    assert_eq!(r.body.as_array().unwrap().len(), 1, "{}", r.body);
    let since = app_now(&app) - 3600;
    let r = v1_get(&app, &format!("/v1/survey_responses?since={since}")).await;
    assert_eq!(
        r.body.as_array().unwrap().len(),
        1,
        "only Ann's is that recent"
    );
}

/// A customer's own answer is changed only with an admin key; what the API added, with ingest.
async fn only_an_admin_key_changes_a_customers_own_answer(backend: Backend) {
    let t = two_answers(backend).await;
    let app = &t.app;
    let key = app
        .api(
            Method::POST,
            "/api/v1/api-keys",
            Some(json!({"name": "shop", "scopes": ["ingest", "read"]})),
        )
        .await;
    let shop = key.body["key"].as_str().unwrap().to_string();
    let ann_response = listed(app).await[1]["id"].as_str().unwrap().to_string();
    let r = v1_as_put(
        app,
        &shop,
        &format!("/v1/survey_responses/{ann_response}"),
        json!({"score": 0}),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = v1_as_put(
        app,
        &shop,
        &format!("/v1/survey_responses/{}", t.bob_response),
        json!({"comment": "Too slow!"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["created_at"], t.two_days_ago,
        "a PUT without created_at keeps it"
    );
    let r = v1_put(
        app,
        &format!("/v1/survey_responses/{ann_response}"),
        json!({"score": 0}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "the admin key may: {}", r.body);
}

/// Changing an answer: the figures follow, and the metrics come from the same report as npsd's
/// own NPS.
async fn changing_an_answer_moves_the_figures(backend: Backend) {
    let TwoAnswers {
        app, bob_response, ..
    } = two_answers(backend).await;
    let since = app_now(&app) - 3600;
    let r = v1_put(
        &app,
        &format!("/v1/survey_responses/{bob_response}.json"),
        json!({"score": 9, "comment": "Fast now", "person_properties": {"plan": "pro"}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (r.body["score"].as_i64(), r.body["comment"].as_str()),
        (Some(9), Some("Fast now"))
    );
    let r = v1_get(&app, &format!("/v1/survey_responses/{bob_response}")).await;
    assert_eq!(r.body["person_properties"], json!({"plan": "pro"}));
    let npsd = app.nps("").await;
    assert_eq!(
        (npsd["promoters"].as_u64(), npsd["responses"].as_u64()),
        (Some(2), Some(2))
    );
    let m = v1_get(&app, "/v1/metrics.json").await;
    assert_eq!(m.status, StatusCode::OK);
    assert_eq!(
        m.body,
        json!({"nps": 100, "promoter_count": 2, "promoter_percent": 100.0,
        "passive_count": 0, "passive_percent": 0.0, "detractor_count": 0, "detractor_percent": 0.0,
        "response_count": 2})
    );
    let m = v1_get(&app, &format!("/v1/metrics?since={since}")).await;
    assert_eq!(m.body["response_count"], 1);
}

async fn survey_response_errors_name_their_field(backend: Backend) {
    let TwoAnswers { app, ann, .. } = two_answers(backend).await;
    let r = v1_get(&app, "/v1/survey_responses/nope").await;
    assert_eq!(
        (r.status, r.body["status"].as_i64()),
        (StatusCode::NOT_FOUND, Some(404))
    );
    let r = v1_post(&app, "/v1/survey_responses", json!({"person": ann["id"]})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["errors"]["score"].is_array());
    let r = v1_post(
        &app,
        "/v1/survey_responses",
        json!({"person": "nobody", "score": 3}),
    )
    .await;
    assert!(r.body["errors"]["person"].is_array(), "{}", r.body);
    let r = v1_post(
        &app,
        "/v1/survey_responses",
        json!({"person": ann["id"], "score": 11}),
    )
    .await;
    assert!(r.body["errors"]["score"].is_array());
    let r = v1_get(&app, "/v1/survey_responses?order=sideways").await;
    assert!(r.body["errors"]["order"].is_array());
    let r = v1_get(&app, "/v1/survey_responses?page=10001").await;
    assert!(r.body["errors"]["page"].is_array(), "{}", r.body);
    let r = v1_get(&app, "/v1/metrics?trend=nosuchsurvey").await;
    assert!(r.body["errors"]["trend"].is_array());
}

async fn unsubscribes_bounces_and_erasure(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let ann = create_person(&app, json!({"email": "ann@example.com", "name": "Ann"})).await;
    let mail = SurveyMail::new(app.drain_and_messages_to("ann@example.com", 1).await[0].clone());
    app.get_page(&mail.score_link(3)).await;
    // The person is part of what npsd holds about the address.
    let export = app.get_api("/api/v1/people/ann@example.com").await;
    assert_eq!(export.body["person"]["id"], ann["id"], "{}", export.body);
    assert_eq!(export.body["person"]["name"], "Ann");

    let r = v1_post(
        &app,
        "/v1/unsubscribes",
        json!({"person_email": "Ann@Example.com"}),
    )
    .await;
    assert_eq!((r.status, &r.body), (StatusCode::OK, &json!({"ok": true})));
    let r = v1_get(&app, "/v1/unsubscribes.json").await;
    assert_eq!(r.body.as_array().unwrap().len(), 1, "{}", r.body);
    assert_eq!(r.body[0]["person_id"], ann["id"]);
    assert_eq!(r.body[0]["email"], "ann@example.com");
    assert_eq!(r.body[0]["name"], "Ann");
    assert!(r.body[0]["unsubscribed_at"].is_i64());
    // Unsubscribed: a later transaction for Ann is not surveyed.
    app.clock.advance(chrono::Duration::days(200));
    let again = create_person(&app, json!({"email": "ann@example.com"})).await;
    assert_eq!(again["survey_scheduled_at"], Value::Null);

    let r = app
        .api(
            Method::POST,
            "/api/v1/suppressions",
            Some(json!({"email": "gone@example.com", "reason": "bounce"})),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    app.api(
        Method::POST,
        "/api/v1/suppressions",
        Some(json!({"email": "manual@example.com", "reason": "manual"})),
    )
    .await;
    let r = v1_get(&app, "/v1/bounces?per_page=10").await;
    assert_eq!(
        r.body.as_array().unwrap().len(),
        1,
        "bounces only: {}",
        r.body
    );
    assert_eq!(r.body[0]["email"], "gone@example.com");
    assert!(r.body[0]["bounced_at"].is_i64());

    // Deleting a person is npsd's erase: 202 {"ok": true}, by id or by address.
    let r = v1_delete(&app, &format!("/v1/people/{}", ann["id"].as_str().unwrap())).await;
    assert_eq!(
        (r.status, &r.body),
        (StatusCode::ACCEPTED, &json!({"ok": true}))
    );
    let export = app.get_api("/api/v1/people/ann@example.com").await;
    assert_eq!(export.body["invitations"], json!([]), "{}", export.body);
    assert_eq!(export.body["responses"], json!([]));
    assert_eq!(export.body["person"], Value::Null, "{}", export.body);
    let r = v1_get(&app, "/v1/survey_responses").await;
    assert_eq!(r.body, json!([]));
    let r = v1_delete(&app, &format!("/v1/people/{}", ann["id"].as_str().unwrap())).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "gone: {}", r.body);
    create_person(&app, json!({"email": "b+x@example.com", "send": false})).await;
    let r = v1_delete(&app, "/v1/people/email%3Ab%2Bx%40example.com").await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let r = v1_get(&app, "/v1/people").await;
    assert!(r
        .body
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["email"] != "b+x@example.com"));
}

async fn authentication_and_errors_in_delighted_shape(backend: Backend) {
    let app = crate::helpers::spawn_app_with(backend, &[("NPSD_AUTH_FAILURE_LIMIT", "3")]).await;
    // No key, a wrong key: 401 with Delighted's body.
    let res = app.client.get(app.url("/v1/metrics")).send().await.unwrap();
    let r = reply(res).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["status"], 401);
    assert!(r.body["message"].is_string() && r.body["errors"].is_object());
    assert!(r.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    // Too many wrong keys from one address: 429 with an integer Retry-After.
    let mut last = None;
    for _ in 0..5 {
        last = Some(v1_as_get(&app, "wrong", "/v1/metrics").await);
    }
    let r = last.unwrap();
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    let retry = r.headers["retry-after"].to_str().unwrap();
    assert!(retry.parse::<u64>().is_ok_and(|s| s > 0), "{retry}");
    assert_eq!(r.body["status"], 429);
    // The right key still gets in.
    let r = v1_get(&app, "/v1/metrics").await;
    assert_eq!(r.status, StatusCode::OK);

    // Unknown paths and methods answer in the same shape.
    let r = v1_get(&app, "/v1/nothing_here").await;
    assert_eq!(
        (r.status, r.body["status"].as_i64()),
        (StatusCode::NOT_FOUND, Some(404))
    );
    let r = v1(&app, Method::PATCH, "/v1/metrics", None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.body["status"], 405);
    let r = v1_raw(&app, "/v1/people", "application/json", "{not json".into()).await;
    assert_eq!(
        (r.status, r.body["status"].as_i64()),
        (StatusCode::BAD_REQUEST, Some(400))
    );
    let big = json!({"email": "big@example.com", "name": "x".repeat(300_000)});
    let r = v1_raw(&app, "/v1/people", "application/json", big.to_string()).await;
    assert_eq!(
        (r.status, r.body["status"].as_i64()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some(413))
    );

    // A key without the scope: 403.
    let key = app
        .api(
            Method::POST,
            "/api/v1/api-keys",
            Some(json!({"name": "reader", "scopes": ["read"]})),
        )
        .await;
    let reader = key.body["key"].as_str().unwrap().to_string();
    let r = v1_as_post(
        &app,
        &reader,
        "/v1/people",
        json!({"email": "a@example.com"}),
    )
    .await;
    assert_eq!(
        (r.status, r.body["status"].as_i64()),
        (StatusCode::FORBIDDEN, Some(403))
    );
    let r = v1_as_get(&app, &reader, "/v1/people").await;
    assert_eq!(r.status, StatusCode::OK);
}

async fn a_key_works_on_its_own_survey(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let r = app
        .api(
            Method::POST,
            "/api/v1/surveys",
            Some(json!({"slug": "retail", "brand": "ACME Stores"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let key = app
        .api(
            Method::POST,
            "/api/v1/api-keys",
            Some(json!({"name": "stores", "scopes": ["ingest", "read"], "survey": "retail"})),
        )
        .await;
    assert_eq!(key.status, StatusCode::CREATED, "{}", key.body);
    assert_eq!(key.body["survey"], "retail");
    let retail_key = key.body["key"].as_str().unwrap().to_string();
    let r = app
        .api(
            Method::POST,
            "/api/v1/api-keys",
            Some(json!({"name": "x", "scopes": ["read"], "survey": "nosuch"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    let r = v1_as_post(
        &app,
        &retail_key,
        "/v1/people",
        json!({"email": "ann@example.com"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mail = SurveyMail::new(app.drain_and_messages_to("ann@example.com", 1).await[0].clone());
    assert!(
        mail.text.contains("ACME Stores"),
        "the retail survey's email"
    );
    app.get_page(&mail.score_link(8)).await;

    let retail = v1_as_get(&app, &retail_key, "/v1/metrics").await;
    assert_eq!(retail.body["passive_count"], 1, "{}", retail.body);
    let default = v1_get(&app, "/v1/metrics").await;
    assert_eq!(default.body["response_count"], 0, "{}", default.body);
    // `trend` names another survey.
    let by_trend = v1_get(&app, "/v1/metrics?trend=retail").await;
    assert_eq!(by_trend.body, retail.body);
    let list = v1_get(&app, "/v1/survey_responses?trend=retail").await;
    assert_eq!(list.body.as_array().unwrap().len(), 1);
}

/// Delighted documents `nps` as an integer, and clients in typed languages decode it into one:
/// `/v1/metrics` rounds the figure npsd's own API gives with one decimal.
async fn metrics_give_the_nps_as_an_integer(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    // Two promoters, three passives and a detractor: an NPS of 16.666...
    for (n, score) in [10, 9, 8, 7, 7, 3].into_iter().enumerate() {
        let person = create_person(
            &app,
            json!({"email": format!("p{n}@example.com"), "send": false}),
        )
        .await;
        let r = v1_post(
            &app,
            "/v1/survey_responses",
            json!({"person": person["id"], "score": score}),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let m = v1_get(&app, "/v1/metrics").await;
    assert_eq!(m.status, StatusCode::OK, "{}", m.body);
    assert!(m.body["nps"].is_i64(), "nps is a JSON integer: {}", m.body);
    assert_eq!(m.body["nps"].as_i64(), Some(17), "{}", m.body);
    assert_eq!(m.body["response_count"], 6);
    // npsd's own API keeps its decimal.
    assert_eq!(app.nps("").await["nps"].as_f64(), Some(16.7));
}

crate::backend_tests!(
    people_are_surveyed_as_transactions,
    people_list_in_cursor_pages,
    a_survey_response_is_created_with_its_original_time,
    survey_responses_list_oldest_first_with_filters_and_pages,
    only_an_admin_key_changes_a_customers_own_answer,
    changing_an_answer_moves_the_figures,
    survey_response_errors_name_their_field,
    unsubscribes_bounces_and_erasure,
    authentication_and_errors_in_delighted_shape,
    a_key_works_on_its_own_survey,
    metrics_give_the_nps_as_an_integer,
);

// ---- The official clients ----

fn required() -> bool {
    std::env::var("NPSD_TEST_REQUIRE_DELIGHTED").as_deref() == Ok("1")
}

/// Whether the client is installed; without it the test is skipped, or fails when required.
fn client_available(lang: &str) -> bool {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/delighted");
    let found = match lang {
        "python" => std::process::Command::new("python3")
            .args(["-c", "import delighted"])
            .env("PYTHONWARNINGS", "ignore")
            .output()
            .is_ok_and(|o| o.status.success()),
        _ => std::path::Path::new(dir)
            .join("node_modules/delighted/package.json")
            .exists(),
    };
    if !found {
        if required() {
            panic!(
                "the official Delighted {lang} client is required (NPSD_TEST_REQUIRE_DELIGHTED=1) but not installed: \
                 pip install -r tests/delighted/requirements.txt; npm ci --prefix tests/delighted"
            );
        }
        eprintln!("SKIPPED: the official Delighted {lang} client is not installed");
    }
    found
}

/// The app's time now, in Unix seconds (as Delighted's API gives times).
fn app_now(app: &TestApp) -> i64 {
    npsd::domain::clock::Clock::now(&*app.clock)
        .and_utc()
        .timestamp()
}

/// Runs a phase of the client's script against the app: its last line of output, as JSON.
async fn run_client(app: &TestApp, lang: &str, phase: &str, people: &Value) -> Value {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/delighted");
    let (program, script) = match lang {
        "python" => ("python3", format!("{dir}/client_test.py")),
        _ => ("node", format!("{dir}/client_test.js")),
    };
    let run = tokio::process::Command::new(program)
        .arg(&script)
        .arg(phase)
        .env("NPSD_URL", &app.address)
        .env("NPSD_KEY", API_KEY)
        .env("PEOPLE", people.to_string())
        // The app's clock starts at a fixed instant: the scripts add this to their own clock.
        .env(
            "NPSD_CLOCK_AHEAD_SECONDS",
            app.clock.ahead_of_wall_clock().num_seconds().to_string(),
        )
        .kill_on_drop(true)
        .output();
    // Python's client sets no timeout of its own.
    let out = tokio::time::timeout(std::time::Duration::from_secs(120), run)
        .await
        .unwrap_or_else(|_| panic!("{lang} client, phase {phase}: no answer in 120 s"))
        .expect("run the client script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{lang} client, phase {phase}, failed:\n{stdout}\n{stderr}"
    );
    let last = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    serde_json::from_str(last)
        .unwrap_or_else(|_| panic!("{lang} phase {phase}: last line is not JSON:\n{stdout}"))
}

/// What the official client does, end to end: it creates people (their emails arrive, and are
/// answered between the phases), pages through responses, reads metrics that equal npsd's own
/// NPS, unsubscribes, lists unsubscribes and bounces, deletes people, and gets its own exception
/// types for a wrong key and a missing field.
async fn official_client(backend: Backend, lang: &str) {
    if !client_available(lang) {
        return;
    }
    let app = crate::helpers::spawn_app(backend).await;
    let people = run_client(&app, lang, "people", &Value::Null).await;
    for who in ["ann", "bob", "cat", "dan"] {
        assert!(people[who].is_string(), "{people}");
    }
    app.drain().await;
    let ann = SurveyMail::new(app.smtp.messages_to("ann@example.com")[0].clone());
    assert!(ann.text.contains("the Acme Kettle"), "{}", ann.text);
    let bob = SurveyMail::new(app.smtp.messages_to("bob@example.com")[0].clone());
    assert!(
        app.smtp.messages_to("cat@example.com").is_empty(),
        "send: false"
    );
    assert!(
        app.smtp.messages_to("dan@example.com").is_empty(),
        "delayed"
    );
    assert_eq!(app.get_page(&ann.score_link(10)).await.0, StatusCode::OK);
    assert_eq!(app.get_page(&bob.score_link(3)).await.0, StatusCode::OK);
    let r = app
        .api(
            Method::POST,
            "/api/v1/suppressions",
            Some(json!({"email": "bounced@example.com", "reason": "bounce"})),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);

    let out = run_client(&app, lang, "rest", &people).await;
    // The client read the metrics with Ann's 10, Bob's 3 and the 9 it added for Cat.
    let m = &out["metrics"];
    assert_eq!(
        (
            m["response_count"].as_u64(),
            m["promoter_count"].as_u64(),
            m["detractor_count"].as_u64()
        ),
        (Some(3), Some(2), Some(1)),
        "{m}"
    );
    assert_eq!(
        m["nps"].as_i64(),
        Some(33),
        "66.7% - 33.3%, as an integer: {m}"
    );
    // Cat is erased since (her answer with her): the metrics still equal npsd's own NPS.
    let npsd = app.nps("").await;
    let now = v1_get(&app, "/v1/metrics").await.body;
    assert_eq!(now["response_count"], npsd["responses"], "{now} vs {npsd}");
    assert_eq!(now["promoter_count"], npsd["promoters"]);
    assert_eq!(now["detractor_count"], npsd["detractors"]);
    assert_eq!(
        now["nps"].as_i64(),
        Some(npsd["nps"].as_f64().unwrap_or(0.0).round() as i64),
        "{now} vs {npsd}"
    );
    assert!(out["checks"].as_u64().unwrap_or(0) > 10, "{out}");
    // What the client did shows in npsd: Dan's email was cancelled, Bob is unsubscribed, Cat
    // and Dan are erased.
    app.clock.advance(chrono::Duration::hours(2));
    app.drain().await;
    assert!(app.smtp.messages_to("dan@example.com").is_empty());
    for gone in ["cat@example.com", "dan@example.com"] {
        let export = app.get_api(&format!("/api/v1/people/{gone}")).await;
        assert_eq!(
            export.body["invitations"],
            json!([]),
            "{gone}: {}",
            export.body
        );
        assert_eq!(
            export.body["responses"],
            json!([]),
            "{gone}: {}",
            export.body
        );
    }
    let bob_data = app.get_api("/api/v1/people/bob@example.com").await;
    assert_eq!(
        bob_data.body["unsubscribes"][0]["survey"], "default",
        "{}",
        bob_data.body
    );
}

async fn official_python_client(backend: Backend) {
    official_client(backend, "python").await
}

async fn official_node_client(backend: Backend) {
    official_client(backend, "node").await
}

mod clients {
    crate::backend_tests!(official_python_client, official_node_client);
    use super::{official_node_client, official_python_client};
}
