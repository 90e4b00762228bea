//! Pages in a real browser (headless Chromium through chromedriver). Written by a helper.
//!
//! Each test starts its own chromedriver on a free port and one Chromium session with a fresh
//! profile, and stops both when it ends, also when it fails. Without chromedriver or Chromium
//! the tests print `SKIPPED` and pass, unless NPSD_TEST_REQUIRE_BROWSER=1 (as in CI).
//! NPSD_TEST_CHROMEDRIVER / NPSD_TEST_CHROMIUM override the binaries (default /usr/bin/...);
//! NPSD_TEST_SCREENSHOT_DIR keeps the screenshots there for a look.
use crate::helpers::{spawn_app, Backend, TestApp};
use fantoccini::actions::{
    InputSource, KeyAction, KeyActions, MouseActions, PointerAction, MOUSE_BUTTON_LEFT,
};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long to wait for chromedriver, a page or an element.
pub(crate) const BROWSER_WAIT: Duration = Duration::from_secs(20);
pub(crate) const PHONE: (u32, u32) = (390, 844);
const DESKTOP: (u32, u32) = (1024, 768);

fn chromedriver_path() -> String {
    std::env::var("NPSD_TEST_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into())
}

fn chromium_path() -> String {
    std::env::var("NPSD_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// Whether the browser tests can run. Without chromedriver or Chromium: prints SKIPPED and
/// returns false, or panics when a browser is required (NPSD_TEST_REQUIRE_BROWSER=1).
pub(crate) fn browser_available(test: &str) -> bool {
    let missing = [
        ("chromedriver", chromedriver_path()),
        ("chromium", chromium_path()),
    ]
    .into_iter()
    .find(|(_, path)| !Path::new(path).is_file())
    .map(|(what, path)| format!("{what} not found at {path}"));
    let Some(missing) = missing else {
        return true;
    };
    if std::env::var("NPSD_TEST_REQUIRE_BROWSER").as_deref() == Ok("1") {
        panic!(
            "a browser is required (NPSD_TEST_REQUIRE_BROWSER=1) but {missing}; install the \
             Debian packages chromium and chromium-driver, or set NPSD_TEST_CHROMIUM and \
             NPSD_TEST_CHROMEDRIVER"
        );
    }
    eprintln!("SKIPPED: browser test {test}: {missing}");
    false
}

/// A chromedriver process of this test. Dropping it asks chromedriver to end its sessions and
/// quit (which ends Chromium too), and kills it if it has not gone after a few seconds.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    /// Starts chromedriver on a free port and waits until it accepts sessions.
    async fn start(log: &Path) -> Driver {
        // A free port can be taken by someone else before chromedriver binds it: try again.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            let child = Command::new(chromedriver_path())
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver_path()));
            let mut driver = Driver { child, port };
            if driver.wait_until_ready(log).await {
                return driver;
            }
        }
        panic!(
            "chromedriver did not start on a free port in 5 tries; log:\n{}",
            tail(log)
        );
    }

    /// True when this chromedriver answers `ready`; false when it exited (port taken).
    async fn wait_until_ready(&mut self, log: &Path) -> bool {
        let http = reqwest::Client::new();
        let status_url = format!("{}/status", self.url());
        let deadline = Instant::now() + BROWSER_WAIT;
        loop {
            if self
                .child
                .try_wait()
                .expect("chromedriver status")
                .is_some()
            {
                return false;
            }
            let ready = match http.get(&status_url).send().await {
                Ok(res) => res
                    .json::<Value>()
                    .await
                    .map(|v| v["value"]["ready"] == true)
                    .unwrap_or(false),
                Err(_) => false,
            };
            // Ready, and still ours (not another process that took the port).
            if ready
                && self
                    .child
                    .try_wait()
                    .expect("chromedriver status")
                    .is_none()
            {
                return true;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer on port {} within {BROWSER_WAIT:?}; log:\n{}",
                self.port,
                tail(log)
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            // chromedriver's own shutdown closes its sessions: Chromium and its helpers end.
            let _ = blocking_get(self.port, "/shutdown");
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if self.child.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// A plain HTTP GET that works inside Drop (no runtime needed).
fn blocking_get(port: u16, path: &str) -> std::io::Result<()> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut sink = Vec::new();
    s.read_to_end(&mut sink)?;
    Ok(())
}

/// The end of a log file, for failure messages.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// A Chromium session through this test's own chromedriver. Fields drop in order: the client,
/// then chromedriver (ending Chromium), then the temp dir with the profile.
pub(crate) struct Browser {
    pub(crate) client: Client,
    driver: Driver,
    dir: tempfile::TempDir,
}

impl Browser {
    pub(crate) async fn launch(window: (u32, u32)) -> Browser {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("chromedriver.log");
        let profile = dir.path().join("profile");
        let driver = Driver::start(&log).await;
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium_path(),
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--no-first-run",
                    format!("--user-data-dir={}", profile.display()),
                    format!("--window-size={},{}", window.0, window.1),
                ],
            }),
        );
        let client = ClientBuilder::native()
            .capabilities(caps)
            .connect(&driver.url())
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "Chromium ({}) did not start through chromedriver: {e}\nlog:\n{}",
                    chromium_path(),
                    tail(&log)
                )
            });
        client
            .update_timeouts(TimeoutConfiguration::new(
                Some(BROWSER_WAIT),
                Some(BROWSER_WAIT),
                Some(Duration::ZERO),
            ))
            .await
            .expect("set timeouts");
        let browser = Browser {
            client,
            driver,
            dir,
        };
        browser.resize(window).await;
        browser
    }

    /// Sets the viewport (not the window) to `width` x `height` CSS pixels.
    pub(crate) async fn resize(&self, (width, height): (u32, u32)) {
        let c = &self.client;
        c.set_window_size(width, height).await.expect("resize");
        let inner = self
            .js("return [window.innerWidth, window.innerHeight]", vec![])
            .await;
        let (iw, ih) = (inner[0].as_u64().unwrap(), inner[1].as_u64().unwrap());
        // Headless windows have no frame, but be exact about the viewport whatever the build.
        if (iw, ih) != (width as u64, height as u64) {
            let grow = |want: u32, got: u64| (2 * want as i64 - got as i64).max(1) as u32;
            c.set_window_size(grow(width, iw), grow(height, ih))
                .await
                .expect("resize");
        }
        let inner = self.js("return window.innerWidth", vec![]).await;
        assert_eq!(inner, json!(width), "viewport width after resizing");
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    pub(crate) async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Waits for an element, failing with the page's text when it never comes.
    pub(crate) async fn wait_for(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(BROWSER_WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => {
                let text = self
                    .client
                    .source()
                    .await
                    .unwrap_or_else(|e| format!("(no page source: {e})"));
                panic!("no `{css}` within {BROWSER_WAIT:?}: {e}\npage:\n{text}")
            }
        }
    }

    pub(crate) async fn find(&self, css: &str) -> Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no `{css}`: {e}"))
    }

    /// A tap where a person sees `element`: scrolled into view, then a real pointer press at
    /// its centre (whatever element is on top there gets it, as for a finger).
    pub(crate) async fn tap(&self, element: &Element) {
        self.js(
            "arguments[0].scrollIntoView({block: 'center', inline: 'center'})",
            vec![serde_json::to_value(element).unwrap()],
        )
        .await;
        let mouse = MouseActions::new("mouse".into())
            .then(PointerAction::MoveToElement {
                element: element.clone(),
                duration: None,
                x: 0.0,
                y: 0.0,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        self.client.perform_actions(mouse).await.expect("tap");
        self.client.release_actions().await.expect("release");
    }

    /// Presses and releases keys, sent to whatever has the focus.
    pub(crate) async fn press(&self, keys: &[Key]) {
        let mut seq = KeyActions::new("keyboard".into());
        for key in keys {
            let value = key.chars().next().unwrap();
            seq = seq
                .then(KeyAction::Down { value })
                .then(KeyAction::Up { value });
        }
        self.client.perform_actions(seq).await.expect("keys");
    }

    /// Clicks Send and waits for the page that answers (not the one clicked on): returns its
    /// `h1` (thanks) or its `role=alert` (refused).
    pub(crate) async fn send(&self) -> Element {
        self.js("document.documentElement.dataset.sent = '1'", vec![])
            .await;
        self.find("form button[type=submit]")
            .await
            .click()
            .await
            .expect("click Send");
        self.wait_for("html:not([data-sent]) h1, html:not([data-sent]) [role=alert]")
            .await
    }

    /// Sends the form and expects the thank-you page; returns its text.
    pub(crate) async fn send_expecting_thanks(&self) -> String {
        let answer = self.send().await;
        let text = answer.text().await.unwrap();
        assert_ne!(
            answer.attr("role").await.unwrap().as_deref(),
            Some("alert"),
            "the form was refused: {text}"
        );
        assert!(text.contains("Thank you"), "{text}");
        self.find("main").await.text().await.unwrap()
    }

    /// The values of the checked score radios.
    async fn checked_scores(&self) -> Value {
        self.js(
            "return [...document.querySelectorAll('input[name=score]')]
                .filter(r => r.checked).map(r => Number(r.value))",
            vec![],
        )
        .await
    }

    pub(crate) async fn assert_no_horizontal_overflow(&self, what: &str) {
        let widths = self
            .js(
                "return [document.documentElement.scrollWidth, window.innerWidth]",
                vec![],
            )
            .await;
        if widths[0].as_u64() > widths[1].as_u64() {
            // Name the elements that stick out, outermost first.
            let culprits = self
                .js(
                    "return [...document.querySelectorAll('body *')]
                        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
                        .slice(0, 6)
                        .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
                            + ' right=' + Math.round(e.getBoundingClientRect().right))",
                    vec![],
                )
                .await;
            panic!(
                "{what} scrolls sideways: scrollWidth {} > innerWidth {}; sticking out: {culprits}",
                widths[0], widths[1]
            );
        }
    }

    pub(crate) async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        assert!(
            png.len() > 1000 && png.starts_with(b"\x89PNG\r\n\x1a\n"),
            "not a PNG ({} bytes)",
            png.len()
        );
        let dir = std::env::var("NPSD_TEST_SCREENSHOT_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| self.dir.path().to_path_buf());
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(name);
        std::fs::write(&path, &png).expect("write screenshot");
        path
    }

    pub(crate) async fn close(self) {
        let Browser {
            client,
            driver,
            dir,
        } = self;
        let _ = client.close().await;
        drop(driver);
        drop(dir);
    }
}

/// The browser and the app, started side by side; None when the browser tests are skipped.
/// A browser and an app; the guard keeps the tests that start processes from running beside it
/// on a 2-core machine.
pub(crate) async fn start(
    test: &str,
    window: (u32, u32),
) -> Option<(Browser, TestApp, tokio::sync::MutexGuard<'static, ()>)> {
    if !browser_available(test) {
        return None;
    }
    let turn = crate::process::one_at_a_time().await;
    let (browser, app) = tokio::join!(Browser::launch(window), spawn_app(Backend::Sqlite));
    Some((browser, app, turn))
}

/// For each score radio: its value and its label as laid out (scrolled into view first).
const RADIO_LABELS_JS: &str = r#"
return [...document.querySelectorAll('input[type=radio][name=score]')].map(r => {
  const label = r.labels && r.labels[0];
  if (!label) return {value: r.value, labels: 0};
  label.scrollIntoView({block: 'center', inline: 'center'});
  const b = label.getBoundingClientRect();
  const s = getComputedStyle(label);
  const hit = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
  return {
    value: r.value,
    labels: r.labels.length,
    text: label.innerText.trim(),
    width: b.width, height: b.height, left: b.left, right: b.right,
    visible: s.display !== 'none' && s.visibility === 'visible' && Number(s.opacity) > 0,
    tap_hits_radio: hit === r || label.contains(hit),
  };
});
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_answers_in_the_browser() {
    let Some((browser, app, _turn)) = start("a_customer_answers_in_the_browser", PHONE).await
    else {
        return;
    };
    let mail = app
        .transaction_and_email("order-1", "ann@example.com")
        .await;

    // The "9" button of the email.
    browser.goto(&mail.score_link(9)).await;
    browser.wait_for("form button[type=submit]").await;
    let nine = browser.find("input[name=score][value='9']").await;
    assert_eq!(
        nine.prop("checked").await.unwrap().as_deref(),
        Some("true"),
        "the clicked score is preselected"
    );
    assert_eq!(browser.checked_scores().await, json!([9]));
    browser
        .assert_no_horizontal_overflow("the form on a phone")
        .await;
    browser.screenshot("form-phone.png").await;

    // Eleven radios 0..10, each with a visible label a finger can hit.
    let labels = browser.js(RADIO_LABELS_JS, vec![]).await;
    let labels = labels.as_array().unwrap();
    assert_eq!(labels.len(), 11, "{labels:?}");
    for (n, l) in labels.iter().enumerate() {
        assert_eq!(l["value"], n.to_string(), "radios in order: {l}");
        assert_eq!(l["labels"], 1, "radio {n} has one label: {l}");
        assert_eq!(
            l["text"].as_str().unwrap().split_whitespace().next(),
            Some(n.to_string().as_str()),
            "label of {n} shows its number: {l}"
        );
        assert_eq!(l["visible"], true, "label of {n} is visible: {l}");
        assert!(
            l["width"].as_f64().unwrap() >= 24.0 && l["height"].as_f64().unwrap() >= 24.0,
            "label of {n} is a usable tap target: {l}"
        );
        assert!(
            l["left"].as_f64().unwrap() >= 0.0 && l["right"].as_f64().unwrap() <= PHONE.0 as f64,
            "label of {n} is inside the screen: {l}"
        );
        assert_eq!(
            l["tap_hits_radio"], true,
            "a tap on the label of {n} reaches its radio: {l}"
        );
    }

    // Change the mind: tap "10", then go back and forth with the arrow keys.
    let ten_label = browser.find("label[for='score-10']").await;
    browser.tap(&ten_label).await;
    assert_eq!(browser.checked_scores().await, json!([10]), "tapped 10");
    browser.press(&[Key::Left]).await;
    assert_eq!(browser.checked_scores().await, json!([9]), "arrow left");
    browser.press(&[Key::Right]).await;
    assert_eq!(browser.checked_scores().await, json!([10]), "arrow right");
    // The keyboard focus is on the radio and shows on its label.
    let focus = browser
        .js(
            "const a = document.activeElement;
             const s = getComputedStyle(a.labels[0]);
             return {id: a.id, outline: s.outlineStyle, width: parseFloat(s.outlineWidth)}",
            vec![],
        )
        .await;
    assert_eq!(focus["id"], "score-10", "{focus}");
    assert!(
        focus["outline"] != "none" && focus["width"].as_f64().unwrap() >= 2.0,
        "keyboard focus is visible on the label: {focus}"
    );

    let comment = "Fast delivery, lovely shoes. Größe passt!";
    let textarea = browser.find("textarea[name=comment]").await;
    textarea.send_keys(comment).await.expect("type the comment");
    let body = browser.send_expecting_thanks().await;
    assert!(
        body.contains("score of 10 out of 10") && body.contains("left a comment"),
        "{body}"
    );
    browser
        .assert_no_horizontal_overflow("the thank-you page on a phone")
        .await;
    browser.screenshot("thanks-phone.png").await;

    // Stored once, with the changed score and the comment exactly as typed.
    let comments = app.comments("").await;
    let list = comments["comments"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{comments}");
    assert_eq!(list[0]["comment"], comment);
    assert_eq!(list[0]["score"], 10);
    assert_eq!(list[0]["transaction_id"], "order-1");
    let nps = app.nps("").await;
    assert_eq!(nps["responses"], 1, "{nps}");
    assert_eq!(nps["promoters"], 1, "{nps}");
    assert_eq!(nps["nps"], 100.0, "{nps}");
    let distribution: Vec<u64> = nps["distribution"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(distribution, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], "{nps}");

    browser.close().await;
}

/// Where each link of the email is, as laid out.
const EMAIL_LINKS_JS: &str = r#"
const box = a => {
  const b = a.getBoundingClientRect();
  const s = getComputedStyle(a);
  return {
    href: a.getAttribute('href'), text: a.innerText.trim(),
    rects: a.getClientRects().length, width: b.width, height: b.height,
    left: b.left, right: b.right, offset_parent: a.offsetParent !== null,
    visible: s.visibility === 'visible' && Number(s.opacity) > 0,
  };
};
return {
  scores: [...document.querySelectorAll('a[href*="?score="]')].map(box),
  trap: [...document.querySelectorAll('a[href$="/verify"]')].map(box),
  unsubscribe: [...document.querySelectorAll('a[href*="/u/"]')].map(box),
};
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_email_renders_with_visible_buttons_and_an_invisible_trap() {
    let Some((browser, app, _turn)) = start(
        "the_email_renders_with_visible_buttons_and_an_invisible_trap",
        DESKTOP,
    )
    .await
    else {
        return;
    };
    let mail = app
        .transaction_and_email("order-1", "ann@example.com")
        .await;
    let file = browser.dir.path().join("survey-email.html");
    std::fs::write(&file, &mail.html).expect("write the email");
    let file_url = url::Url::from_file_path(&file).unwrap().to_string();

    for (name, window) in [("desktop", DESKTOP), ("phone", PHONE)] {
        browser.resize(window).await;
        browser.goto(&file_url).await;
        browser.wait_for("a[href*='?score=']").await;
        browser
            .assert_no_horizontal_overflow(&format!("the email ({name})"))
            .await;
        let links = browser.js(EMAIL_LINKS_JS, vec![]).await;
        let width = window.0 as f64;

        let scores = links["scores"].as_array().unwrap();
        assert_eq!(scores.len(), 11, "{name}: {links}");
        let mut right_before = f64::MIN;
        for (n, s) in scores.iter().enumerate() {
            assert_eq!(s["href"], mail.score_link(n as u8), "{name}: {s}");
            assert_eq!(
                s["text"],
                n.to_string(),
                "{name}: button {n} shows {n}: {s}"
            );
            assert_eq!(s["visible"], true, "{name}: button {n} is visible: {s}");
            assert!(
                s["width"].as_f64().unwrap() >= 24.0 && s["height"].as_f64().unwrap() >= 24.0,
                "{name}: button {n} is big enough to tap: {s}"
            );
            let (left, right) = (s["left"].as_f64().unwrap(), s["right"].as_f64().unwrap());
            assert!(
                left >= 0.0 && right <= width,
                "{name}: button {n} is inside the {width}px viewport: {s}"
            );
            assert!(
                left >= right_before,
                "{name}: buttons in one row, 0 to 10: {s}"
            );
            right_before = right;
        }

        let trap = links["trap"].as_array().unwrap();
        assert_eq!(trap.len(), 1, "{name}: one trap link: {links}");
        let t = &trap[0];
        assert_eq!(t["href"], mail.trap_link(), "{name}");
        let area = t["width"].as_f64().unwrap() * t["height"].as_f64().unwrap();
        assert!(
            t["rects"] == 0 || t["offset_parent"] == false || area == 0.0,
            "{name}: the trap link must not be visible to a person: {t}"
        );
        assert_eq!(t["text"], "", "{name}: the trap link has no text: {t}");

        let unsubscribe = links["unsubscribe"].as_array().unwrap();
        assert_eq!(unsubscribe.len(), 1, "{name}: {links}");
        let u = &unsubscribe[0];
        assert_eq!(u["href"], mail.unsubscribe_link(), "{name}");
        assert_eq!(u["text"], "Unsubscribe", "{name}: {u}");
        assert_eq!(u["visible"], true, "{name}: {u}");
        assert!(
            u["width"].as_f64().unwrap() > 0.0
                && u["height"].as_f64().unwrap() > 0.0
                && u["left"].as_f64().unwrap() >= 0.0
                && u["right"].as_f64().unwrap() <= width,
            "{name}: the unsubscribe link is visible on screen: {u}"
        );

        browser
            .screenshot(&format!("survey-email-{name}.png"))
            .await;
    }

    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_too_long_comment_is_refused_kindly_in_the_browser() {
    let Some((browser, app, _turn)) = start(
        "a_too_long_comment_is_refused_kindly_in_the_browser",
        DESKTOP,
    )
    .await
    else {
        return;
    };
    let mail = app
        .transaction_and_email("order-1", "ann@example.com")
        .await;

    // The form without a score in the link records nothing.
    browser.goto(&mail.form_link()).await;
    browser.wait_for("form button[type=submit]").await;
    assert_eq!(browser.checked_scores().await, json!([]));
    assert_eq!(app.nps("").await["responses"], 0);

    browser
        .tap(&browser.find("label[for='score-8']").await)
        .await;
    assert_eq!(browser.checked_scores().await, json!([8]));
    // 5,001 characters with line breaks (sent as CRLF, counted as one character each), set
    // from script: maxlength stops typing, not a client without it.
    let long = format!(
        "{}{}",
        "Lovely shoes, slow delivery.\n".repeat(172),
        "x".repeat(13)
    );
    assert_eq!(long.chars().count(), 5001);
    let set = browser
        .js(
            "const t = document.querySelector('textarea[name=comment]');
             t.value = arguments[0];
             return t.value.length",
            vec![json!(long)],
        )
        .await;
    assert_eq!(set, 5001);
    let alert = browser.send().await;
    let message = alert.text().await.unwrap();
    assert_eq!(
        alert.attr("role").await.unwrap().as_deref(),
        Some("alert"),
        "refused with an alert, not: {message}"
    );
    assert!(alert.is_displayed().await.unwrap(), "the error is visible");
    assert!(
        message.contains("5000") || message.contains("5,000"),
        "the message names the limit: {message}"
    );
    let kept = browser
        .js(
            "return document.querySelector('textarea[name=comment]').value",
            vec![],
        )
        .await;
    assert_eq!(kept, json!(long), "the comment is kept for editing, uncut");
    assert_eq!(
        browser.checked_scores().await,
        json!([8]),
        "the score is kept"
    );
    let nps = app.nps("").await;
    assert_eq!(nps["responses"], 0, "nothing stored: {nps}");
    assert_eq!(app.comments("").await["comments"], json!([]));
    browser.screenshot("comment-too-long-desktop.png").await;

    // One Backspace at the end brings it to 5,000: now it is taken.
    browser
        .js(
            "const t = document.querySelector('textarea[name=comment]');
             t.focus();
             t.setSelectionRange(t.value.length, t.value.length);",
            vec![],
        )
        .await;
    browser.press(&[Key::Backspace]).await;
    browser.send_expecting_thanks().await;

    let comments = app.comments("").await;
    let list = comments["comments"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{comments}");
    let mut expected = long.clone();
    expected.pop();
    assert_eq!(list[0]["comment"], expected);
    assert_eq!(list[0]["score"], 8);
    assert_eq!(app.nps("").await["responses"], 1);

    browser.close().await;
}
