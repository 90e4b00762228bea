//! A small, real SMTP server for the integration tests.
//!
//! The SMTP protocol (command parsing, the session's state machine, dot-unstuffing, SASL PLAIN
//! and LOGIN decoding) is the `mailin` crate's: a parser and state machine made for writing SMTP
//! servers, that does no I/O of its own. The sockets are ours, a small loop on
//! `std::net::TcpListener` with one OS thread per connection that reads lines, feeds them to a
//! `mailin::Session` and writes its replies. That keeps what a test needs and packaged servers
//! (mailin-embedded) don't give: an instance can be stopped (its port closes and every open
//! session is cut), there is no fixed thread pool for pooled clients to exhaust, and faults can be
//! played (a 421 that closes the connection, clients vanishing mid-DATA or without QUIT).
//!
//! Served: 220 greeting, EHLO/HELO (advertises 8BITMIME, PIPELINING, SMTPUTF8,
//! ENHANCEDSTATUSCODES, AUTH PLAIN LOGIN; any credentials are accepted and recorded), MAIL FROM,
//! RCPT TO, DATA, RSET, NOOP, VRFY, QUIT. Lines are processed one at a time, so pipelined clients
//! work, and connections may be kept open (pooled) or dropped without QUIT. Per-recipient
//! [`Behavior`] is applied at RCPT TO, with real SMTP replies (e.g. `451 4.3.0 try again later`,
//! `550 5.1.1 mailbox unavailable`).
//!
//! Where mailin 0.6 falls short, the loop steps in: it writes the EHLO reply itself (mailin's
//! lists only 8BITMIME and AUTH), passes on only the BODY= parameter of MAIL FROM (mailin's parser
//! knows no other, so `SMTPUTF8` would be a syntax error), runs AUTH in a second session of its
//! own (mailin makes AUTH mandatory once it is enabled), accepts bare-LF command lines, and frames
//! multi-line replies (`550-...`).
#![allow(dead_code)]

use mailin::{Action, AuthMechanism, Handler, Response, Session, SessionBuilder};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const HOSTNAME: &str = "npsd-test-smtp.localhost";

// Received messages

#[derive(Clone, Debug)]
pub struct ReceivedMail {
    /// Reverse path from `MAIL FROM:<...>` (mailin refuses the null sender; npsd never sends it).
    pub envelope_from: String,
    /// Accepted forward paths from `RCPT TO:<...>`, in order.
    pub envelope_to: Vec<String>,
    /// The DATA payload, dot-unstuffed, line endings as received (CRLF). It
    /// includes the CRLF that ends the last line (the one before `.CRLF`).
    pub raw: Vec<u8>,
    /// When the server accepted it (answered 250 to the end of DATA).
    pub received_at: Instant,
    /// Sequential id (1-based) of the TCP connection this message arrived on.
    pub connection: usize,
}

impl ReceivedMail {
    /// The parsed message (panics if mail-parser cannot parse it at all).
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.raw[..])
            .unwrap_or_else(|| panic!("mail-parser could not parse message:\n{}", self.raw_str()))
    }

    /// The payload as (lossy) UTF-8, for assertions and debug output.
    pub fn raw_str(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }

    /// Unfolded, trimmed raw value of the first top-level header with this
    /// name (case-insensitive). RFC 2047 encoded words are NOT decoded (use
    /// [`Self::subject`] for the decoded subject).
    pub fn header(&self, name: &str) -> Option<String> {
        self.header_all(name).into_iter().next()
    }

    /// All occurrences of a top-level header, unfolded and trimmed.
    pub fn header_all(&self, name: &str) -> Vec<String> {
        let msg = self.parsed();
        msg.headers_raw()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| unfold(v))
            .collect()
    }

    /// Decoded Subject ("" if absent).
    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_default().to_string()
    }

    /// The first text/plain body part, transfer-decoded ("" if there is none;
    /// an HTML part is never converted to text here).
    pub fn text_body(&self) -> String {
        self.try_text_body().unwrap_or_default()
    }

    pub fn try_text_body(&self) -> Option<String> {
        let msg = self.parsed();
        let found = msg.text_bodies().find_map(|p| match &p.body {
            mail_parser::PartType::Text(t) => Some(t.to_string()),
            _ => None,
        });
        found
    }

    /// The first text/html body part, transfer-decoded ("" if there is none;
    /// a text part is never converted to HTML here).
    pub fn html_body(&self) -> String {
        self.try_html_body().unwrap_or_default()
    }

    pub fn try_html_body(&self) -> Option<String> {
        let msg = self.parsed();
        let found = msg.html_bodies().find_map(|p| match &p.body {
            mail_parser::PartType::Html(t) => Some(t.to_string()),
            _ => None,
        });
        found
    }

    /// Message-ID without angle brackets ("" if absent).
    pub fn message_id(&self) -> String {
        self.parsed().message_id().unwrap_or_default().to_string()
    }

    fn summary(&self) -> String {
        format!(
            "from=<{}> to={:?} conn={} subject={:?}",
            self.envelope_from,
            self.envelope_to,
            self.connection,
            self.subject()
        )
    }
}

/// RFC 5322 unfolding: drop a CRLF (or bare LF) that is followed by WSP, then trim.
fn unfold(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {}
            c => out.push(c),
        }
    }
    out.trim().to_string()
}

// Behaviour

#[derive(Clone, Debug)]
pub enum Behavior {
    Accept,
    /// Reply to RCPT TO with this temporary failure code (e.g. 451) for the
    /// first `times` attempts for this recipient (counted from the moment the
    /// behaviour is set), then accept. Reply text: `<code> 4.3.0 try again later`.
    /// Code 421 additionally closes the connection, as a real server would.
    TempFailTimes {
        code: u16,
        times: usize,
    },
    /// Always reply to RCPT TO with this failure. If `message` doesn't start
    /// with an enhanced status code one is prepended (5.1.1 for 550/553,
    /// otherwise X.0.0), e.g. `550 5.1.1 mailbox unavailable`.
    Reject {
        code: u16,
        message: String,
    },
}

#[derive(Debug)]
enum RcptRule {
    TempFail { code: u16, remaining: usize },
    Reject { code: u16, message: String },
}

// Server

#[derive(Default)]
struct State {
    rules: HashMap<String, RcptRule>,
    attempts: HashMap<String, usize>,
    messages: Vec<ReceivedMail>,
    auths: Vec<(String, String)>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// Open sessions, to cut on stop.
    open: Mutex<HashMap<usize, TcpStream>>,
    shutdown: AtomicBool,
    conn_counter: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn key(addr: &str) -> String {
    addr.trim().to_ascii_lowercase()
}

pub struct TestSmtp {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_thread: Mutex<Option<JoinHandle<()>>>,
}

impl TestSmtp {
    /// Binds 127.0.0.1:0 and serves on background threads until stopped or dropped.
    pub fn start() -> TestSmtp {
        Self::start_on(0)
    }

    /// Serves on a given port: a server that went away comes back where clients expect it.
    pub fn start_on(port: u16) -> TestSmtp {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("TestSmtp: bind 127.0.0.1");
        let addr = listener.local_addr().expect("TestSmtp: local_addr");
        // Polled, so that stopping needs no wake-up connection.
        listener
            .set_nonblocking(true)
            .expect("TestSmtp: set_nonblocking");
        let shared = Arc::new(Shared::default());
        let sh = shared.clone();
        let accept_thread = std::thread::Builder::new()
            .name(format!("test-smtp-accept-{}", addr.port()))
            .spawn(move || accept_loop(listener, sh))
            .expect("TestSmtp: spawn accept thread");
        TestSmtp {
            addr,
            shared,
            accept_thread: Mutex::new(Some(accept_thread)),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `smtp://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port())
    }

    /// Per-recipient behaviour (address matched case-insensitively); default Accept.
    /// Setting a behaviour resets the TempFailTimes counter for that recipient.
    pub fn set_behavior(&self, recipient: &str, b: Behavior) {
        let mut st = lock(&self.shared.state);
        let k = key(recipient);
        match b {
            Behavior::Accept => st.rules.remove(&k),
            Behavior::TempFailTimes { code, times } => st.rules.insert(
                k,
                RcptRule::TempFail {
                    code,
                    remaining: times,
                },
            ),
            Behavior::Reject { code, message } => {
                st.rules.insert(k, RcptRule::Reject { code, message })
            }
        };
    }

    /// Messages accepted so far (in order of acceptance).
    pub fn messages(&self) -> Vec<ReceivedMail> {
        lock(&self.shared.state).messages.clone()
    }

    /// Accepted messages whose envelope recipients include `recipient` (case-insensitive).
    pub fn messages_to(&self, recipient: &str) -> Vec<ReceivedMail> {
        let k = key(recipient);
        let st = lock(&self.shared.state);
        let to_k = |m: &&ReceivedMail| m.envelope_to.iter().any(|t| key(t) == k);
        st.messages.iter().filter(to_k).cloned().collect()
    }

    /// Number of RCPT TO attempts for this recipient (accepted or refused).
    pub fn attempts_to(&self, recipient: &str) -> usize {
        let st = lock(&self.shared.state);
        st.attempts.get(&key(recipient)).copied().unwrap_or(0)
    }

    /// Credentials seen in AUTH PLAIN / AUTH LOGIN (all are accepted).
    pub fn auth_logins(&self) -> Vec<(String, String)> {
        lock(&self.shared.state).auths.clone()
    }

    /// Number of TCP connections accepted so far.
    pub fn connection_count(&self) -> usize {
        self.shared.conn_counter.load(Ordering::SeqCst)
    }

    /// Forget all received messages and attempt counters (behaviours are kept).
    pub fn clear(&self) {
        let mut st = lock(&self.shared.state);
        st.messages.clear();
        st.attempts.clear();
        st.auths.clear();
    }

    /// Polls every 20ms until at least `n` messages to `recipient` were
    /// accepted; returns all of them. Panics with a description of everything
    /// received on timeout.
    pub async fn wait_for_messages_to(
        &self,
        recipient: &str,
        n: usize,
        timeout: Duration,
    ) -> Vec<ReceivedMail> {
        let what = format!("{n} message(s) to {recipient}");
        self.poll(&what, timeout, || {
            Some(self.messages_to(recipient)).filter(|m| m.len() >= n)
        })
        .await
    }

    /// Polls every 20ms until at least `n` RCPT attempts for `recipient` were made.
    pub async fn wait_for_attempts_to(&self, recipient: &str, n: usize, timeout: Duration) {
        let what = format!("{n} RCPT attempt(s) to {recipient}");
        let got = || (self.attempts_to(recipient) >= n).then_some(());
        self.poll(&what, timeout, got).await
    }

    async fn poll<T>(&self, what: &str, timeout: Duration, got: impl Fn() -> Option<T>) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(t) = got() {
                return t;
            }
            if Instant::now() >= deadline {
                panic!(
                    "TestSmtp: timed out after {timeout:?} waiting for {what}.\n{}",
                    self.describe()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Human readable dump of everything the server saw.
    pub fn describe(&self) -> String {
        let st = lock(&self.shared.state);
        let mut s = format!(
            "TestSmtp on port {}: {} connection(s), {} accepted message(s)\n",
            self.port(),
            self.connection_count(),
            st.messages.len()
        );
        for (i, m) in st.messages.iter().enumerate() {
            s.push_str(&format!("  #{i}: {}\n", m.summary()));
        }
        let mut attempts: Vec<_> = st.attempts.iter().collect();
        attempts.sort();
        s.push_str(&format!("  RCPT attempts: {attempts:?}\n"));
        if !st.rules.is_empty() {
            s.push_str(&format!("  behaviours: {:?}\n", st.rules));
        }
        s
    }

    /// Stops serving, as a mail server that goes away: the port closes and every open session is
    /// cut. What it received stays readable.
    pub fn stop(&self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        for (_, s) in lock(&self.shared.open).drain() {
            let _ = s.shutdown(Shutdown::Both);
        }
        // The accept loop sees the flag within 5 ms; its end drops (closes) the listener.
        if let Some(h) = lock(&self.accept_thread).take() {
            let _ = h.join();
        }
    }
}

impl Drop for TestSmtp {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while !shared.shutdown.load(Ordering::SeqCst) {
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(_) => {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
        };
        let id = shared.conn_counter.fetch_add(1, Ordering::SeqCst) + 1;
        {
            // Checked under the lock that `stop` drains: a session is either cut or never served.
            let mut open = lock(&shared.open);
            if shared.shutdown.load(Ordering::SeqCst) {
                break;
            }
            if let Ok(c) = stream.try_clone() {
                open.insert(id, c);
            }
        }
        let sh = shared.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("test-smtp-conn-{id}"))
            .spawn(move || {
                let _ = serve(stream, id, &sh);
                if let Some(s) = lock(&sh.open).remove(&id) {
                    let _ = s.shutdown(Shutdown::Both);
                }
            });
        if spawned.is_err() {
            lock(&shared.open).remove(&id);
        }
    }
}

// SMTP session: our socket loop around mailin's state machine

/// One connection's end of mailin: applies the behaviours and records what arrives.
struct Conn {
    shared: Arc<Shared>,
    id: usize,
    from: String,
    to: Vec<String>,
    raw: Vec<u8>,
}

impl Conn {
    fn new(shared: &Arc<Shared>, id: usize) -> Conn {
        let (from, to, raw) = Default::default();
        Conn {
            shared: shared.clone(),
            id,
            from,
            to,
            raw,
        }
    }

    fn record_auth(&mut self, user: &str, password: &str) -> Response {
        lock(&self.shared.state)
            .auths
            .push((user.to_string(), password.to_string()));
        Response::custom(235, "2.7.0 Authentication successful".into())
    }
}

impl Handler for Conn {
    /// HELO's reply (mailin answers EHLO with its own, which `serve` replaces).
    fn helo(&mut self, _ip: IpAddr, _domain: &str) -> Response {
        Response::custom(250, HOSTNAME.into())
    }

    fn mail(&mut self, _ip: IpAddr, _domain: &str, _from: &str) -> Response {
        Response::custom(250, "2.1.0 Ok".into())
    }

    fn rcpt(&mut self, to: &str) -> Response {
        let mut st = lock(&self.shared.state);
        let k = key(to);
        *st.attempts.entry(k.clone()).or_insert(0) += 1;
        let (refusal, spent) = match st.rules.get_mut(&k) {
            Some(RcptRule::TempFail { code, remaining }) if *remaining > 0 => {
                *remaining -= 1;
                (Some((*code, format_reply(*code, "try again later"))), false)
            }
            Some(RcptRule::TempFail { .. }) => (None, true),
            Some(RcptRule::Reject { code, message }) => {
                (Some((*code, format_reply(*code, message))), false)
            }
            None => (None, false),
        };
        if spent {
            st.rules.remove(&k);
        }
        match refusal {
            // A 421 reply makes mailin close the session (Action::Close).
            Some((code, text)) => Response::custom(code, text[4..].to_string()),
            None => Response::custom(250, "2.1.5 Ok".into()),
        }
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        (self.from, self.to) = (from.to_string(), to.to_vec());
        self.raw.clear();
        mailin::response::OK // mailin answers 354 itself
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.raw.extend_from_slice(buf); // already dot-unstuffed by mailin
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let mail = ReceivedMail {
            envelope_from: std::mem::take(&mut self.from),
            envelope_to: std::mem::take(&mut self.to),
            raw: std::mem::take(&mut self.raw),
            received_at: Instant::now(),
            connection: self.id,
        };
        let mut st = lock(&self.shared.state);
        st.messages.push(mail);
        Response::custom(
            250,
            format!("2.0.0 Ok: queued as TEST{:06}", st.messages.len()),
        )
    }

    fn auth_plain(&mut self, _authz: &str, user: &str, password: &str) -> Response {
        self.record_auth(user, password)
    }

    fn auth_login(&mut self, user: &str, password: &str) -> Response {
        self.record_auth(user, password)
    }
}

fn serve(stream: TcpStream, id: usize, shared: &Arc<Shared>) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    // Generous safety net so abandoned sessions don't live forever.
    stream.set_read_timeout(Some(Duration::from_secs(600)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let ip = stream.peer_addr()?.ip();
    let mut out = stream.try_clone()?;
    let mut input = BufReader::new(stream);
    let mut session = SessionBuilder::new(HOSTNAME).build(ip, Conn::new(shared, id));
    // An AUTH exchange in progress, in a session of its own (see `auth_session`).
    let mut auth: Option<Session<Conn>> = None;
    let mut in_data = false;
    out.write_all(format!("220 {HOSTNAME} ESMTP npsd test server ready\r\n").as_bytes())?;
    let mut line = Vec::with_capacity(128);
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 || shared.shutdown.load(Ordering::SeqCst) {
            return Ok(()); // client went away (mid-DATA: the message is dropped) or we stop
        }
        if !line.ends_with(b"\r\n") && (!in_data || line == b".\n") {
            line.truncate(line.len() - usize::from(line.ends_with(b"\n")));
            line.extend_from_slice(b"\r\n"); // mailin wants CRLF
        }
        let verb = line
            .get(..5)
            .map(|v| v.to_ascii_uppercase())
            .unwrap_or_default();
        if !in_data && verb == b"MAIL " {
            only_body_parameter(&mut line);
        }
        let res = if let Some(a) = auth.as_mut() {
            let res = a.process(&line);
            if res.code != 334 {
                auth = None;
            }
            res
        } else if !in_data && verb == b"AUTH " {
            let mut a = auth_session(ip, Conn::new(shared, id));
            let res = a.process(&line);
            auth = (res.code == 334).then_some(a);
            res
        } else {
            session.process(&line)
        };
        if res.action == Action::NoReply {
            continue;
        }
        in_data = res.code == 354;
        let reply = if verb == b"EHLO " && res.code == 250 {
            let name = String::from_utf8_lossy(&line[5..]);
            format!(
                "250-{HOSTNAME} Hello {}\r\n250-8BITMIME\r\n250-PIPELINING\r\n250-SMTPUTF8\r\n\
                 250-ENHANCEDSTATUSCODES\r\n250 AUTH PLAIN LOGIN\r\n",
                name.trim()
            )
        } else {
            framed(&res.buffer()?)
        };
        out.write_all(reply.as_bytes())?;
        if res.action == Action::Close {
            return Ok(());
        }
    }
}

/// mailin requires AUTH once it is enabled (no MAIL before it), but this server takes mail with
/// or without: AUTH runs in a second session, greeted here, that lives for the exchange only.
fn auth_session(ip: IpAddr, conn: Conn) -> Session<Conn> {
    let mut a = SessionBuilder::new(HOSTNAME)
        .enable_auth(AuthMechanism::Plain)
        .enable_auth(AuthMechanism::Login)
        .insecure_enable_plaintext_auth()
        .build(ip, conn);
    a.process(b"EHLO auth\r\n");
    a
}

/// `MAIL FROM:<a@b> SMTPUTF8 BODY=8BITMIME` -> `MAIL FROM:<a@b> BODY=8BITMIME`: mailin's parser
/// knows no parameter but BODY=.
fn only_body_parameter(line: &mut Vec<u8>) {
    let Some(end) = line.iter().position(|&b| b == b'>') else {
        return;
    };
    let params = String::from_utf8_lossy(&line[end + 1..]).into_owned();
    line.truncate(end + 1);
    for p in params
        .split_whitespace()
        .filter(|p| p.to_ascii_uppercase().starts_with("BODY="))
    {
        line.extend_from_slice(format!(" {p}").as_bytes());
    }
    line.extend_from_slice(b"\r\n");
}

/// mailin writes each line of a custom reply as `CODE text`; all but the last want `CODE-text`.
fn framed(reply: &[u8]) -> String {
    let text = String::from_utf8_lossy(reply);
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        let sep = if i + 1 < lines.len() { '-' } else { ' ' };
        out.push_str(&format!(
            "{}{sep}{}\r\n",
            l.get(..3).unwrap_or(l),
            l.get(4..).unwrap_or("")
        ));
    }
    out
}

/// Builds `<code> <enhanced> <text>`, multi-line if `text` contains newlines.
fn format_reply(code: u16, text: &str) -> String {
    let has_enhanced = |l: &str| {
        let tok = l.split_whitespace().next().unwrap_or("");
        let p: Vec<_> = tok.split('.').collect();
        p.len() == 3
            && p.iter()
                .all(|x| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit()))
    };
    let class = code / 100;
    let enhanced = match code {
        450 | 550 | 553 => format!("{class}.1.1"),
        451 => "4.3.0".to_string(),
        _ => format!("{class}.0.0"),
    };
    let lines: Vec<&str> = text.lines().collect();
    let lines = if lines.is_empty() { vec![""] } else { lines };
    let n = lines.len();
    let line = |(i, l): (usize, &&str)| {
        let sep = if i + 1 == n { ' ' } else { '-' };
        match has_enhanced(l) {
            true => format!("{code}{sep}{l}"),
            false => format!("{code}{sep}{enhanced} {l}"),
        }
    };
    lines
        .iter()
        .enumerate()
        .map(line)
        .collect::<Vec<_>>()
        .join("\r\n")
}

#[cfg(test)]
#[path = "smtp_tests.rs"]
mod self_tests;
