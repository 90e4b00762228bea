//! The dashboard in headless Chromium: an admin signs in, reads the overview and a survey,
//! searches the comments, restores a bot answer; axe-core finds no WCAG 2.2 A/AA violation at
//! phone and desktop width, and the screenshots docs/DASHBOARD.md shows are taken here
//! (NPSD_TEST_SCREENSHOT_DIR=docs/screenshots refreshes them).
use crate::browser::{browser_available, Browser, PHONE};
use crate::dashboard::{add_admin, ADMIN, PASSWORD};
use crate::embed_browser::{assert_axe_clean, axe_source};
use crate::helpers::Backend;

const DESKTOP: (u32, u32) = (1280, 900);

/// The number of elements matching `css`.
async fn count(browser: &Browser, css: &str) -> u64 {
    browser
        .js(
            "return document.querySelectorAll(arguments[0]).length",
            vec![css.into()],
        )
        .await
        .as_u64()
        .unwrap()
}

/// Marks the page, clicks, and waits for the next page's `css`.
async fn click_and_wait(browser: &Browser, button: &str, css: &str) {
    browser
        .js("document.documentElement.dataset.old = '1'", vec![])
        .await;
    let b = browser.find(button).await;
    browser.tap(&b).await;
    browser
        .wait_for(&format!("html:not([data-old]) {css}"))
        .await;
}

async fn check_page(browser: &Browser, what: &str, shot: &str) {
    assert_axe_clean(browser, &format!("{what} at 1280 px")).await;
    browser.screenshot(&format!("{shot}-1280.png")).await;
    browser.resize(PHONE).await;
    browser.assert_no_horizontal_overflow(what).await;
    assert_axe_clean(browser, &format!("{what} at 390 px")).await;
    browser.screenshot(&format!("{shot}-390.png")).await;
    browser.resize(DESKTOP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_team_reads_the_dashboard_in_a_browser() {
    let test = "the_team_reads_the_dashboard_in_a_browser";
    if !browser_available(test) || axe_source().is_none() {
        return;
    }
    let _turn = crate::process::one_at_a_time().await;
    let (browser, app) = tokio::join!(
        Browser::launch(DESKTOP),
        crate::insights::app(Backend::Sqlite)
    );
    app.patch_survey("default", serde_json::json!({"brand": "ACME Shoes"}))
        .await;
    add_admin(&app);
    crate::insights::seed(&app).await;
    let mail = app
        .transaction_and_email("order-bot", "scanned@example.com")
        .await;
    for score in 0..=10 {
        app.get_page(&mail.score_link(score)).await;
    }
    let before = app.nps("").await["responses"].as_u64().unwrap();

    // Without a session: the sign-in page.
    browser.goto(&app.url("/dashboard/default")).await;
    browser.wait_for("form[action='/login']").await;
    check_page(&browser, "the sign-in page", "dashboard-login").await;
    browser.find("#email").await.send_keys(ADMIN).await.unwrap();
    browser
        .find("#password")
        .await
        .send_keys(PASSWORD)
        .await
        .unwrap();
    click_and_wait(&browser, "form[action='/login'] button", "#trend-h").await;

    // The survey the sign-in was asked for, with its charts.
    assert!(count(&browser, "svg.chart").await >= 2);
    let h1 = browser.find("h1").await.text().await.unwrap();
    assert!(h1.contains("ACME Shoes"), "{h1}");
    check_page(&browser, "the survey page", "dashboard-survey").await;

    // Search the comments: only the matching ones stay.
    browser
        .find("#q")
        .await
        .send_keys("delivery")
        .await
        .unwrap();
    click_and_wait(&browser, "form[role=search] button", "#comments-h").await;
    let texts = browser
        .js(
            "return [...document.querySelectorAll('#comments .feed .text')].map(e => e.textContent)",
            vec![],
        )
        .await;
    let texts = texts.as_array().unwrap();
    assert!(!texts.is_empty());
    for t in texts {
        assert!(
            t.as_str().unwrap().to_lowercase().contains("deliver"),
            "{t}"
        );
    }
    // No comment becomes markup: the seeded <img onerror> is text.
    assert_eq!(count(&browser, "#comments img").await, 0);

    // Restore the scanner's answer from the bot audit.
    let bots = count(&browser, "#bots .feed li").await;
    assert_eq!(bots, 1);
    click_and_wait(&browser, "#bots form button", "#bots-h").await;
    assert_eq!(count(&browser, "#bots .feed li").await, 0);
    assert_eq!(
        app.nps("").await["responses"].as_u64().unwrap(),
        before + 1,
        "the restored answer counts at once"
    );

    // The overview of every survey.
    browser.goto(&app.url("/dashboard")).await;
    browser.wait_for("svg.spark").await;
    check_page(&browser, "the overview", "dashboard-overview").await;
    browser.goto(&app.url("/team")).await;
    browser.wait_for("h1").await;
    check_page(&browser, "the team page", "dashboard-team").await;
    browser.goto(&app.url("/keys")).await;
    browser.wait_for("h1").await;
    check_page(&browser, "the API keys page", "dashboard-keys").await;
    // One answer on its own page (where the Delighted-compatible API's permalink leads).
    let found = app.comments("?q=delivery&limit=1").await;
    let id = found["comments"][0]["id"].as_str().unwrap().to_string();
    browser
        .goto(&app.url(&format!("/dashboard/default/responses/{id}")))
        .await;
    browser.wait_for(".feed .score").await;
    let text = browser.find(".feed .text").await.text().await.unwrap();
    assert_eq!(
        Some(text.as_str()),
        found["comments"][0]["comment"].as_str()
    );
    check_page(&browser, "a response", "dashboard-response").await;
    browser.goto(&app.url("/dashboard/default/settings")).await;
    browser.wait_for("#brand").await;
    check_page(&browser, "the survey settings", "dashboard-settings").await;

    // Webhooks: one added through the form shows its secret once; the list and its delivery
    // log pass axe.
    browser.goto(&app.url("/webhooks")).await;
    browser.wait_for("#hook-url").await;
    browser
        .js(
            "document.querySelector('#hook-url').value = 'https://hooks.example.com/npsd';\
             document.querySelector('input[name=event][value=\"comment.added\"]').checked = true;",
            vec![],
        )
        .await;
    click_and_wait(&browser, "form[action='/webhooks'] button.primary", "h1").await;
    let note = browser.find(".note").await.text().await.unwrap();
    assert!(note.contains("whsec_"), "{note}");
    assert_eq!(count(&browser, "tbody a[href^='/webhooks/']").await, 1);
    check_page(&browser, "the webhooks page", "dashboard-webhooks").await;
    let log = browser
        .js(
            "return document.querySelector(\"tbody a[href^='/webhooks/']\").getAttribute('href')",
            vec![],
        )
        .await;
    browser.goto(&app.url(log.as_str().unwrap())).await;
    browser.wait_for("h1").await;
    check_page(&browser, "a webhook's deliveries", "dashboard-webhook").await;

    // Alert rules of a survey, added through the form.
    browser.goto(&app.url("/dashboard/default/alerts")).await;
    browser.wait_for("#alert-name").await;
    browser
        .js(
            "document.querySelector('#alert-name').value = 'Detractors to the team';\
             document.querySelector('#alert-email').value = 'team@shop.example';\
             document.querySelector('#alert-comment').value = 'yes';",
            vec![],
        )
        .await;
    click_and_wait(
        &browser,
        "form[action='/dashboard/default/alerts'] button.primary",
        "h1",
    )
    .await;
    let table = browser.find("tbody").await.text().await.unwrap();
    assert!(
        table.contains("Detractors to the team") && table.contains("detractors, with a comment"),
        "{table}"
    );
    check_page(&browser, "the alert rules", "dashboard-alerts").await;
    browser.close().await;
}
