//! The dashboard over HTTP, as a browser without script would use it: users from the command
//! line, sign-in with its slow-down, sessions that end, CSRF on every form, roles, and comments
//! that stay inert text.
use crate::backend_tests;
use crate::helpers::{Backend, TestApp};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};

pub(crate) const ADMIN: &str = "admin@shop.example";
pub(crate) const PASSWORD: &str = "correct horse battery staple";
pub(crate) const VIEWER: &str = "viewer@shop.example";
pub(crate) const VIEWER_PASSWORD: &str = "a long viewer password";

/// `npsd users ...` against the app's database; stdin gets `input` when given.
pub(crate) fn users_cli(
    app: &TestApp,
    args: &[&str],
    input: Option<&str>,
) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_npsd"))
        .arg("users")
        .args(args)
        .env("NPSD_DATABASE_URL", app.db.url())
        .env("NPSD_PUBLIC_URL", &app.address)
        .env_remove("NPSD_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run npsd users");
    if let Some(text) = input {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    if !out.status.success() {
        eprintln!("npsd users {args:?} ended with {}", out.status);
    }
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub(crate) fn add_admin(app: &TestApp) {
    let (ok, out, err) = users_cli(
        app,
        &["add", ADMIN, "--role", "admin", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(ok, "{out}{err}");
}

/// Adds a viewer (`viewer@shop.example`, "a long viewer password") with the CLI.
pub(crate) fn add_viewer(app: &TestApp) {
    let (ok, out, err) = users_cli(
        app,
        &["add", VIEWER, "--role", "viewer", "--password-stdin"],
        Some(&format!("{VIEWER_PASSWORD}\n")),
    );
    assert!(ok, "{out}{err}");
}

/// A browser without script: cookies kept by hand.
pub(crate) struct Session<'a> {
    app: &'a TestApp,
    /// The cookies it holds, by name (no attributes: a browser on http keeps `Secure` ones too).
    pub cookies: HashMap<String, String>,
}

pub(crate) struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The value of a hidden field.
    pub fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        self.body
            .split(&marker)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("no field {name} in {}", self.body))
            .to_string()
    }
}

impl<'a> Session<'a> {
    pub fn new(app: &'a TestApp) -> Session<'a> {
        Session {
            app,
            cookies: HashMap::new(),
        }
    }

    fn absorb(&mut self, headers: &HeaderMap) {
        for value in headers.get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if text.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn read(&mut self, res: reqwest::Response) -> Page {
        let status = res.status();
        let headers = res.headers().clone();
        self.absorb(&headers);
        Page {
            status,
            headers,
            body: res.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let res = self
            .app
            .client
            .get(self.app.url(path))
            .header("Cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.read(res).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let res = self
            .app
            .client
            .post(self.app.url(path))
            .header("Cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.read(res).await
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        let form = self.get("/login").await;
        assert_eq!(form.status, StatusCode::OK);
        let token = form.field("form_token");
        self.post(
            "/login",
            &[
                ("email", email),
                ("password", password),
                ("form_token", &token),
                ("next", "/dashboard"),
            ],
        )
        .await
    }
}

async fn pages_need_a_session(backend: Backend) {
    let app = crate::insights::app(backend).await;
    let mut s = Session::new(&app);
    for path in [
        "/dashboard",
        "/dashboard/default",
        "/dashboard/default/export.csv",
        "/team",
    ] {
        let page = s.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert!(
            page.location().starts_with("/login?next="),
            "{path}: {}",
            page.location()
        );
        assert!(!page.body.contains("NPS"), "{path} shows nothing");
    }
    let home = s.get("/").await;
    assert_eq!(home.location(), "/dashboard");
    // A form posted without a session goes to sign in, never changes anything.
    let post = s
        .post("/dashboard/default/responses/x/restore", &[("csrf", "x")])
        .await;
    assert_eq!(post.status, StatusCode::SEE_OTHER);
}

/// An app with the admin (`ADMIN`, `PASSWORD`) added by the CLI.
async fn app_with_admin(backend: Backend) -> TestApp {
    let app = crate::helpers::spawn_app(backend).await;
    add_admin(&app);
    app
}

async fn an_admin_signs_in_with_a_password(backend: Backend) {
    let app = app_with_admin(backend).await;
    let (_, list, _) = users_cli(&app, &["list"], None);
    assert!(list.contains(ADMIN), "{list}");
    let mut admin = Session::new(&app);
    let wrong = admin.sign_in(ADMIN, "not the password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("do not match"));
    let ok = admin.sign_in(ADMIN, PASSWORD).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(ok.location(), "/dashboard");
    let cookie = ok.headers["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain http in tests: {cookie}");
    let overview = admin.get("/dashboard").await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(overview.body.contains("/dashboard/default"));
}

/// A user added without a password gets a one-time link that sets one: opening it changes
/// nothing, posting uses it.
async fn a_one_time_link_sets_a_password(backend: Backend) {
    let app = app_with_admin(backend).await;
    let (ok, out, _) = users_cli(&app, &["add", VIEWER], None);
    assert!(ok);
    let link = out
        .lines()
        .find(|l| l.contains("/login/link/"))
        .expect("a one-time link")
        .trim()
        .to_string();
    let (_, list, _) = users_cli(&app, &["list"], None);
    assert!(list.contains(ADMIN) && list.contains(VIEWER), "{list}");
    let path = link.trim_start_matches(&app.address).to_string();
    let mut viewer = Session::new(&app);
    let form = viewer.get(&path).await;
    assert_eq!(form.status, StatusCode::OK);
    let again = viewer.get(&path).await;
    assert_eq!(again.status, StatusCode::OK, "opening twice still works");
    let token = again.field("form_token");
    let short = viewer
        .post(
            &path,
            &[
                ("password", "short"),
                ("password_again", "short"),
                ("form_token", &token),
            ],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    let token = short.field("form_token");
    let set = viewer
        .post(
            &path,
            &[
                ("password", VIEWER_PASSWORD),
                ("password_again", VIEWER_PASSWORD),
                ("form_token", &token),
            ],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.body);
    assert_eq!(viewer.get("/dashboard").await.status, StatusCode::OK);
    assert_eq!(
        Session::new(&app).get(&path).await.status,
        StatusCode::NOT_FOUND,
        "a link works once"
    );
    assert_eq!(
        Session::new(&app)
            .sign_in(VIEWER, VIEWER_PASSWORD)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

/// Logging out needs the token and ends the session; removing a user ends their sessions at
/// once.
async fn signing_out_and_removal_end_sessions(backend: Backend) {
    let app = app_with_admin(backend).await;
    add_viewer(&app);
    let mut viewer = Session::new(&app);
    let mut elsewhere = Session::new(&app);
    for session in [&mut viewer, &mut elsewhere] {
        let signed_in = session.sign_in(VIEWER, VIEWER_PASSWORD).await;
        assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    }
    let page = viewer.get("/dashboard").await;
    let csrf = page.field("csrf");
    let refused = viewer.post("/logout", &[("csrf", "forged")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let out = viewer.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.location(), "/login");
    assert_eq!(viewer.get("/dashboard").await.status, StatusCode::SEE_OTHER);
    assert_eq!(elsewhere.get("/dashboard").await.status, StatusCode::OK);
    let (ok, _, err) = users_cli(&app, &["remove", VIEWER], None);
    assert!(ok, "{err}");
    assert_eq!(
        elsewhere.get("/dashboard").await.status,
        StatusCode::SEE_OTHER
    );
    let (ok, _, err) = users_cli(&app, &["remove", VIEWER], None);
    assert!(!ok && err.contains("not a user"), "{err}");
}

/// Another site cannot sign a visitor's browser in (login CSRF): a post without the form's
/// token is taken only from a client that is not a browser on another page; `next` stays on
/// this site, also when a browser would drop a tab from it.
async fn sign_in_refuses_other_sites_and_keeps_next_here(backend: Backend) {
    let app = app_with_admin(backend).await;
    let post = |headers: Vec<(&'static str, &'static str)>| {
        let app = &app;
        async move {
            let mut req = app
                .client
                .post(app.url("/login"))
                .form(&[("email", ADMIN), ("password", PASSWORD)]);
            for (k, v) in headers {
                req = req.header(k, v);
            }
            req.send().await.unwrap().status()
        }
    };
    assert_eq!(
        post(vec![]).await,
        StatusCode::SEE_OTHER,
        "a script signs in"
    );
    for next in [
        "/\t/evil.example",
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
    ] {
        let res = app
            .client
            .post(app.url("/login"))
            .form(&[("email", ADMIN), ("password", PASSWORD), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["location"], "/dashboard", "{next:?}");
    }
    let nul = app
        .client
        .post(app.url("/login"))
        .form(&[("email", "a\0b@shop.example"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(nul.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        post(vec![("Origin", "https://evil.example")]).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(vec![("Sec-Fetch-Site", "cross-site")]).await,
        StatusCode::FORBIDDEN
    );
    let mut admin = Session::new(&app);
    admin.get("/login").await;
    let forged = admin
        .post(
            "/login",
            &[
                ("email", ADMIN),
                ("password", PASSWORD),
                ("form_token", "forged"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

/// Repeated wrong passwords from one address slow that address down for the account, also for
/// the right one (other addresses are not: security_sign_in.rs).
async fn repeated_wrong_passwords_slow_the_address_down(backend: Backend) {
    let app = app_with_admin(backend).await;
    let mut guesser = Session::new(&app);
    for _ in 0..5 {
        guesser.sign_in(ADMIN, "guess guess guess").await;
    }
    let blocked = guesser.sign_in(ADMIN, PASSWORD).await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(blocked.headers.contains_key("retry-after"));
}

async fn forms_need_the_token_and_viewers_only_read(backend: Backend) {
    let app = crate::insights::app(backend).await;
    add_admin(&app);
    add_viewer(&app);
    let mail = app
        .transaction_and_email("order-bot", "ann@example.com")
        .await;
    for score in 0..=10 {
        app.get_page(&mail.score_link(score)).await;
    }
    let bots = app
        .get_api("/api/v1/surveys/default/responses?status=bot")
        .await;
    let id = bots.body["responses"][0]["response_id"]
        .as_str()
        .unwrap()
        .to_string();
    let restore = format!("/dashboard/default/responses/{id}/restore");

    let mut viewer = Session::new(&app);
    viewer.sign_in(VIEWER, VIEWER_PASSWORD).await;
    let page = viewer.get("/dashboard/default").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.body.contains(&restore),
        "viewers get no restore button"
    );
    let csrf = page.field("csrf");
    let refused = viewer.post(&restore, &[("csrf", &csrf)]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let mut admin = Session::new(&app);
    admin.sign_in(ADMIN, PASSWORD).await;
    let page = admin.get("/dashboard/default").await;
    assert!(page.body.contains(&restore), "admins can restore");
    let forged = admin.post(&restore, &[("csrf", "forged")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(app.nps("").await["responses"], 0, "nothing changed");
    let csrf = page.field("csrf");
    let done = admin.post(&restore, &[("csrf", &csrf)]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(app.nps("").await["responses"], 1);

    // Admins add and remove teammates from the dashboard.
    let team = admin.get("/team").await;
    let added = admin
        .post(
            "/team",
            &[
                ("csrf", &team.field("csrf")),
                ("email", "new@shop.example"),
                ("role", "viewer"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::OK);
    assert!(
        added.body.contains("/login/link/"),
        "the one-time link is shown"
    );
    let (_, list, _) = users_cli(&app, &["list"], None);
    assert!(list.contains("new@shop.example"));
    let viewer_team = viewer.get("/team").await;
    let refused = viewer
        .post(
            "/team",
            &[
                ("csrf", &viewer_team.field("csrf")),
                ("email", "x@shop.example"),
                ("role", "admin"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

async fn comments_are_inert_text_everywhere(backend: Backend) {
    let app = crate::insights::app(backend).await;
    add_admin(&app);
    crate::insights::seed(&app).await;
    let mut admin = Session::new(&app);
    admin.sign_in(ADMIN, PASSWORD).await;
    let page = admin.get("/dashboard/default?q=img").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("&lt;img src=x onerror=alert(1)&gt;")
            || page.body.contains("&#60;img src=x onerror=alert(1)&#62;"),
        "escaped in the dashboard"
    );
    assert!(
        !page.body.contains("<img src=x"),
        "never markup in the dashboard"
    );
    let csv = admin.get("/dashboard/default/export.csv?q=img").await;
    assert_eq!(csv.status, StatusCode::OK);
    let mut reader = csv::Reader::from_reader(csv.body.as_bytes());
    let comments: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[3].to_string())
        .collect();
    assert!(!comments.is_empty());
    assert!(
        comments.iter().all(|c| c == "<img src=x onerror=alert(1)>"),
        "{comments:?}"
    );
    // Every section of the page is there with its accessible alternative.
    let all = admin.get("/dashboard/default").await;
    for part in [
        "<svg",
        "Trend as a table",
        "Scores as a table",
        "Breakdown",
        "Bot audit",
        "Export CSV",
        // Twelve answers a week, and fewer per plan: said in words, drawn hollow and grey.
        "<span class=\"tag\">too few answers for a reliable figure</span>",
        "class=\"small-sample\"",
        "<th scope=\"col\">Change</th>",
    ] {
        assert!(all.body.contains(part), "{part}");
    }
    assert!(
        !all.body.contains("Only 36 responses"),
        "36 answers suffice"
    );
}

async fn admins_change_surveys_and_keys(backend: Backend) {
    let app = crate::insights::app(backend).await;
    add_admin(&app);
    add_viewer(&app);
    let mut admin = Session::new(&app);
    admin.sign_in(ADMIN, PASSWORD).await;
    let page = admin.get("/dashboard/default/settings").await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.field("csrf");
    let form = |brand: &'static str, color: &'static str| {
        vec![
            ("brand", brand),
            ("question", ""),
            ("reply_to", "help@shop.example"),
            ("accent_color", color),
            ("send_delay_seconds", "7200"),
            ("throttle_days", "30"),
        ]
    };
    let mut bad = form("ACME", "blue");
    bad.push(("csrf", &csrf));
    let refused = admin.post("/dashboard/default/settings", &bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("accent_color"), "names the field");
    let mut good = form("ACME Shoes", "#0f766e");
    good.push(("csrf", &csrf));
    let saved = admin.post("/dashboard/default/settings", &good).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let survey = app.get_api("/api/v1/surveys/default").await;
    assert_eq!(survey.body["brand"], "ACME Shoes");
    assert_eq!(survey.body["send_delay_seconds"], 7200);
    assert_eq!(survey.body["throttle_days"], 30);

    // API keys: created (shown once), working, revoked.
    let keys = admin.get("/keys").await;
    let created = admin
        .post(
            "/keys",
            &[
                ("csrf", &keys.field("csrf")),
                ("name", "shop backend"),
                ("scope", "ingest"),
                ("scope", "read"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK);
    let key = created
        .body
        .split("<code>")
        .nth(1)
        .and_then(|r| r.split("</code>").next())
        .unwrap()
        .to_string();
    assert!(key.starts_with("npsd_"), "{key}");
    let with_key = |k: String| {
        let app = &app;
        async move {
            app.client
                .get(app.url("/api/v1/surveys"))
                .bearer_auth(k)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(with_key(key.clone()).await, StatusCode::OK);
    let listed = admin.get("/keys").await;
    assert!(!listed.body.contains(&key), "never shown again");
    let id = listed
        .body
        .split("name=\"id\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    let revoked = admin
        .post(
            "/keys/revoke",
            &[("csrf", &listed.field("csrf")), ("id", &id)],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert_eq!(with_key(key).await, StatusCode::UNAUTHORIZED);

    // A viewer reads, and changes nothing.
    let mut viewer = Session::new(&app);
    viewer.sign_in(VIEWER, VIEWER_PASSWORD).await;
    assert_eq!(viewer.get("/keys").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        viewer.get("/dashboard/default/settings").await.status,
        StatusCode::FORBIDDEN
    );
    let csrf = viewer.get("/dashboard").await.field("csrf");
    let mut attempt = form("Hacked", "#000000");
    attempt.push(("csrf", &csrf));
    assert_eq!(
        viewer
            .post("/dashboard/default/settings", &attempt)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get_api("/api/v1/surveys/default").await.body["brand"],
        "ACME Shoes"
    );
}

backend_tests!(
    admins_change_surveys_and_keys,
    pages_need_a_session,
    an_admin_signs_in_with_a_password,
    a_one_time_link_sets_a_password,
    signing_out_and_removal_end_sessions,
    sign_in_refuses_other_sites_and_keeps_next_here,
    repeated_wrong_passwords_slow_the_address_down,
    forms_need_the_token_and_viewers_only_read,
    comments_are_inert_text_everywhere,
);
