//! A misspelled filter is refused, not ignored: on /api/v1 a query parameter the route does not
//! take is a 422 naming it (`property.NAME` segments stay open), while Delighted's API at /v1
//! keeps Delighted's leniency.
use crate::backend_tests;
use crate::helpers::{Backend, TestApp, API_KEY};
use reqwest::StatusCode;
use serde_json::{json, Value};

const SHOP: &str = "https://shop.example";

/// A web answer with a comment and a plan.
async fn answer(app: &TestApp, n: usize, score: u8, plan: &str) {
    app.web_answer_created(
        SHOP,
        &json!({
            "score": score,
            "comment": format!("comment {n}"),
            "visitor_id": format!("visitor-{n}"),
            "properties": {"plan": plan},
        }),
    )
    .await;
}

async fn get_ok(app: &TestApp, path: &str) -> Value {
    let r = app.get_api(path).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    r.body
}

/// Asserts a 422 in the API's error shape that names `name` as the field at fault.
fn assert_refused(path: &str, status: StatusCode, body: &Value, name: &str) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
    let error = &body["error"];
    assert_eq!(error["code"], "validation_failed", "{path}: {body}");
    assert_eq!(error["field"], name, "{path}: {body}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{name}: ")),
        "{path}: {body}"
    );
}

async fn a_misspelled_filter_is_refused(backend: Backend) {
    let app = crate::insights::app(backend).await;
    for (n, (score, plan)) in [(10, "pro"), (3, "free"), (9, "pro")]
        .into_iter()
        .enumerate()
    {
        answer(&app, n, score, plan).await;
    }

    for path in [
        "/api/v1/surveys/default/comments",
        "/api/v1/surveys/default/nps",
        "/api/v1/surveys/default/nps/trend",
        "/api/v1/surveys/default/nps/breakdown?by=plan&",
        "/api/v1/surveys/default/responses",
        "/api/v1/surveys/default/responses.csv",
        "/api/v1/surveys/default/responses.ndjson",
        "/api/v1/invitations",
        "/api/v1/suppressions",
        "/api/v1/surveys",
        "/api/v1/api-keys",
    ] {
        let path = if path.ends_with('&') {
            format!("{path}chanel=web")
        } else {
            format!("{path}?chanel=web")
        };
        let r = app.get_api(&path).await;
        assert_refused(&path, r.status, &r.body, "chanel");
    }
    // The message says what the route takes instead.
    let r = app
        .get_api("/api/v1/surveys/default/comments?q=slow&categroy=detractor")
        .await;
    assert_refused("comments", r.status, &r.body, "categroy");
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("category"), "{message}");
    // A write is refused before it happens.
    let r = app
        .api(
            reqwest::Method::POST,
            "/api/v1/suppressions?dry_run=true",
            Some(json!({"email": "ann@example.com"})),
        )
        .await;
    assert_refused("suppressions", r.status, &r.body, "dry_run");
    let list = get_ok(&app, "/api/v1/suppressions").await;
    assert_eq!(list["suppressions"], json!([]));

    // Without a key, the 401 comes first.
    let res = app
        .client
        .get(app.url("/api/v1/surveys/default/nps?chanel=web"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // Property segments and the documented filters still work.
    let pro = get_ok(&app, "/api/v1/surveys/default/nps?property.plan=pro").await;
    assert_eq!(pro["responses"], 2, "{pro}");
    let comments = get_ok(
        &app,
        "/api/v1/surveys/default/comments?channel=web&property.plan=pro&sort=lowest",
    )
    .await;
    assert_eq!(
        comments["comments"].as_array().unwrap().len(),
        2,
        "{comments}"
    );
    let trend = get_ok(
        &app,
        "/api/v1/surveys/default/nps/trend?interval=day&property.plan=free",
    )
    .await;
    let free: u64 = trend["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["responses"].as_u64().unwrap())
        .sum();
    assert_eq!(free, 1, "{trend}");
    let breakdown = get_ok(
        &app,
        "/api/v1/surveys/default/nps/breakdown?by=plan&property.plan=pro&verified=false",
    )
    .await;
    assert_eq!(breakdown["segments"][0]["value"], "pro", "{breakdown}");
    get_ok(&app, "/api/v1/suppressions?limit=1").await;
    get_ok(&app, "/api/v1/invitations?survey=default&status=sent").await;

    // The embedded form's endpoint refuses them too, with its CORS headers.
    let res = app
        .client
        .get(app.url("/api/v1/embed/default?lcale=de"))
        .header("Origin", SHOP)
        .send()
        .await
        .unwrap();
    let cors = res.headers().get("access-control-allow-origin").cloned();
    let (status, body) = (res.status(), res.json::<Value>().await.unwrap());
    assert_refused("embed", status, &body, "lcale");
    assert_eq!(cors.as_ref().and_then(|v| v.to_str().ok()), Some(SHOP));

    // Delighted's API keeps Delighted's behaviour: an unknown parameter is ignored.
    let res = app
        .client
        .get(app.url("/v1/survey_responses?chanel=x"))
        .basic_auth(API_KEY, None::<&str>)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let responses: Value = res.json().await.unwrap();
    assert_eq!(responses.as_array().unwrap().len(), 3, "{responses}");
}

backend_tests!(a_misspelled_filter_is_refused);
