//! Security (issue 18): what signing in to the dashboard may cost and who it can hurt.
//! - 200 sign-ins at once: counted before hashing (no more than the per-address limit are
//!   evaluated), a few hashed at a time, and the process stays small (`npsd serve` as a process).
//! - Someone else's wrong passwords, from one address or a hundred, never lock the owner out.
//! - A form token and cookie from the attacker's own browser do not sign a victim's browser in
//!   (login CSRF); over https the cookies are `__Host-` and `Secure`.
//! - Weak passwords are refused on the dashboard and by `npsd users`.
use crate::backend_tests;
use crate::dashboard::{add_admin, users_cli, Session, ADMIN, PASSWORD};
use crate::helpers::{spawn_app_with, Backend, TestApp, TestDb};
use crate::process::{one_at_a_time, NpsdProcess};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use std::net::IpAddr;

backend_tests!(
    someone_elses_failures_never_lock_the_owner_out,
    guessing_spread_over_many_addresses_spares_the_owners_browser,
    a_form_token_from_the_attackers_browser_does_not_sign_a_victim_in,
    cookies_are_host_only_and_secure_over_https,
    weak_passwords_are_refused_everywhere,
);

/// A client that connects from `ip` (any 127.x.y.z reaches the app on Linux's loopback).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `name=value` of each cookie the response sets.
fn set_cookies(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

/// The sign-in form's token and the cookie that goes with it (`name=value`), as a browser gets
/// them.
async fn login_form(client: &reqwest::Client, url: &str) -> (String, String) {
    let res = client.get(url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = set_cookies(res.headers())
        .iter()
        .find(|c| c.contains("npsd_form="))
        .map(|c| pair(c))
        .expect("a form cookie");
    let body = res.text().await.unwrap();
    let token = body
        .split("name=\"form_token\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    (token, cookie)
}

/// Signs in from `client` with a fresh form: the status.
async fn sign_in_from(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> (StatusCode, HeaderMap) {
    let (token, cookie) = login_form(client, &app.url("/login")).await;
    let res = client
        .post(app.url("/login"))
        .header("Cookie", cookie)
        .form(&[
            ("email", email),
            ("password", password),
            ("form_token", &token),
        ])
        .send()
        .await
        .unwrap();
    (res.status(), res.headers().clone())
}

fn vm_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {status}"))
}

/// Before the fix 60 sign-ins at once took RSS from 209 MB to 1,051 MB (19 MiB of Argon2 memory
/// each, all at once) and 52 of 60 passed the 30-a-minute limit (counted after hashing).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sign_ins_at_once_are_counted_first_and_hashed_a_few_at_a_time() {
    let _turn = one_at_a_time().await;
    let db = TestDb::create(Backend::Sqlite);
    let dir = tempfile::tempdir().unwrap();
    let mut npsd = NpsdProcess::start(
        db.url(),
        "smtp://127.0.0.1:1",
        &dir.path().join("npsd.log"),
        // The connection bound per address would refuse most of 200 sockets from one address
        // before they reach the sign-in: off, so that the sign-in's own limits are what is tested.
        &[("NPSD_CONNECTIONS_PER_ADDRESS", "0")],
    );
    npsd.wait_ready().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (token, cookie) = login_form(&client, &npsd.url("/login")).await;
    let baseline = vm_kib(npsd.pid(), "VmRSS:");

    let attempts = (0..200).map(|i| {
        let client = client.clone();
        let (url, token, cookie) = (npsd.url("/login"), token.clone(), cookie.clone());
        async move {
            let email = format!("guess{i}@shop.example");
            let res = client
                .post(url)
                .header("Cookie", cookie)
                .form(&[
                    ("email", email.as_str()),
                    ("password", "a wrong password, surely"),
                    ("form_token", &token),
                ])
                .send()
                .await
                .unwrap();
            (res.status(), res.headers().contains_key("retry-after"))
        }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let peak = vm_kib(npsd.pid(), "VmHWM:");

    let evaluated = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::UNAUTHORIZED)
        .count();
    let refused = answers
        .iter()
        .filter(|(s, retry)| *s == StatusCode::TOO_MANY_REQUESTS && *retry)
        .count();
    eprintln!(
        "200 sign-ins at once: {evaluated} evaluated, {refused} answered 429; RSS before {} MB, peak {} MB",
        baseline / 1024,
        peak / 1024
    );
    assert_eq!(evaluated + refused, 200, "{answers:?}");
    assert!(
        (1..=30).contains(&evaluated),
        "{evaluated} passwords checked; the limit is 30 a minute per address"
    );
    // Two working memories of 19 MiB and what 200 connections take; the debug build alone
    // starts under 40 MB, so the absolute bound the issue asks for holds for it too.
    assert!(
        peak < 150 * 1024,
        "peak RSS {} MB (before: {} MB)",
        peak / 1024,
        baseline / 1024
    );
}

async fn someone_elses_failures_never_lock_the_owner_out(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    add_admin(&app);
    let attacker = client_from("127.0.0.2");
    let owner = client_from("127.0.0.1");
    let mut refused = 0;
    for _ in 0..12 {
        let (status, headers) =
            sign_in_from(&app, &attacker, ADMIN, "wrong guess number one").await;
        match status {
            StatusCode::UNAUTHORIZED => {}
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(headers.contains_key("retry-after"));
                refused += 1;
            }
            other => panic!("{other}"),
        }
    }
    assert_eq!(refused, 12 - 5, "five free failures, then the pair waits");
    // The guesser waits even with the right password.
    let (status, _) = sign_in_from(&app, &attacker, ADMIN, PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // The owner, at their own address, is not held up at all.
    let (status, headers) = sign_in_from(&app, &owner, ADMIN, PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the owner signs in");
    assert!(set_cookies(&headers)
        .iter()
        .any(|c| c.starts_with("npsd_session=")));
    // Behind a reverse proxy every client has the proxy's address: the owner's browser, which
    // signed in before, is not held up at the guesser's address either.
    let device = set_cookies(&headers)
        .iter()
        .find(|c| c.starts_with("npsd_device="))
        .map(|c| pair(c))
        .expect("a device cookie");
    let (token, form_cookie) = login_form(&attacker, &app.url("/login")).await;
    let res = attacker
        .post(app.url("/login"))
        .header("Cookie", format!("{form_cookie}; {device}"))
        .form(&[
            ("email", ADMIN),
            ("password", PASSWORD),
            ("form_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "the owner's browser at the same address"
    );
    // The guesser's address is not locked out of other accounts either (the per-address limit
    // across accounts is 30 a minute).
    let (status, _) =
        sign_in_from(&app, &attacker, "nobody@shop.example", "a wrong one, too").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn guessing_spread_over_many_addresses_spares_the_owners_browser(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    add_admin(&app);
    // The owner signed in on this browser before: it keeps the account's device cookie.
    let mut owner = Session::new(&app);
    assert_eq!(
        owner.sign_in(ADMIN, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let device = owner.cookies["npsd_device"].clone();
    // A hundred addresses guess once each: the account-wide bound for unknown browsers is spent.
    for i in 0..100 {
        let guesser = client_from(&format!("127.0.1.{}", i + 1));
        let (status, _) = sign_in_from(&app, &guesser, ADMIN, "spread out guessing").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "guess {i}");
    }
    let newcomer = client_from("127.0.2.1");
    let (status, _) = sign_in_from(&app, &newcomer, ADMIN, "one more guess here").await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "a browser never signed in waits"
    );
    // The owner's browser, now at an address never seen, signs in.
    let travelling = client_from("127.0.2.2");
    let (token, form_cookie) = login_form(&travelling, &app.url("/login")).await;
    let res = travelling
        .post(app.url("/login"))
        .header("Cookie", format!("{form_cookie}; npsd_device={device}"))
        .form(&[
            ("email", ADMIN),
            ("password", PASSWORD),
            ("form_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

const ATTACKER: &str = "mallory@shop.example";
const ATTACKER_PASSWORD: &str = "mallory's own long password";

async fn a_form_token_from_the_attackers_browser_does_not_sign_a_victim_in(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let (ok, out, err) = users_cli(
        &app,
        &["add", ATTACKER, "--password-stdin"],
        Some(&format!("{ATTACKER_PASSWORD}\n")),
    );
    assert!(ok, "{out}{err}");
    // The attacker's own browser: a valid form cookie and its token.
    let (attacker_token, attacker_cookie) = login_form(&app.client, &app.url("/login")).await;
    // The victim's browser opened the sign-in page too.
    let (victim_token, victim_cookie) = login_form(&app.client, &app.url("/login")).await;

    let post = |cookies: String, token: String, headers: Vec<(&'static str, &'static str)>| {
        let app = &app;
        async move {
            let mut req = app
                .client
                .post(app.url("/login"))
                .header("Cookie", cookies)
                .form(&[
                    ("email", ATTACKER),
                    ("password", ATTACKER_PASSWORD),
                    ("form_token", &token),
                ]);
            for (k, v) in headers {
                req = req.header(k, v);
            }
            let res = req.send().await.unwrap();
            let session = set_cookies(res.headers())
                .iter()
                .any(|c| c.contains("npsd_session="));
            (res.status(), session)
        }
    };
    // A sibling subdomain planted the attacker's form cookie beside the victim's (cookie
    // tossing) and posts the attacker's token: which cookie is the visitor's cannot be told.
    let tossed = format!("{attacker_cookie}; {victim_cookie}");
    assert_eq!(
        post(tossed, attacker_token.clone(), vec![]).await,
        (StatusCode::FORBIDDEN, false)
    );
    // Only the planted cookie, posted from the sibling subdomain (or another port): the browser
    // says so.
    assert_eq!(
        post(
            attacker_cookie.clone(),
            attacker_token.clone(),
            vec![
                ("Origin", "http://evil.shop.example"),
                ("Sec-Fetch-Site", "same-site")
            ]
        )
        .await,
        (StatusCode::FORBIDDEN, false)
    );
    // The victim's own cookie with the attacker's token.
    assert_eq!(
        post(victim_cookie.clone(), attacker_token.clone(), vec![]).await,
        (StatusCode::FORBIDDEN, false)
    );
    // The token is not the cookie's value (double submit of a planted value fails).
    let cookie_value = victim_cookie.split_once('=').unwrap().1.to_string();
    assert_eq!(
        post(victim_cookie.clone(), cookie_value, vec![]).await,
        (StatusCode::FORBIDDEN, false)
    );
    // The victim's own pair, from its own page, signs in.
    assert_eq!(
        post(
            victim_cookie,
            victim_token,
            vec![
                ("Origin", "http://127.0.0.1"),
                ("Sec-Fetch-Site", "same-origin")
            ]
        )
        .await,
        (StatusCode::SEE_OTHER, true)
    );
}

async fn cookies_are_host_only_and_secure_over_https(backend: Backend) {
    let app = spawn_app_with(backend, &[("NPSD_PUBLIC_URL", "https://nps.shop.example")]).await;
    add_admin(&app);
    let mut browser = Session::new(&app);
    let signed_in = browser.sign_in(ADMIN, PASSWORD).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    let form = app.client.get(app.url("/login")).send().await.unwrap();
    let mut cookies = set_cookies(form.headers());
    cookies.extend(set_cookies(&signed_in.headers));
    for name in [
        "__Host-npsd_form=",
        "__Host-npsd_session=",
        "__Host-npsd_device=",
    ] {
        let c = cookies
            .iter()
            .find(|c| c.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {cookies:?}"));
        for attribute in ["Secure", "Path=/", "HttpOnly", "SameSite=Lax"] {
            assert!(c.split("; ").any(|a| a == attribute), "{attribute} in {c}");
        }
        assert!(!c.contains("Domain="), "{c}");
    }
    assert!(
        cookies.iter().all(|c| c.starts_with("__Host-")),
        "{cookies:?}"
    );
    // The session works under its new name.
    assert_eq!(browser.get("/dashboard").await.status, StatusCode::OK);
}

async fn weak_passwords_are_refused_everywhere(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    // The command line.
    for (weak, says) in [
        ("            ", "not only spaces"),
        ("eleven char", "at least 12 characters"),
        ("password1234", "too easy to guess"),
        ("qwertyuiop123", "too easy to guess"),
    ] {
        let (ok, out, err) = users_cli(
            &app,
            &["add", "weak@shop.example", "--password-stdin"],
            Some(&format!("{weak}\n")),
        );
        assert!(!ok, "{weak:?} was taken: {out}");
        assert!(err.contains(says), "{weak:?}: {err}");
    }
    let (ok, list, _) = users_cli(&app, &["list"], None);
    assert!(ok && !list.contains("weak@shop.example"), "{list}");

    // The one-time link's page.
    let (ok, out, _) = users_cli(&app, &["add", "viewer@shop.example"], None);
    assert!(ok);
    let link = out
        .lines()
        .find(|l| l.contains("/login/link/"))
        .unwrap()
        .trim()
        .trim_start_matches(&app.address)
        .to_string();
    let mut viewer = Session::new(&app);
    let mut page = viewer.get(&link).await;
    for (weak, says) in [
        ("             ", "not only spaces"),
        ("password1234", "too easy to guess"),
        ("iloveyou2024", "too easy to guess"),
    ] {
        let token = page.field("form_token");
        page = viewer
            .post(
                &link,
                &[
                    ("password", weak),
                    ("password_again", weak),
                    ("form_token", &token),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{weak:?}");
        assert!(page.body.contains(says), "{weak:?}: {}", page.body);
        assert!(page.body.contains("at least 12 characters"));
    }
    let token = page.field("form_token");
    let set = viewer
        .post(
            &link,
            &[
                ("password", "plum kettle orbit ferry"),
                ("password_again", "plum kettle orbit ferry"),
                ("form_token", &token),
            ],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.body);
}
