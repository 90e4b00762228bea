//! Insights over HTTP, checked against figures this test computes on its own from the answers it
//! gave: trend (with an empty week), breakdown by a property, property segments, full-text comment
//! search on both backends, sorting and cursors, streamed export, the bot audit and invitations.
use crate::backend_tests;
use crate::helpers::{spawn_app_with, Backend, TestApp};
use chrono::{Datelike, Days, NaiveDate};
use npsd::domain::clock::Clock;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub(crate) const SHOP: &str = "https://shop.example";

/// One answer the test gave, and what it knows about it.
#[derive(Clone)]
pub(crate) struct Given {
    day: NaiveDate,
    score: i64,
    plan: &'static str,
    country: &'static str,
    channel: &'static str,
}

pub(crate) async fn app(backend: Backend) -> TestApp {
    let app = spawn_app_with(
        backend,
        &[
            ("NPSD_EMBED_RATE_LIMIT", "0"),
            ("NPSD_EMBED_SURVEY_RATE_LIMIT", "0"),
        ],
    )
    .await;
    app.patch_survey("default", json!({"allowed_origins": [SHOP]}))
        .await;
    app
}

async fn web_answer(app: &TestApp, n: usize, g: &Given, comment: &str) {
    app.web_answer_created(
        SHOP,
        &json!({
            "score": g.score,
            "comment": comment,
            "visitor_id": format!("visitor-{n:04}"),
            "properties": {"plan": g.plan, "country": g.country},
        }),
    )
    .await;
}

/// An answer through the email's form, with the properties on the transaction.
async fn email_answer(app: &TestApp, n: usize, g: &Given, comment: &str) -> String {
    let r = app
        .post_transaction(json!({
            "transaction_id": format!("order-{n}"),
            "email": format!("buyer{n}@example.com"),
            "properties": {"plan": g.plan, "country": g.country},
        }))
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let mail = app
        .drain_and_messages_to(&format!("buyer{n}@example.com"), 1)
        .await;
    let mail = crate::helpers::SurveyMail::new(mail.into_iter().next().unwrap());
    let (status, _) = app
        .post_form(
            &mail.form_link(),
            &[("score", &g.score.to_string()), ("comment", comment)],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    mail.form_link()
}

fn counts(given: &[&Given]) -> (u64, u64, u64, u64) {
    let p = given.iter().filter(|g| g.score >= 9).count() as u64;
    let d = given.iter().filter(|g| g.score <= 6).count() as u64;
    let n = given.len() as u64;
    (n, p, n - p - d, d)
}

/// NPS as this test computes it: promoters minus detractors in percent, one decimal.
fn expected_nps(given: &[&Given]) -> Option<f64> {
    let (n, p, _, d) = counts(given);
    (n > 0).then(|| ((p as f64 - d as f64) / n as f64 * 1000.0).round() / 10.0)
}

/// The 95% margin as this test computes it, by the adjusted-Wald method (Rocks 2016): 3 more
/// answers, 3/4 more promoters and 3/4 more detractors, in NPS points, one decimal.
fn expected_margin(given: &[&Given]) -> Option<f64> {
    let (n, p, _, d) = counts(given);
    let n2 = n as f64 + 3.0;
    let (p2, d2) = ((p as f64 + 0.75) / n2, (d as f64 + 0.75) / n2);
    let c = p2 - d2;
    let variance = (p2 + d2 - c * c) / n2;
    (n > 0).then(|| (1.96 * variance.sqrt() * 100.0 * 10.0).round() / 10.0)
}

fn week_start(d: NaiveDate) -> NaiveDate {
    d - Days::new(d.weekday().num_days_from_monday() as u64)
}

/// Three batches of answers two weeks apart (so the week between is empty).
pub(crate) async fn seed(app: &TestApp) -> Vec<Given> {
    let plans = ["pro", "pro", "team", "free", "pro"];
    let countries = ["DE", "US"];
    let scores = [10, 9, 3, 7, 10, 0, 8, 9, 6, 10, 5, 9];
    let comments = [
        "The delivery was slow",
        "Deliveries are always late",
        "great support team",
        "=HYPERLINK(\"http://evil.example\",\"click\")",
        "<img src=x onerror=alert(1)>",
        "",
    ];
    let mut given = Vec::new();
    let mut n = 0;
    for batch in 0..3 {
        if batch > 0 {
            app.clock.advance(chrono::Duration::days(14));
        }
        for i in 0..12 {
            let g = Given {
                day: app.clock.now().date(),
                score: scores[(i + batch * 5) % scores.len()],
                plan: plans[(i + batch) % plans.len()],
                country: countries[i % 2],
                channel: if i % 4 == 0 { "email" } else { "web" },
            };
            let comment = comments[(i + batch) % comments.len()];
            if g.channel == "email" {
                email_answer(app, n, &g, comment).await;
            } else {
                web_answer(app, n, &g, comment).await;
            }
            given.push(g);
            n += 1;
        }
    }
    given
}

async fn get(app: &TestApp, path: &str) -> Value {
    let r = app.get_api(path).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    r.body
}

async fn figures_match_what_the_test_computes(backend: Backend) {
    let app = app(backend).await;
    let given = seed(&app).await;
    let first = given.first().unwrap().day;
    let last = given.last().unwrap().day;
    let range = format!("from={first}&to={last}");

    // The whole: the tallies and the row-by-row count (verified=false forces it) agree.
    let all: Vec<&Given> = given.iter().collect();
    let nps = get(&app, &format!("/api/v1/surveys/default/nps?{range}")).await;
    assert_eq!(nps["responses"], all.len() as u64, "{nps}");
    assert_eq!(nps["nps"].as_f64(), expected_nps(&all), "{nps}");
    assert_eq!(
        nps["margin_of_error"].as_f64(),
        expected_margin(&all),
        "{nps}"
    );
    assert_eq!(all.len(), 36);
    assert_eq!(nps["small_sample"], false, "30 answers or more: {nps}");
    let raw = get(
        &app,
        &format!("/api/v1/surveys/default/nps?{range}&verified=false"),
    )
    .await;
    assert_eq!(raw["distribution"], nps["distribution"]);
    assert_eq!(raw["comments"], nps["comments"]);

    // Trend by week: whole ISO weeks, the empty ones present with a null NPS.
    let trend = get(
        &app,
        &format!("/api/v1/surveys/default/nps/trend?interval=week&{range}"),
    )
    .await;
    assert_eq!(trend["interval"], "week");
    assert_eq!(trend["tz"], "UTC");
    let points = trend["points"].as_array().unwrap();
    let mut week = week_start(first);
    let mut i = 0;
    while week <= last {
        let next = week + Days::new(7);
        let in_week: Vec<&Given> = given
            .iter()
            .filter(|g| g.day >= week && g.day < next)
            .collect();
        let p = &points[i];
        assert_eq!(p["start"], week.to_string(), "{p}");
        assert_eq!(p["end"], (next - Days::new(1)).to_string(), "{p}");
        let (n, pr, pa, de) = counts(&in_week);
        assert_eq!(
            (
                p["responses"].as_u64(),
                p["promoters"].as_u64(),
                p["passives"].as_u64(),
                p["detractors"].as_u64()
            ),
            (Some(n), Some(pr), Some(pa), Some(de)),
            "week {week}: {p}"
        );
        assert_eq!(
            p["nps"].as_f64(),
            expected_nps(&in_week),
            "week {week}: {p}"
        );
        if n == 0 {
            assert!(p["nps"].is_null() && p["margin_of_error"].is_null(), "{p}");
        } else {
            assert!(p["margin_of_error"].as_f64().unwrap() > 0.0, "{p}");
        }
        assert_eq!(
            p["margin_of_error"].as_f64(),
            expected_margin(&in_week),
            "{p}"
        );
        // No week has 30 answers; an empty one has no reliable figure either.
        assert_eq!(p["small_sample"], true, "week {week}: {p}");
        week = next;
        i += 1;
    }
    assert_eq!(points.len(), i, "{trend}");
    assert!(
        points.iter().any(|p| p["nps"].is_null()),
        "an empty week is present: {trend}"
    );

    // Breakdown by plan: worst first, small samples flagged.
    let breakdown = get(
        &app,
        &format!("/api/v1/surveys/default/nps/breakdown?by=plan&{range}"),
    )
    .await;
    assert_eq!(breakdown["by"], "plan");
    let segments = breakdown["segments"].as_array().unwrap();
    let mut by_plan: BTreeMap<&str, Vec<&Given>> = BTreeMap::new();
    for g in &given {
        by_plan.entry(g.plan).or_default().push(g);
    }
    assert_eq!(segments.len(), by_plan.len(), "{breakdown}");
    for s in segments {
        let mine = &by_plan[s["value"].as_str().unwrap()];
        assert_eq!(s["responses"], mine.len() as u64, "{s}");
        assert_eq!(s["nps"].as_f64(), expected_nps(mine), "{s}");
        assert_eq!(s["margin_of_error"].as_f64(), expected_margin(mine), "{s}");
        assert_eq!(s["small_sample"], mine.len() < 30, "{s}");
    }
    let order: Vec<f64> = segments
        .iter()
        .map(|s| s["nps"].as_f64().unwrap())
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] <= w[1]),
        "worst first: {order:?}"
    );

    // Segments: a repeated key is any of its values; two keys must both match.
    let pro_or_team_de: Vec<&Given> = given
        .iter()
        .filter(|g| (g.plan == "pro" || g.plan == "team") && g.country == "DE")
        .collect();
    let seg = get(
        &app,
        &format!(
            "/api/v1/surveys/default/nps?{range}&property.plan=pro&property.plan=team&property.country=DE"
        ),
    )
    .await;
    assert_eq!(seg["responses"], pro_or_team_de.len() as u64, "{seg}");
    assert_eq!(seg["nps"].as_f64(), expected_nps(&pro_or_team_de), "{seg}");
    assert!(pro_or_team_de.len() < 30);
    assert_eq!(seg["small_sample"], true, "fewer than 30 answers: {seg}");
    let web: Vec<&Given> = given.iter().filter(|g| g.channel == "web").collect();
    let seg = get(
        &app,
        &format!("/api/v1/surveys/default/nps?{range}&channel=web"),
    )
    .await;
    assert_eq!(seg["nps"].as_f64(), expected_nps(&web), "{seg}");
    // The trend and the breakdown take the same segments.
    let t = get(
        &app,
        &format!("/api/v1/surveys/default/nps/trend?interval=month&{range}&property.country=DE"),
    )
    .await;
    let total: u64 = t["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["responses"].as_u64().unwrap())
        .sum();
    assert_eq!(
        total,
        given.iter().filter(|g| g.country == "DE").count() as u64
    );
    let b = get(
        &app,
        &format!("/api/v1/surveys/default/nps/breakdown?by=country&{range}&property.plan=pro"),
    )
    .await;
    let total: u64 = b["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["responses"].as_u64().unwrap())
        .sum();
    assert_eq!(
        total,
        given.iter().filter(|g| g.plan == "pro").count() as u64
    );

    // Bad input: clear errors.
    for bad in [
        "/api/v1/surveys/default/nps/trend?interval=hour",
        "/api/v1/surveys/default/nps/breakdown",
        "/api/v1/surveys/default/nps/trend?interval=day&from=2000-01-01&to=2026-01-01",
        "/api/v1/surveys/default/comments?min_score=11",
        "/api/v1/surveys/default/comments?sort=oldest",
        "/api/v1/surveys/default/comments?q=***",
        "/api/v1/surveys/default/nps/trend?interval=day&from=%2B262142-12-31&to=%2B262142-12-31",
        "/api/v1/surveys/default/nps?from=0000-01-01",
    ] {
        let r = app.get_api(bad).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            r.body
        );
        assert!(r.body["error"]["message"].as_str().is_some());
    }
}

async fn comments_are_searched_with_the_databases_own_text_search(backend: Backend) {
    let app = app(backend).await;
    let given = seed(&app).await;
    let search = |q: &str| format!("/api/v1/surveys/default/comments?limit=100&q={q}");
    // Stemmed: "delivery" finds "Deliveries" too.
    let found = get(&app, &search("delivery")).await;
    let texts: Vec<&str> = found["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["comment"].as_str().unwrap())
        .collect();
    assert!(texts.contains(&"The delivery was slow"), "{texts:?}");
    assert!(texts.contains(&"Deliveries are always late"), "{texts:?}");
    assert!(
        texts.iter().all(|t| t.to_lowercase().contains("deliver")),
        "{texts:?}"
    );
    // Every word must match; search syntax in the query is plain text.
    let both = get(&app, &search("slow%20delivery")).await;
    assert!(both["comments"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["comment"] == "The delivery was slow"));
    let odd = get(&app, &search("%22support%22%20OR%20NEAR(x")).await;
    assert_eq!(odd["comments"].as_array().unwrap().len(), 0, "{odd}");

    // Score range and lowest first, page by page with the cursor.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = get(
            &app,
            &format!("/api/v1/surveys/default/comments?sort=lowest&min_score=3&max_score=9&limit=4&cursor={cursor}"),
        )
        .await;
        for c in page["comments"].as_array().unwrap() {
            seen.push(c["score"].as_i64().unwrap());
            assert!(!c["comment"].as_str().unwrap().is_empty());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    let expected = given
        .iter()
        .zip(0..)
        .filter(|(g, _)| (3..=9).contains(&g.score))
        .count();
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert!(!seen.is_empty() && seen.len() <= expected, "{seen:?}");
    let detractors = get(
        &app,
        "/api/v1/surveys/default/comments?category=detractor&property.country=US&channel=web",
    )
    .await;
    for c in detractors["comments"].as_array().unwrap() {
        assert!(c["score"].as_i64().unwrap() <= 6);
        assert_eq!(c["properties"]["country"], "US");
        assert_eq!(c["channel"], "web");
    }
}

async fn export_streams_every_response_with_its_properties(backend: Backend) {
    let app = app(backend).await;
    let given = seed(&app).await;
    let text = app.export_csv().await;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    for column in [
        "id",
        "score",
        "category",
        "comment",
        "channel",
        "email",
        "name",
        "transaction_id",
        "plan",
        "country",
        "responded_at",
        "submitted_at",
    ] {
        assert!(header.iter().any(|h| h == column), "{column} in {header:?}");
    }
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), given.len());
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for row in &rows {
        let comment = &row[col("comment")];
        assert!(
            !comment.starts_with('='),
            "a formula is neutralised: {comment}"
        );
        if comment.contains("HYPERLINK") {
            assert!(comment.starts_with("'="), "{comment}");
        }
        assert!(["pro", "team", "free"].contains(&&row[col("plan")]));
        if &row[col("channel")] == "email" {
            assert!(row[col("transaction_id")].starts_with("order-"));
            assert!(row[col("email")].ends_with("@example.com"));
        }
    }
    // The same filters as every figure.
    let pro = app
        .client
        .get(app.url("/api/v1/surveys/default/responses.ndjson?property.plan=pro&channel=web"))
        .bearer_auth(crate::helpers::API_KEY)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<Value> = pro
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        given
            .iter()
            .filter(|g| g.plan == "pro" && g.channel == "web")
            .count()
    );
    assert!(lines.iter().all(|l| l["properties"]["plan"] == "pro"));
}

async fn the_bot_audit_restores_and_discards_with_every_figure_following(backend: Backend) {
    let app = app(backend).await;
    let mail = app
        .transaction_and_email("order-bot", "ann@example.com")
        .await;
    // A scanner opens every link at once: discarded as a bot.
    for score in 0..=10 {
        app.get_page(&mail.score_link(score)).await;
    }
    assert_eq!(app.nps("").await["responses"], 0);
    let bots = get(&app, "/api/v1/surveys/default/responses?status=bot").await;
    let list = bots["responses"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{bots}");
    assert_eq!(list[0]["status"], "bot");
    assert!(
        list[0]["status_reason"].as_str().unwrap().len() > 3,
        "{bots}"
    );
    let id = list[0]["response_id"].as_str().unwrap().to_string();

    let restored = app
        .api(
            Method::POST,
            &format!("/api/v1/surveys/default/responses/{id}/restore"),
            None,
        )
        .await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
    assert_eq!(restored.body["status"], "counted");
    let nps = app.nps("").await;
    assert_eq!(nps["responses"], 1, "restored counts at once: {nps}");
    let b = get(&app, "/api/v1/surveys/default/nps/trend?interval=day").await;
    let total: u64 = b["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["responses"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 1);
    // A later scanner visit does not undo a person's decision.
    app.get_page(&mail.score_link(3)).await;
    assert_eq!(app.nps("").await["responses"], 1);

    let discarded = app
        .api(
            Method::POST,
            &format!("/api/v1/surveys/default/responses/{id}/discard"),
            None,
        )
        .await;
    assert_eq!(discarded.status, StatusCode::OK);
    assert_eq!(app.nps("").await["responses"], 0);
    let missing = app
        .api(
            Method::POST,
            "/api/v1/surveys/default/responses/nope/restore",
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

async fn invitations_are_listed_and_a_scheduled_one_cancelled(backend: Backend) {
    let app = app(backend).await;
    app.transaction_and_email("order-1", "ann@example.com")
        .await;
    app.patch_survey("default", json!({"send_delay_seconds": 3600}))
        .await;
    let r = app
        .post_transaction(json!({"transaction_id": "order-2", "email": "Bob@Example.com"}))
        .await;
    assert!(r.status.is_success(), "{}", r.body);

    let sent = get(&app, "/api/v1/invitations?survey=default&status=sent").await;
    assert_eq!(sent["invitations"].as_array().unwrap().len(), 1, "{sent}");
    let bob = get(&app, "/api/v1/invitations?email=bob@example.com").await;
    let list = bob["invitations"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{bob}");
    assert_eq!(list[0]["status"], "scheduled");
    let id = list[0]["id"].as_str().unwrap().to_string();
    let page = get(&app, "/api/v1/invitations?limit=1").await;
    assert!(page["next_cursor"].is_string(), "{page}");
    let next = get(
        &app,
        &format!(
            "/api/v1/invitations?limit=1&cursor={}",
            page["next_cursor"].as_str().unwrap()
        ),
    )
    .await;
    assert_ne!(next["invitations"][0]["id"], page["invitations"][0]["id"]);

    let cancelled = app
        .api(Method::DELETE, &format!("/api/v1/invitations/{id}"), None)
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(cancelled.body["status"], "skipped");
    assert_eq!(cancelled.body["reason"], "cancelled");
    // Its email never goes out.
    app.clock.advance(chrono::Duration::hours(2));
    app.drain().await;
    assert!(app.smtp.messages_to("bob@example.com").is_empty());
    let again = app
        .api(Method::DELETE, &format!("/api/v1/invitations/{id}"), None)
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    let sent_id = sent["invitations"][0]["id"].as_str().unwrap();
    let too_late = app
        .api(
            Method::DELETE,
            &format!("/api/v1/invitations/{sent_id}"),
            None,
        )
        .await;
    assert_eq!(too_late.status, StatusCode::CONFLICT);
    let unknown = app
        .api(
            Method::DELETE,
            "/api/v1/invitations/01a219f9-5748-7791-9196-6c8760242c92",
            None,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);
    let bad = app.get_api("/api/v1/invitations?status=lost").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Answers around UTC midnight and around local midnights: every figure read from the daily and
/// hourly tallies in a time zone equals the row-by-row count (`verified=false` forces it) of the
/// same periods, so the days a period boundary cuts are split at the right hour.
async fn tallied_figures_equal_counted_rows_in_every_time_zone(backend: Backend) {
    let app = app(backend).await;
    // To the next UTC midnight, two days on.
    let now = app.clock.now();
    let midnight = (now.date() + Days::new(2)).and_hms_opt(0, 0, 0).unwrap();
    app.clock.advance(midnight - now);
    let plans = ["pro", "team", "free"];
    // Minutes from each day's UTC midnight: before and after it, near Berlin's (22:00/23:00 UTC),
    // Kolkata's (18:30 UTC) and New York's (04:00/05:00 UTC) midnights, and midday.
    let offsets = [
        -30i64,
        10,
        21 * 60 + 50,
        22 * 60 + 40,
        18 * 60 + 20,
        18 * 60 + 45,
        4 * 60 + 30,
        12 * 60,
    ];
    let mut n = 0;
    let mut at = chrono::Duration::zero();
    for day in 0..17i64 {
        for (k, minutes) in offsets.iter().enumerate() {
            let target = chrono::Duration::days(day) + chrono::Duration::minutes(*minutes);
            app.clock.advance(target - at);
            at = target;
            let g = Given {
                day: app.clock.now().date(),
                score: ((day * 7 + k as i64 * 3) % 11),
                plan: plans[(n + k) % plans.len()],
                country: "DE",
                channel: "web",
            };
            web_answer(&app, n + 10_000, &g, if k % 3 == 0 { "fine" } else { "" }).await;
            n += 1;
        }
    }
    let from = midnight.date() - Days::new(1);
    let to = midnight.date() + Days::new(18);
    // At once, with the journal as the projection left it (figures read what it has not folded
    // yet), and once the projection has folded all of it into the tallies.
    tallies_equal_rows(&app, from, to, n).await;
    let drained = async {
        loop {
            let left = app.store.read(npsd::store::journal::backlog).await.unwrap();
            if left == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), drained)
        .await
        .expect("the projection folds the whole journal once writes stop");
    tallies_equal_rows(&app, from, to, n).await;
}

/// Every figure of `from..to` in four zones, from the tallies, equals the row-by-row count.
async fn tallies_equal_rows(app: &TestApp, from: NaiveDate, to: NaiveDate, n: usize) {
    let fields = [
        "responses",
        "promoters",
        "passives",
        "detractors",
        "comments",
    ];
    for tz in ["UTC", "Europe/Berlin", "Asia/Kolkata", "America/New_York"] {
        let range = format!("from={from}&to={to}&tz={tz}");
        let nps = get(app, &format!("/api/v1/surveys/default/nps?{range}")).await;
        let raw = get(
            app,
            &format!("/api/v1/surveys/default/nps?{range}&verified=false"),
        )
        .await;
        assert_eq!(nps["responses"], n as u64, "{tz}: {nps}");
        for f in fields.iter().chain(&["distribution"]) {
            assert_eq!(nps[f], raw[f], "{tz} {f}");
        }
        for interval in ["day", "week"] {
            let path = format!("/api/v1/surveys/default/nps/trend?interval={interval}&{range}");
            let tallied = get(app, &path).await;
            let counted = get(app, &format!("{path}&verified=false")).await;
            let (t, c) = (
                tallied["points"].as_array().unwrap(),
                counted["points"].as_array().unwrap(),
            );
            assert_eq!(t.len(), c.len(), "{tz} {interval}");
            for (p, q) in t.iter().zip(c) {
                for f in [
                    "start",
                    "end",
                    "responses",
                    "promoters",
                    "passives",
                    "detractors",
                ] {
                    assert_eq!(p[f], q[f], "{tz} {interval}: {p} vs {q}");
                }
            }
        }
        let path = format!("/api/v1/surveys/default/nps/breakdown?by=plan&{range}");
        let tallied = get(app, &path).await;
        let counted = get(app, &format!("{path}&verified=false")).await;
        assert_eq!(tallied["segments"], counted["segments"], "{tz} breakdown");
    }
}

backend_tests!(
    tallied_figures_equal_counted_rows_in_every_time_zone,
    figures_match_what_the_test_computes,
    comments_are_searched_with_the_databases_own_text_search,
    export_streams_every_response_with_its_properties,
    the_bot_audit_restores_and_discards_with_every_figure_following,
    invitations_are_listed_and_a_scheduled_one_cancelled,
);
