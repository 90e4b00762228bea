//! The embedded survey in a real browser: the widget (`embed.js`) and the iframe form on a shop's
//! page served from another origin, the email path's pages, all checked with axe-core (WCAG 2.2
//! A/AA) on a phone and a desktop. Written by a helper.
//!
//! The shop's site is a tiny HTTP server of the test on its own port (a different origin from
//! npsd's), with page CSS that tries to break the widget. axe-core comes from
//! `npm ci --prefix tests/browser`; without it the tests are skipped like without a browser
//! (and fail under NPSD_TEST_REQUIRE_BROWSER=1). NPSD_TEST_SCREENSHOT_DIR=docs/screenshots
//! refreshes the screenshots of the docs.
use crate::browser::{browser_available, start, Browser, BROWSER_WAIT, PHONE};
use crate::helpers::TestApp;
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::Locator;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

const DESKTOP: (u32, u32) = (1280, 800);
const BRAND: &str = "ACME Shoes";
const REPLY_TO: &str = "help@shop.example";

/// Page CSS that would wreck a widget that does not guard itself.
const HOSTILE_CSS: &str = "* { font-family: serif !important; } \
     button { background: red !important; } div { padding: 40px }";

/// Records the page's console warnings in `window.npsdWarnings`, for the tests to read.
const WARNINGS_JS: &str = "window.npsdWarnings = []; (function (warn) { console.warn = \
     function () { window.npsdWarnings.push([].join.call(arguments, ' ')); \
     return warn.apply(console, arguments); }; })(console.warn);";

// --- The shop's site ---------------------------------------------------------------------------

/// A shop's pages on their own port: the origin the widget is embedded on.
pub(crate) struct Site {
    pub(crate) origin: String,
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Site {
    /// Serves the shop's pages, each embedding the survey of the npsd at `npsd`:
    /// `/inline` (the widget in the page), `/inline-with-query` (the same, and the shop opts in
    /// to sending the page's query string), `/corner` (the corner card), `/iframe` (the
    /// no-script form in an iframe).
    pub(crate) fn start(npsd: &str) -> Site {
        let script = |target: &str| {
            format!(
                r#"<script src="{npsd}/embed.js" data-survey="default" data-email="ann@example.com" data-customer-id="c-42" data-name="Ann Lee" data-properties='{{"plan":"pro"}}'{target} async></script>"#
            )
        };
        let pages = HashMap::from([
            (
                "/inline",
                shop_page(
                    &script(r##" data-target="#nps""##),
                    r#"<div id="nps"></div>"#,
                    "",
                ),
            ),
            (
                "/inline-with-query",
                shop_page(
                    &script(r##" data-target="#nps" data-send-query="true""##),
                    r#"<div id="nps"></div>"#,
                    "",
                ),
            ),
            ("/corner", shop_page("", "", &script(""))),
            (
                "/iframe",
                shop_page(
                    "",
                    &format!(
                        r#"<iframe src="{npsd}/embed/default?email=bob@example.com" title="Survey" style="display: block; width: 100%; height: 440px; border: 0"></iframe>"#
                    ),
                    "",
                ),
            ),
        ]);
        let pages = Arc::new(pages);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the shop's site");
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let pages = pages.clone();
                // One thread per connection: Chromium opens idle ones ahead of time.
                if let Ok(stream) = stream {
                    std::thread::spawn(move || answer(stream, &pages));
                }
            }
        });
        Site {
            origin: format!("http://127.0.0.1:{port}"),
            port,
            stop,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wakes the accept loop
    }
}

/// Answers one HTTP/1.1 request with the page at its path, or 404.
fn answer(mut stream: TcpStream, pages: &HashMap<&'static str, String>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .split('?')
        .next()
        .unwrap_or("/");
    let (status, body) = match pages.get(path) {
        Some(page) => ("200 OK", page.as_str()),
        None => ("404 Not Found", "not found"),
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// An accessible shop page (language, title, landmarks, headings), so axe's findings are the
/// survey's, with the hostile CSS; `embed` goes into the middle of the article.
fn shop_page(head: &str, embed: &str, end: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Your order is on its way | ACME Shoes</title>
<style>{HOSTILE_CSS} body {{ margin: 0 auto; max-width: 48rem; color: #222; background: #fafaf9; }} header, main {{ padding: 0 16px; }}</style>
<script>{WARNINGS_JS}</script>
{head}
</head>
<body>
<header><p><a href="/">ACME Shoes</a></p></header>
<main>
<h1>Thank you for your order</h1>
<p>Your winter boots are packed and on their way. You will get an email with the tracking link.</p>
{embed}
<h2>What happens next</h2>
<p>Orders leave our warehouse within one working day. Returns are free for 30 days.</p>
<p>Questions? Write to help@shop.example.</p>
</main>
{end}
</body>
</html>
"#
    )
}

// --- Starting a test ---------------------------------------------------------------------------

/// axe-core's source, or None when it is not installed (after printing why).
pub(crate) fn axe_source() -> Option<&'static str> {
    static AXE: OnceLock<Option<String>> = OnceLock::new();
    AXE.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/browser/node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&path).ok().or_else(|| {
            let why = format!(
                "axe-core not found at {}: run `npm ci --prefix tests/browser`",
                path.display()
            );
            if std::env::var("NPSD_TEST_REQUIRE_BROWSER").as_deref() == Ok("1") {
                panic!("a browser with axe-core is required (NPSD_TEST_REQUIRE_BROWSER=1): {why}");
            }
            eprintln!("SKIPPED: embedded survey browser tests: {why}");
            None
        })
    })
    .as_deref()
}

/// A browser, an app whose default survey may be embedded on the shop's site, and the site.
async fn start_embedded(
    test: &str,
) -> Option<(Browser, TestApp, Site, tokio::sync::MutexGuard<'static, ()>)> {
    if !browser_available(test) || axe_source().is_none() {
        return None;
    }
    let (browser, app, turn) = start(test, PHONE).await?;
    let site = Site::start(&app.address);
    allow_origins(&app, &[&site.origin]).await;
    Some((browser, app, site, turn))
}

pub(crate) async fn allow_origins(app: &TestApp, origins: &[&str]) {
    app.patch_survey(
        "default",
        json!({
            "allowed_origins": origins,
            "embed_enabled": true,
            "brand": BRAND,
            "accent_color": "#0f766e",
            "reply_to": REPLY_TO,
        }),
    )
    .await;
}

// --- Reading the widget ------------------------------------------------------------------------

/// Waits until the widget's shadow root holds `css`; returns every match.
async fn in_widget_all(browser: &Browser, css: &str) -> Vec<Element> {
    let deadline = Instant::now() + BROWSER_WAIT;
    loop {
        if let Ok(host) = browser
            .client
            .find(Locator::Css("[data-npsd-widget]"))
            .await
        {
            if let Ok(root) = host.shadow_root().await {
                if let Ok(found) = root.find_all(Locator::Css(css)).await {
                    if !found.is_empty() {
                        return found;
                    }
                }
            }
        }
        if Instant::now() > deadline {
            let state = browser
                .js(
                    "const h = document.querySelector('[data-npsd-widget]');
                     return {widget: h && h.shadowRoot.innerHTML, warnings: window.npsdWarnings}",
                    vec![],
                )
                .await;
            panic!("the widget shows no `{css}` within {BROWSER_WAIT:?}: {state:#}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

pub(crate) async fn in_widget(browser: &Browser, css: &str) -> Element {
    in_widget_all(browser, css).await.remove(0)
}

/// What has the keyboard focus inside the widget (null when nothing there).
async fn widget_focus(browser: &Browser) -> Value {
    browser
        .js(
            "const h = document.querySelector('[data-npsd-widget]');
             const a = h && h.shadowRoot.activeElement;
             return a && {tag: a.tagName.toLowerCase(), class: a.getAttribute('class'),
                          text: a.textContent.trim(), checked: a.getAttribute('aria-checked')}",
            vec![],
        )
        .await
}

/// The widget's step as laid out, once the corner card has slid in: the card, the status line
/// and the scale (when shown).
const WIDGET_LAYOUT_JS: &str = r#"
const host = document.querySelector('[data-npsd-widget]');
const root = host.shadowRoot;
const box = e => { const b = e.getBoundingClientRect();
  return {left: b.left, right: b.right, top: b.top, bottom: b.bottom, width: b.width, height: b.height}; };
const card = root.querySelector('.card');
return Promise.all(card.getAnimations().map(a => a.finished)).then(() => {
const scale = root.querySelector('.scale');
const s = getComputedStyle(card);
return {
  card: box(card),
  font: s.fontFamily,
  position: getComputedStyle(host).position,
  status: root.querySelector('.status').textContent,
  step: root.querySelector('.step').innerText,
  scale_overflows: scale ? scale.scrollWidth > scale.clientWidth : false,
  choices: [...root.querySelectorAll('.scale-choice')].map(c => Object.assign(box(c), {
    text: c.textContent, background: getComputedStyle(c).backgroundColor })),
  viewport: [innerWidth, innerHeight],
};
});
"#;

/// The widget fits the viewport, keeps its own font and draws its 0-10 scale (when shown) as
/// usable buttons in reading order inside the card, whatever the page's CSS says.
async fn assert_widget_laid_out(browser: &Browser, what: &str) -> Value {
    let l = browser.js(WIDGET_LAYOUT_JS, vec![]).await;
    let num = |v: &Value| v.as_f64().unwrap();
    let (vw, vh) = (num(&l["viewport"][0]), num(&l["viewport"][1]));
    let card = &l["card"];
    assert!(
        num(&card["left"]) >= 0.0 && num(&card["right"]) <= vw && num(&card["width"]) > 200.0,
        "{what}: the card is inside the {vw}px viewport: {l:#}"
    );
    if l["position"] == "fixed" {
        assert!(
            num(&card["bottom"]) <= vh && num(&card["top"]) >= 0.0,
            "{what}: the corner card is inside the {vh}px-high viewport: {l:#}"
        );
    }
    assert!(
        l["font"].as_str().unwrap().starts_with("system-ui"),
        "{what}: the page's font does not reach the widget: {l:#}"
    );
    let choices = l["choices"].as_array().unwrap();
    if choices.is_empty() {
        return l;
    }
    assert_eq!(choices.len(), 11, "{what}: {l:#}");
    assert_eq!(l["scale_overflows"], false, "{what}: the scale fits: {l:#}");
    for (n, c) in choices.iter().enumerate() {
        assert_eq!(c["text"], n.to_string(), "{what}: {l:#}");
        assert!(
            num(&c["left"]) >= num(&card["left"]) && num(&c["right"]) <= num(&card["right"]),
            "{what}: choice {n} is inside the card: {c} {l:#}"
        );
        assert!(
            num(&c["width"]) >= 24.0 && num(&c["height"]) >= 24.0,
            "{what}: choice {n} is at least 24x24 px: {c}"
        );
        assert_ne!(
            c["background"], "rgb(255, 0, 0)",
            "{what}: the page's button CSS does not reach the widget: {c}"
        );
        if n > 0 {
            let before = &choices[n - 1];
            let same_row = c["top"] == before["top"];
            assert!(
                (same_row && num(&c["left"]) > num(&before["right"]))
                    || (!same_row && num(&c["top"]) >= num(&before["bottom"])),
                "{what}: choice {n} follows {} in reading order: {l:#}",
                n - 1
            );
        }
    }
    l
}

/// The scale's rows as laid out: the choices' numbers, row by row.
fn scale_rows(layout: &Value) -> Vec<Vec<String>> {
    let mut rows: Vec<(Value, Vec<String>)> = Vec::new();
    for c in layout["choices"].as_array().unwrap() {
        let text = c["text"].as_str().unwrap().to_string();
        match rows.last_mut() {
            Some((top, row)) if *top == c["top"] => row.push(text),
            _ => rows.push((c["top"].clone(), vec![text])),
        }
    }
    rows.into_iter().map(|(_, row)| row).collect()
}

/// One row of eleven, 0 to 10.
fn one_row() -> Vec<Vec<String>> {
    vec![(0..=10).map(|n| n.to_string()).collect()]
}

/// The widget's console warnings so far (the page records them).
async fn warnings(browser: &Browser) -> Value {
    browser.js("return window.npsdWarnings", vec![]).await
}

// --- axe-core ----------------------------------------------------------------------------------

const AXE_RUN_JS: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, {
  runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']},
  resultTypes: ['violations'],
  iframes: false,
}).then(r => done({violations: r.violations.map(v => ({
  id: v.id, impact: v.impact, help: v.help,
  nodes: v.nodes.map(n => ({target: n.target, html: n.html.slice(0, 300), why: n.failureSummary})),
}))}), e => done({error: String(e && e.stack || e)}));
"#;

/// axe-core's violations on the document of the current frame (injected there first).
async fn axe_violations(browser: &Browser, what: &str) -> Vec<Value> {
    let mut loaded = browser.js("return typeof window.axe", vec![]).await;
    if loaded != "object" {
        let axe = axe_source().expect("axe-core");
        loaded = browser
            .js(&format!("{axe}\n;return typeof window.axe"), vec![])
            .await;
    }
    assert_eq!(loaded, "object", "{what}: axe-core did not load");
    let result = browser
        .client
        .execute_async(AXE_RUN_JS, vec![])
        .await
        .unwrap_or_else(|e| panic!("{what}: axe-core did not finish: {e}"));
    assert!(
        result["error"].is_null(),
        "{what}: axe-core failed: {result}"
    );
    result["violations"].as_array().unwrap().clone()
}

/// Runs axe-core on the document of the current frame; fails listing every violation.
pub(crate) async fn assert_axe_clean(browser: &Browser, what: &str) {
    let violations = axe_violations(browser, what).await;
    if !violations.is_empty() {
        let mut report = String::new();
        for v in &violations {
            report += &format!("\n- {} ({}): {}\n", v["id"], v["impact"], v["help"]);
            for n in v["nodes"].as_array().unwrap() {
                report += &format!(
                    "    at {}\n      {}\n      {}\n",
                    n["target"],
                    n["html"].as_str().unwrap_or(""),
                    n["why"].as_str().unwrap_or("").replace('\n', "\n      ")
                );
            }
        }
        panic!(
            "{what}: {} accessibility violation(s) (axe-core, WCAG 2.2 A/AA):{report}",
            violations.len()
        );
    }
}

/// axe-core on the current page at phone and desktop width; `shot` names the screenshots
/// (`{shot}-390.png`, `{shot}-1280.png`). Leaves the browser at phone width.
async fn assert_accessible_at_both_widths(browser: &Browser, what: &str, shot: Option<&str>) {
    assert_accessible_in(browser, None, what, shot).await
}

/// The same for the page in `frame` (the browser is in it, and stays there): the window is
/// resized from the top.
async fn assert_accessible_in(
    browser: &Browser,
    frame: Option<&Element>,
    what: &str,
    shot: Option<&str>,
) {
    for window in [DESKTOP, PHONE] {
        if let Some(frame) = frame {
            browser
                .client
                .enter_parent_frame()
                .await
                .expect("out of the frame");
            browser.resize(window).await;
            frame.enter_frame().await.expect("into the frame");
        } else {
            browser.resize(window).await;
        }
        let what = format!("{what} at {} px", window.0);
        assert_axe_clean(browser, &what).await;
        if let Some(shot) = shot {
            browser
                .screenshot(&format!("{shot}-{}.png", window.0))
                .await;
        }
    }
}

// --- Waiting for the API -----------------------------------------------------------------------

/// Polls the web answers' NPS until `done` holds.
/// Types a detractor's comment into `textarea` and sends it; returns the thank-you page's text,
/// which says sorry.
async fn send_detractor_comment(browser: &Browser, textarea: &str, comment: &str) -> String {
    browser
        .find(textarea)
        .await
        .send_keys(comment)
        .await
        .expect("type the comment");
    let body = browser.send_expecting_thanks().await;
    assert!(
        body.contains(&format!("We're sorry {BRAND} fell short")),
        "{body}"
    );
    body
}

async fn web_nps_when(app: &TestApp, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + BROWSER_WAIT;
    loop {
        let nps = app.nps("?channel=web").await;
        if done(&nps) {
            return nps;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {BROWSER_WAIT:?}: {nps}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn web_comments(app: &TestApp) -> Vec<Value> {
    app.comments("?channel=web").await["comments"]
        .as_array()
        .unwrap()
        .clone()
}

// --- The tests ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_on_an_allowed_origin_stores_a_web_answer_with_the_keyboard() {
    let Some((browser, app, site, _turn)) =
        start_embedded("the_widget_on_an_allowed_origin_stores_a_web_answer_with_the_keyboard")
            .await
    else {
        return;
    };
    let page = site.url("/inline");
    browser.goto(&page).await;

    // Step 1: the question and the 0-10 scale, in the page where the shop put it.
    let choices = in_widget_all(
        &browser,
        ".scale[role=radiogroup] .scale-choice[role=radio]",
    )
    .await;
    assert_eq!(choices.len(), 11);
    let question = in_widget(&browser, "h2.title").await.text().await.unwrap();
    assert!(question.contains(BRAND), "{question}");
    // The page gives it all the width of its text on a desktop, and only 278 px on a phone
    // (its `div { padding: 40px }`): too narrow for one row of 24 px choices, so two.
    let two_rows: Vec<Vec<String>> = vec![
        (0..=5).map(|n| n.to_string()).collect(),
        (6..=10).map(|n| n.to_string()).collect(),
    ];
    for (window, rows) in [(DESKTOP, one_row()), (PHONE, two_rows)] {
        browser.resize(window).await;
        let what = format!("inline widget at {}", window.0);
        let layout = assert_widget_laid_out(&browser, &what).await;
        assert_ne!(
            layout["position"], "fixed",
            "{what}: inline, not in the corner"
        );
        assert_eq!(scale_rows(&layout), rows, "{what}: {layout:#}");
        let step = layout["step"].as_str().unwrap();
        assert!(
            step.contains("Not likely") && step.contains("Very likely"),
            "{what}: {step}"
        );
    }
    assert_accessible_at_both_widths(&browser, "inline widget, score step", Some("widget-inline"))
        .await;

    // The keyboard: Tab reaches the scale (one stop), the arrows only move the focus.
    // Tab past the shop's own link reaches the scale: one stop, on its first choice.
    browser.press(&[Key::Tab]).await;
    let link = browser
        .js("return document.activeElement.textContent", vec![])
        .await;
    assert_eq!(link, "ACME Shoes", "the shop's link comes first");
    browser.press(&[Key::Tab]).await;
    let focus = widget_focus(&browser).await;
    assert_eq!(focus["text"], "0", "Tab lands on the first choice: {focus}");
    browser.press(&[Key::Right, Key::Right, Key::Right]).await;
    let focus = widget_focus(&browser).await;
    assert_eq!(focus["text"], "3", "the arrows move the focus: {focus}");
    assert_eq!(focus["checked"], "false", "but choose nothing: {focus}");
    let nps = app.nps("?channel=web").await;
    assert_eq!(nps["responses"], 0, "nothing stored by moving: {nps}");

    // Enter chooses 3: stored at once, before any comment.
    browser.press(&[Key::Enter]).await;
    let nps = web_nps_when(&app, "the score is stored", |n| n["responses"] == 1).await;
    assert_eq!(nps["distribution"][3], 1, "{nps}");
    assert_eq!(nps["detractors"], 1, "{nps}");

    // Step 2: the comment, with the focus already in it.
    let textarea = in_widget(&browser, "textarea").await;
    let focus = widget_focus(&browser).await;
    assert_eq!(
        focus["tag"], "textarea",
        "the focus moves to the comment: {focus}"
    );
    let layout = assert_widget_laid_out(&browser, "inline widget, comment step").await;
    assert_eq!(
        layout["status"], "Thanks, your score of 3 is saved.",
        "{layout:#}"
    );
    assert_accessible_at_both_widths(&browser, "inline widget, comment step", None).await;

    let comment = "The size guide was confusing. Größe 42 passt nicht!";
    textarea.send_keys(comment).await.expect("type the comment");
    browser.press(&[Key::Tab]).await;
    let focus = widget_focus(&browser).await;
    assert_eq!(focus["text"], "Send", "Tab goes on to Send: {focus}");
    browser.press(&[Key::Enter]).await;

    // Step 3: thanks for a detractor, with the shop's address.
    let heading = in_widget(&browser, "h2.title[tabindex='-1']").await;
    let deadline = Instant::now() + BROWSER_WAIT;
    while heading.text().await.unwrap() != "Thank you!" {
        assert!(Instant::now() < deadline, "no thank-you step");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let focus = widget_focus(&browser).await;
    assert_eq!(
        focus["text"], "Thank you!",
        "the focus moves to the thanks: {focus}"
    );
    let layout = assert_widget_laid_out(&browser, "inline widget, thank-you step").await;
    let step = layout["step"].as_str().unwrap();
    assert!(
        step.contains(&format!("We're sorry {BRAND} fell short")),
        "{step}"
    );
    let mailto = in_widget(&browser, "a[href^='mailto:']").await;
    assert_eq!(
        mailto.attr("href").await.unwrap().as_deref(),
        Some(format!("mailto:{REPLY_TO}").as_str())
    );
    assert_eq!(layout["status"], "", "{layout:#}");
    assert_accessible_at_both_widths(&browser, "inline widget, thank-you step", None).await;

    // One web answer, with the comment, the page and what the page said about the visitor.
    let comments = web_comments(&app).await;
    assert_eq!(comments.len(), 1, "{comments:#?}");
    let c = &comments[0];
    assert_eq!(c["comment"], comment);
    assert_eq!(c["score"], 3);
    assert_eq!(c["channel"], "web");
    assert!(
        c["page_url"].as_str().unwrap_or("").starts_with(&page),
        "page_url is the shop's page {page}: {c}"
    );
    assert_eq!(c["email"], "ann@example.com", "{c}");
    assert_eq!(c["customer_id"], "c-42", "{c}");
    assert_eq!(c["name"], "Ann Lee", "{c}");
    assert_eq!(c["properties"]["plan"], "pro", "{c}");
    assert_eq!(app.nps("?channel=web").await["responses"], 1);
    assert_eq!(app.nps("?channel=email").await["responses"], 0);
    assert_eq!(warnings(&browser).await, json!([]), "no console warnings");

    // The checks above saw inside the widget: an image without a text alternative put into its
    // shadow root is found there.
    browser
        .js(
            "const i = document.createElement('img');
             i.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';
             document.querySelector('[data-npsd-widget]').shadowRoot.querySelector('.step').append(i);",
            vec![],
        )
        .await;
    let found = axe_violations(&browser, "the widget with an unlabelled image").await;
    assert!(
        found.iter().any(|v| {
            let path = &v["nodes"][0]["target"][0];
            v["id"] == "image-alt"
                && path.as_array().is_some_and(|p| p.len() == 2)
                && path[0].as_str().unwrap_or("").contains("data-npsd-widget")
        }),
        "axe-core checks inside the widget's shadow root: {found:#?}"
    );

    browser.close().await;
}

/// The corner card stays away on this page: embed.js has run (claimed its tag, the page has
/// loaded), no widget comes up for half a second after, and it asked npsd for nothing.
async fn assert_no_widget_comes(browser: &Browser, what: &str) {
    let deadline = Instant::now() + BROWSER_WAIT;
    while browser
        .js(
            "return document.readyState === 'complete' &&
                 !!document.querySelector('script[data-npsd-loaded]')",
            vec![],
        )
        .await
        != true
    {
        assert!(Instant::now() < deadline, "{what}: embed.js did not run");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // A config request to the local app takes milliseconds; give it ample time to show.
    let settle = Instant::now() + Duration::from_millis(500);
    while Instant::now() < settle {
        let widget = browser
            .js(
                "return document.querySelectorAll('[data-npsd-widget]').length",
                vec![],
            )
            .await;
        assert_eq!(widget, 0, "{what}: no widget");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let config_requests = browser
        .js(
            "return performance.getEntriesByType('resource')
                 .filter(e => e.name.includes('/api/v1/embed/')).length",
            vec![],
        )
        .await;
    assert_eq!(config_requests, 0, "{what}: not even a config request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_works_with_clicks_in_the_corner_and_can_be_dismissed() {
    let Some((browser, app, site, _turn)) =
        start_embedded("the_widget_works_with_clicks_in_the_corner_and_can_be_dismissed").await
    else {
        return;
    };
    let page = site.url("/corner");
    browser.goto(&page).await;

    in_widget_all(&browser, ".scale-choice").await;
    // One row of eleven down to a 320 px phone.
    for window in [(320, 640), DESKTOP, PHONE] {
        browser.resize(window).await;
        let what = format!("corner card at {}", window.0);
        let layout = assert_widget_laid_out(&browser, &what).await;
        assert_eq!(layout["position"], "fixed", "{what}: {layout:#}");
        assert_eq!(scale_rows(&layout), one_row(), "{what}: {layout:#}");
        let (vw, vh) = (window.0 as f64, window.1 as f64);
        let card = &layout["card"];
        assert!(
            vw - card["right"].as_f64().unwrap() <= 16.0
                && vh - card["bottom"].as_f64().unwrap() <= 16.0,
            "{what}: in the bottom right corner: {layout:#}"
        );
    }
    assert_accessible_at_both_widths(&browser, "corner card, score step", Some("widget-corner"))
        .await;

    // A tap on 10, a comment, a tap on Send.
    browser
        .tap(&in_widget(&browser, ".scale-choice:last-child").await)
        .await;
    let textarea = in_widget(&browser, "textarea").await;
    let nps = app.nps("?channel=web").await;
    assert_eq!(nps["responses"], 1, "{nps}");
    assert_eq!(nps["distribution"][10], 1, "{nps}");
    assert_accessible_at_both_widths(&browser, "corner card, comment step", None).await;
    textarea
        .send_keys("Lovely boots, quick delivery.")
        .await
        .expect("type the comment");
    browser.tap(&in_widget(&browser, ".button").await).await;
    in_widget(&browser, "h2.title[tabindex='-1']").await;
    let layout = assert_widget_laid_out(&browser, "corner card, thank-you step").await;
    let step = layout["step"].as_str().unwrap();
    assert!(
        step.starts_with("Thank you!") && step.contains(&format!("glad you'd recommend {BRAND}")),
        "{step}"
    );
    assert!(!step.contains(REPLY_TO), "no apology to a promoter: {step}");
    assert_accessible_at_both_widths(&browser, "corner card, thank-you step", None).await;

    // Closed: gone now, and on the next page view too.
    browser
        .tap(&in_widget(&browser, "button.close[aria-label=Close]").await)
        .await;
    let left = browser
        .js(
            "return document.querySelectorAll('[data-npsd-widget]').length",
            vec![],
        )
        .await;
    assert_eq!(left, 0, "the close button removes the card");
    browser.goto(&page).await;
    assert_no_widget_comes(&browser, "after closing and answering").await;

    // Each of the two marks keeps it away on its own; without them it comes back.
    browser
        .js("localStorage.removeItem('npsd:answered:default')", vec![])
        .await;
    browser.goto(&page).await;
    assert_no_widget_comes(&browser, "closed (not answered)").await;
    browser
        .js("localStorage.removeItem('npsd:dismissed:default')", vec![])
        .await;
    browser.goto(&page).await;
    in_widget_all(&browser, ".scale-choice").await;

    let nps = app.nps("?channel=web").await;
    assert_eq!(nps["responses"], 1, "one answer: {nps}");
    let comments = web_comments(&app).await;
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert_eq!(comments[0]["comment"], "Lovely boots, quick delivery.");
    assert_eq!(comments[0]["score"], 10);
    assert_eq!(comments[0]["page_url"], page);
    assert_eq!(warnings(&browser).await, json!([]), "no console warnings");

    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_on_an_origin_not_allowed_shows_nothing_and_stores_nothing() {
    let Some((browser, app, allowed, _turn)) =
        start_embedded("the_widget_on_an_origin_not_allowed_shows_nothing_and_stores_nothing")
            .await
    else {
        return;
    };
    let other = Site::start(&app.address);
    assert_ne!(other.origin, allowed.origin);

    for page in ["/inline", "/corner"] {
        browser.goto(&other.url(page)).await;
        // The widget says why in one console line, and shows nothing.
        let deadline = Instant::now() + BROWSER_WAIT;
        let said = loop {
            let said = warnings(&browser).await;
            if said.as_array().is_some_and(|w| !w.is_empty()) {
                break said;
            }
            assert!(
                Instant::now() < deadline,
                "{page}: no console warning from the widget"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        };
        let said = said.as_array().unwrap();
        assert_eq!(said.len(), 1, "{page}: one line: {said:?}");
        let line = said[0].as_str().unwrap();
        assert!(
            line.starts_with("npsd: survey \"default\" is not available on ")
                && line.contains(&other.origin)
                && line.contains("allowed_origins"),
            "{page}: {line}"
        );
        let widgets = browser
            .js(
                "return document.querySelectorAll('[data-npsd-widget]').length",
                vec![],
            )
            .await;
        assert_eq!(widgets, 0, "{page}: nothing shown");
        let target = browser
            .js(
                "return document.querySelector('#nps')?.innerHTML ?? ''",
                vec![],
            )
            .await;
        assert_eq!(target, "", "{page}: the target stays empty");
    }
    assert_eq!(app.nps("?channel=web").await["responses"], 0);

    // The same page on the allowed origin shows it: the origin made the difference.
    browser.goto(&allowed.url("/inline")).await;
    in_widget_all(&browser, ".scale-choice").await;
    assert_eq!(warnings(&browser).await, json!([]));
    assert_eq!(app.nps("?channel=web").await["responses"], 0);

    browser.close().await;
}

/// The score choices of a response page at 320 px: one row, each at least 24x24 px.
const SCALE_ROW_JS: &str = r#"
return [...document.querySelectorAll('.scale .scale-choice')].map(c => {
  const b = c.getBoundingClientRect();
  return {text: c.firstChild.textContent, top: b.top, width: b.width, height: b.height,
          left: b.left, right: b.right};
});
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_iframe_form_and_the_response_pages_pass_axe() {
    let Some((browser, app, site, _turn)) =
        start_embedded("the_iframe_form_and_the_response_pages_pass_axe").await
    else {
        return;
    };

    // The no-script form in the shop's iframe: score 2, a comment, thanks.
    browser.goto(&site.url("/iframe")).await;
    let frame = browser.wait_for("iframe[title=Survey]").await;
    assert_accessible_at_both_widths(&browser, "the shop's page with the iframe", None).await;
    frame.enter_frame().await.expect("into the iframe");
    browser.wait_for(".scale button[name=score]").await;
    assert_accessible_in(&browser, Some(&frame), "iframe form, score step", None).await;
    browser
        .client
        .enter_parent_frame()
        .await
        .expect("out of the iframe");
    browser.screenshot("iframe-form-390.png").await;
    frame.enter_frame().await.expect("into the iframe");
    browser
        .find(".scale button[name=score][value='2']")
        .await
        .click()
        .await
        .expect("click 2");
    browser.wait_for("textarea#comment").await;
    let saved = browser
        .find(".saved[role=status]")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(saved, "Thanks, your score of 2 is saved.");
    assert_eq!(app.nps("?channel=web").await["distribution"][2], 1);
    assert_accessible_in(&browser, Some(&frame), "iframe form, comment step", None).await;
    send_detractor_comment(&browser, "textarea#comment", "The boots arrived late.").await;
    let mailto = browser.find("main a[href^='mailto:']").await;
    assert_eq!(
        mailto.attr("href").await.unwrap().as_deref(),
        Some(format!("mailto:{REPLY_TO}").as_str())
    );
    assert_accessible_in(&browser, Some(&frame), "iframe form, thank-you step", None).await;
    browser
        .client
        .enter_parent_frame()
        .await
        .expect("out of the iframe");

    let comments = web_comments(&app).await;
    assert_eq!(comments.len(), 1, "{comments:#?}");
    let c = &comments[0];
    assert_eq!(c["score"], 2, "{c}");
    assert_eq!(c["comment"], "The boots arrived late.", "{c}");
    assert_eq!(c["channel"], "web", "{c}");
    assert_eq!(c["email"], "bob@example.com", "{c}");
    assert!(
        c["page_url"]
            .as_str()
            .unwrap_or("")
            .starts_with(&site.origin),
        "page_url from the shop's site: {c}"
    );

    // The email path: the score page of a "3" link.
    let mail = app
        .transaction_and_email("order-1", "ann@example.com")
        .await;
    browser.goto(&mail.score_link(3)).await;
    browser.wait_for("form button[type=submit]").await;
    let saved = browser
        .find(".saved[role=status]")
        .await
        .text()
        .await
        .unwrap();
    assert!(saved.contains("your score of 3 is saved"), "{saved}");
    assert_accessible_at_both_widths(&browser, "score page", Some("score-page")).await;

    // At 320 px the 11 choices still make one row of targets of at least 24x24 px.
    // (Tall enough for no scrollbar: a phone's overlays the page, a desktop's takes 15 px.)
    browser.resize((320, 1200)).await;
    let client_width = browser
        .js("return document.documentElement.clientWidth", vec![])
        .await;
    assert_eq!(client_width, 320, "no scrollbar beside the page");
    browser
        .assert_no_horizontal_overflow("the score page at 320 px")
        .await;
    let row = browser.js(SCALE_ROW_JS, vec![]).await;
    let row = row.as_array().unwrap();
    assert_eq!(row.len(), 11, "{row:?}");
    for (n, c) in row.iter().enumerate() {
        assert_eq!(c["text"], n.to_string(), "{c}");
        assert_eq!(c["top"], row[0]["top"], "one row at 320 px: {row:#?}");
        assert!(
            c["width"].as_f64().unwrap() >= 24.0 && c["height"].as_f64().unwrap() >= 24.0,
            "choice {n} is at least 24x24 px at 320 px: {c}"
        );
        assert!(
            c["left"].as_f64().unwrap() >= 0.0 && c["right"].as_f64().unwrap() <= 320.0,
            "choice {n} is on screen: {c}"
        );
    }
    browser.resize(PHONE).await;

    // Its thank-you page for a detractor, with the shop's address to write to.
    let body = send_detractor_comment(&browser, "textarea[name=comment]", "Too small.").await;
    assert!(body.contains(REPLY_TO), "{body}");
    assert_accessible_at_both_widths(
        &browser,
        "thank-you page, detractor",
        Some("thanks-detractor"),
    )
    .await;

    // And for a promoter.
    let mail = app
        .transaction_and_email("order-2", "bob@example.com")
        .await;
    browser.goto(&mail.score_link(9)).await;
    browser.wait_for("form button[type=submit]").await;
    let body = browser.send_expecting_thanks().await;
    assert!(
        body.contains(&format!("glad you'd recommend {BRAND}")),
        "{body}"
    );
    assert!(!body.contains(REPLY_TO), "{body}");
    assert_accessible_at_both_widths(&browser, "thank-you page, promoter", None).await;

    let email = app.nps("?channel=email").await;
    assert_eq!(email["responses"], 2, "{email}");
    assert_eq!(app.nps("?channel=web").await["responses"], 1);

    browser.close().await;
}
