//! A small, real SMTP server for the integration tests.
//!
//! Written directly on `std::net::TcpListener` + one OS thread per connection
//! (mailin-embedded was not used: its `serve()` never returns, so an instance
//! can't be stopped, it runs a fixed-size thread pool that pooled clients can
//! exhaust, and it does not advertise PIPELINING).
//!
//! Supported subset: 220 greeting, EHLO/HELO (advertises 8BITMIME, PIPELINING,
//! SMTPUTF8, ENHANCEDSTATUSCODES, AUTH PLAIN LOGIN; any credentials are
//! accepted), MAIL FROM, RCPT TO, DATA (dot-unstuffing), RSET, NOOP, VRFY,
//! QUIT. Commands are processed line by line, so pipelined clients work, and
//! connections may be kept open (pooled) or dropped without QUIT.
//!
//! Per-recipient [`Behavior`] is applied at RCPT TO, with real SMTP replies
//! (e.g. `451 4.3.0 try again later`, `550 5.1.1 mailbox unavailable`).
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const HOSTNAME: &str = "npsd-test-smtp.localhost";

// ---------------------------------------------------------------------------
// Received messages
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct ReceivedMail {
    /// Reverse path from `MAIL FROM:<...>` (empty string for the null sender `<>`).
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

// ---------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

#[derive(Default)]
struct State {
    rules: HashMap<String, RcptRule>,
    attempts: HashMap<String, usize>,
    messages: Vec<ReceivedMail>,
    auths: Vec<(String, String)>,
}

#[derive(Default)]
struct Conns {
    shutting_down: bool,
    open: HashMap<usize, TcpStream>,
}

struct Shared {
    state: Mutex<State>,
    conns: Mutex<Conns>,
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
    accept_thread: Option<JoinHandle<()>>,
}

impl TestSmtp {
    /// Binds 127.0.0.1:0 and serves on background threads until dropped.
    pub fn start() -> TestSmtp {
        Self::start_on(0)
    }

    /// Serves on a given port: a server that went away comes back where clients expect it.
    pub fn start_on(port: u16) -> TestSmtp {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("TestSmtp: bind 127.0.0.1");
        let addr = listener.local_addr().expect("TestSmtp: local_addr");
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            conns: Mutex::new(Conns::default()),
            shutdown: AtomicBool::new(false),
            conn_counter: AtomicUsize::new(0),
        });
        let sh = shared.clone();
        let accept_thread = std::thread::Builder::new()
            .name(format!("test-smtp-accept-{}", addr.port()))
            .spawn(move || accept_loop(listener, sh))
            .expect("TestSmtp: spawn accept thread");
        TestSmtp {
            addr,
            shared,
            accept_thread: Some(accept_thread),
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
            Behavior::Accept => {
                st.rules.remove(&k);
            }
            Behavior::TempFailTimes { code, times } => {
                st.rules.insert(
                    k,
                    RcptRule::TempFail {
                        code,
                        remaining: times,
                    },
                );
            }
            Behavior::Reject { code, message } => {
                st.rules.insert(k, RcptRule::Reject { code, message });
            }
        }
    }

    /// Messages accepted so far (in order of acceptance).
    pub fn messages(&self) -> Vec<ReceivedMail> {
        lock(&self.shared.state).messages.clone()
    }

    /// Accepted messages whose envelope recipients include `recipient` (case-insensitive).
    pub fn messages_to(&self, recipient: &str) -> Vec<ReceivedMail> {
        let k = key(recipient);
        lock(&self.shared.state)
            .messages
            .iter()
            .filter(|m| m.envelope_to.iter().any(|t| key(t) == k))
            .cloned()
            .collect()
    }

    /// Number of RCPT TO attempts for this recipient (accepted or refused).
    pub fn attempts_to(&self, recipient: &str) -> usize {
        lock(&self.shared.state)
            .attempts
            .get(&key(recipient))
            .copied()
            .unwrap_or(0)
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
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.messages_to(recipient);
            if got.len() >= n {
                return got;
            }
            if Instant::now() >= deadline {
                panic!(
                    "TestSmtp: timed out after {timeout:?} waiting for {n} message(s) to {recipient}, \
                     got {}.\n{}",
                    got.len(),
                    self.describe()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Polls every 20ms until at least `n` RCPT attempts for `recipient` were made.
    pub async fn wait_for_attempts_to(&self, recipient: &str, n: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.attempts_to(recipient);
            if got >= n {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "TestSmtp: timed out after {timeout:?} waiting for {n} RCPT attempt(s) to \
                     {recipient}, got {got}.\n{}",
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
}

impl TestSmtp {
    /// Stops serving, as a mail server that goes away: the port closes and every open session is
    /// cut. What it received stays readable.
    pub fn stop(&self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        {
            let mut conns = lock(&self.shared.conns);
            conns.shutting_down = true;
            for (_, s) in conns.open.drain() {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
        // Wake the blocking accept() so the thread exits and the port closes.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect_timeout(&self.addr, Duration::from_millis(100)).is_ok()
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for TestSmtp {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        // Close every open session so pooled clients see a dead connection.
        {
            let mut conns = lock(&self.shared.conns);
            conns.shutting_down = true;
            for (_, s) in conns.open.drain() {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
        // Wake the blocking accept() so the thread exits and the port closes.
        let woke = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok();
        if let Some(h) = self.accept_thread.take() {
            if woke {
                let _ = h.join();
            }
            // else: detach rather than risk hanging the test
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for conn in listener.incoming() {
        if shared.shutdown.load(Ordering::SeqCst) {
            break;
        }
        let stream = match conn {
            Ok(s) => s,
            Err(_) => {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
        };
        let id = shared.conn_counter.fetch_add(1, Ordering::SeqCst) + 1;
        {
            let mut conns = lock(&shared.conns);
            if conns.shutting_down {
                break;
            }
            if let Ok(c) = stream.try_clone() {
                conns.open.insert(id, c);
            }
        }
        let sh = shared.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("test-smtp-conn-{id}"))
            .spawn(move || {
                let _ = Session::new(stream, id, sh.clone()).and_then(|mut s| s.run());
                if let Some(s) = lock(&sh.conns).open.remove(&id) {
                    let _ = s.shutdown(Shutdown::Both);
                }
            });
        if spawned.is_err() {
            lock(&shared.conns).open.remove(&id);
        }
    }
}

// ---------------------------------------------------------------------------
// SMTP session
// ---------------------------------------------------------------------------

struct Session {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    id: usize,
    shared: Arc<Shared>,
    greeted: bool,
    from: Option<String>,
    to: Vec<String>,
}

enum Flow {
    Continue,
    Close,
}

type IoResult<T> = std::io::Result<T>;

impl Session {
    fn new(stream: TcpStream, id: usize, shared: Arc<Shared>) -> IoResult<Session> {
        stream.set_nodelay(true)?;
        // Generous safety net so abandoned sessions don't live forever.
        stream.set_read_timeout(Some(Duration::from_secs(600)))?;
        stream.set_write_timeout(Some(Duration::from_secs(30)))?;
        let writer = stream.try_clone()?;
        Ok(Session {
            reader: BufReader::new(stream),
            writer,
            id,
            shared,
            greeted: false,
            from: None,
            to: Vec::new(),
        })
    }

    fn reply(&mut self, text: &str) -> IoResult<()> {
        let mut s = String::with_capacity(text.len() + 2);
        s.push_str(text);
        s.push_str("\r\n");
        self.writer.write_all(s.as_bytes())?;
        self.writer.flush()
    }

    fn reply_multi(&mut self, code: u16, lines: &[&str]) -> IoResult<()> {
        let mut s = String::new();
        for (i, l) in lines.iter().enumerate() {
            let sep = if i + 1 == lines.len() { ' ' } else { '-' };
            s.push_str(&format!("{code}{sep}{l}\r\n"));
        }
        self.writer.write_all(s.as_bytes())?;
        self.writer.flush()
    }

    /// Reads one line including its terminator; None on EOF.
    fn read_line(&mut self) -> IoResult<Option<Vec<u8>>> {
        let mut line = Vec::with_capacity(128);
        let n = self.reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            Ok(None)
        } else {
            Ok(Some(line))
        }
    }

    fn reset(&mut self) {
        self.from = None;
        self.to.clear();
    }

    fn run(&mut self) -> IoResult<()> {
        self.reply(&format!("220 {HOSTNAME} ESMTP npsd test server ready"))?;
        loop {
            if self.shared.shutdown.load(Ordering::SeqCst) {
                return Ok(());
            }
            let Some(line) = self.read_line()? else {
                return Ok(()); // client went away without QUIT
            };
            let line = String::from_utf8_lossy(&line)
                .trim_end_matches(['\r', '\n'])
                .to_string();
            match self.command(&line)? {
                Flow::Continue => {}
                Flow::Close => return Ok(()),
            }
        }
    }

    fn command(&mut self, line: &str) -> IoResult<Flow> {
        let (verb, arg) = match line.find(' ') {
            Some(i) => (&line[..i], line[i + 1..].trim()),
            None => (line, ""),
        };
        let verb = verb.to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => {
                self.reset();
                self.greeted = true;
                let hello = format!("{HOSTNAME} Hello {arg}");
                self.reply_multi(
                    250,
                    &[
                        hello.as_str(),
                        "8BITMIME",
                        "PIPELINING",
                        "SMTPUTF8",
                        "ENHANCEDSTATUSCODES",
                        "AUTH PLAIN LOGIN",
                    ],
                )?;
            }
            "HELO" => {
                self.reset();
                self.greeted = true;
                self.reply(&format!("250 {HOSTNAME}"))?;
            }
            "MAIL" => {
                if !self.greeted {
                    self.reply("503 5.5.1 Error: send HELO/EHLO first")?;
                } else if self.from.is_some() {
                    self.reply("503 5.5.1 Error: nested MAIL command")?;
                } else {
                    match parse_path(arg, "FROM:") {
                        Some(p) => {
                            self.from = Some(p);
                            self.reply("250 2.1.0 Ok")?;
                        }
                        None => self.reply("501 5.5.4 Syntax: MAIL FROM:<address>")?,
                    }
                }
            }
            "RCPT" => {
                if self.from.is_none() {
                    self.reply("503 5.5.1 Error: need MAIL command")?;
                } else {
                    match parse_path(arg, "TO:") {
                        Some(p) if !p.is_empty() => return self.rcpt(p),
                        _ => self.reply("501 5.5.4 Syntax: RCPT TO:<address>")?,
                    }
                }
            }
            "DATA" => {
                if self.from.is_none() {
                    self.reply("503 5.5.1 Error: need MAIL command")?;
                } else if self.to.is_empty() {
                    self.reply("554 5.5.1 Error: no valid recipients")?;
                } else {
                    return self.data();
                }
            }
            "RSET" => {
                self.reset();
                self.reply("250 2.0.0 Ok")?;
            }
            "NOOP" => self.reply("250 2.0.0 Ok")?,
            "VRFY" => self.reply("252 2.0.0 Cannot VRFY user, but will accept message")?,
            "QUIT" => {
                self.reply("221 2.0.0 Bye")?;
                return Ok(Flow::Close);
            }
            "AUTH" => return self.auth(arg),
            "" => self.reply("500 5.5.2 Error: bad syntax")?,
            _ => self.reply("502 5.5.2 Error: command not recognized")?,
        }
        Ok(Flow::Continue)
    }

    fn rcpt(&mut self, addr: String) -> IoResult<Flow> {
        enum Verdict {
            Ok,
            Fail(String, bool),
        }
        let verdict = {
            let mut st = lock(&self.shared.state);
            let k = key(&addr);
            *st.attempts.entry(k.clone()).or_insert(0) += 1;
            let mut clear = false;
            let v = match st.rules.get_mut(&k) {
                None => Verdict::Ok,
                Some(RcptRule::TempFail { code, remaining }) => {
                    if *remaining > 0 {
                        *remaining -= 1;
                        let code = *code;
                        Verdict::Fail(format_reply(code, "try again later"), code == 421)
                    } else {
                        clear = true;
                        Verdict::Ok
                    }
                }
                Some(RcptRule::Reject { code, message }) => {
                    Verdict::Fail(format_reply(*code, message), *code == 421)
                }
            };
            if clear {
                st.rules.remove(&k);
            }
            v
        };
        match verdict {
            Verdict::Ok => {
                self.to.push(addr);
                self.reply("250 2.1.5 Ok")?;
                Ok(Flow::Continue)
            }
            Verdict::Fail(text, close) => {
                self.reply(&text)?;
                Ok(if close { Flow::Close } else { Flow::Continue })
            }
        }
    }

    fn data(&mut self) -> IoResult<Flow> {
        self.reply("354 End data with <CR><LF>.<CR><LF>")?;
        let mut raw = Vec::new();
        loop {
            let Some(line) = self.read_line()? else {
                return Ok(Flow::Close); // EOF in the middle of DATA: drop it
            };
            if line == b".\r\n" || line == b".\n" {
                break;
            }
            if line.first() == Some(&b'.') {
                raw.extend_from_slice(&line[1..]);
            } else {
                raw.extend_from_slice(&line);
            }
        }
        let mail = ReceivedMail {
            envelope_from: self.from.take().unwrap_or_default(),
            envelope_to: std::mem::take(&mut self.to),
            raw,
            received_at: Instant::now(),
            connection: self.id,
        };
        let n = {
            let mut st = lock(&self.shared.state);
            st.messages.push(mail);
            st.messages.len()
        };
        self.reply(&format!("250 2.0.0 Ok: queued as TEST{:06}", n))?;
        Ok(Flow::Continue)
    }

    fn auth(&mut self, arg: &str) -> IoResult<Flow> {
        use base64::Engine as _;
        let b64 = |s: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(s.trim())
                .ok()
                .map(|v| String::from_utf8_lossy(&v).into_owned())
        };
        let mut parts = arg.split_whitespace();
        let mech = parts.next().unwrap_or("").to_ascii_uppercase();
        let initial = parts.next().map(str::to_string);
        let creds = match mech.as_str() {
            "PLAIN" => {
                let resp = match initial {
                    Some(r) => r,
                    None => {
                        self.reply("334 ")?;
                        match self.read_line()? {
                            Some(l) => String::from_utf8_lossy(&l).trim().to_string(),
                            None => return Ok(Flow::Close),
                        }
                    }
                };
                b64(&resp).map(|s| {
                    let mut it = s.split('\0');
                    let _authzid = it.next();
                    (
                        it.next().unwrap_or("").to_string(),
                        it.next().unwrap_or("").to_string(),
                    )
                })
            }
            "LOGIN" => {
                let user = match initial {
                    Some(u) => u,
                    None => {
                        self.reply("334 VXNlcm5hbWU6")?;
                        match self.read_line()? {
                            Some(l) => String::from_utf8_lossy(&l).trim().to_string(),
                            None => return Ok(Flow::Close),
                        }
                    }
                };
                self.reply("334 UGFzc3dvcmQ6")?;
                let pass = match self.read_line()? {
                    Some(l) => String::from_utf8_lossy(&l).trim().to_string(),
                    None => return Ok(Flow::Close),
                };
                b64(&user).zip(b64(&pass))
            }
            _ => {
                self.reply("504 5.5.4 Unrecognized authentication type")?;
                return Ok(Flow::Continue);
            }
        };
        match creds {
            Some(c) => {
                lock(&self.shared.state).auths.push(c);
                self.reply("235 2.7.0 Authentication successful")?;
            }
            None => self.reply("501 5.5.2 Cannot decode response")?,
        }
        Ok(Flow::Continue)
    }
}

/// `FROM:<a@b> BODY=8BITMIME` -> `a@b`; tolerates a space after the colon and
/// a missing pair of angle brackets.
fn parse_path(arg: &str, prefix: &str) -> Option<String> {
    if arg.len() < prefix.len() || !arg[..prefix.len()].eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = arg[prefix.len()..].trim_start();
    if let Some(r) = rest.strip_prefix('<') {
        let end = r.find('>')?;
        Some(r[..end].to_string())
    } else {
        rest.split_whitespace().next().map(str::to_string)
    }
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
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let sep = if i + 1 == n { ' ' } else { '-' };
            if has_enhanced(l) {
                format!("{code}{sep}{l}")
            } else {
                format!("{code}{sep}{enhanced} {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

// ---------------------------------------------------------------------------
// Self tests (talk to the server with lettre itself)
// ---------------------------------------------------------------------------

#[cfg(test)]
mod self_tests {
    use super::*;
    use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
    use lettre::message::{Mailbox, MultiPart, SinglePart};
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

    const T: Duration = Duration::from_secs(10);

    fn transport(port: u16) -> AsyncSmtpTransport<Tokio1Executor> {
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(port)
            .timeout(Some(Duration::from_secs(10)))
            .build()
    }

    fn simple(to: &str, subject: &str) -> Message {
        Message::builder()
            .from("NPS <nps@example.com>".parse::<Mailbox>().unwrap())
            .to(to.parse::<Mailbox>().unwrap())
            .subject(subject)
            .body(format!("body for {to}\r\n"))
            .unwrap()
    }

    #[tokio::test]
    async fn smtp_multipart_roundtrip() {
        let smtp = TestSmtp::start();
        let tr = transport(smtp.port());

        let long_line = format!(
            "Wie wahrscheinlich ist es, dass Sie uns weiterempfehlen? {}",
            "x".repeat(150)
        );
        let text = format!(
            "Hello Zoë,\r\n\r\n{long_line}\r\n.leading dot line\r\n..two dots\r\n.\r\nUnsubscribe: https://nps.example.com/u/abc?x=1&y=2\r\n"
        );
        let html = format!(
            "<!doctype html><html><body><p>{}</p>\r\n.<p>dot line</p>\r\n<a href=\"https://nps.example.com/r/abc?score=10&amp;x=1\">10</a></body></html>\r\n",
            "y".repeat(200)
        );
        let unsub = "<https://nps.example.com/unsubscribe/abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz>, <mailto:unsubscribe@example.com?subject=unsubscribe>";

        for i in 0..2 {
            let msg = Message::builder()
                .from("NPS Survey <nps@example.com>".parse::<Mailbox>().unwrap())
                .to("Customer <Customer@Example.com>"
                    .parse::<Mailbox>()
                    .unwrap())
                .subject(format!(
                    "How likely are you to recommend us? #{i} – ünïcödé"
                ))
                .message_id(Some(format!("<msg-{i}@npsd.test>")))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    unsub.to_string(),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".to_string(),
                ))
                .multipart(
                    MultiPart::alternative()
                        .singlepart(
                            SinglePart::builder()
                                .header(ContentType::TEXT_PLAIN)
                                .header(ContentTransferEncoding::QuotedPrintable)
                                .body(text.clone()),
                        )
                        .singlepart(
                            SinglePart::builder()
                                .header(ContentType::TEXT_HTML)
                                .header(ContentTransferEncoding::QuotedPrintable)
                                .body(html.clone()),
                        ),
                )
                .unwrap();
            let sent_bytes = msg.formatted();
            tr.send(msg).await.expect("send");
            // lettre returns a pooled connection to the pool from a *spawned*
            // task, so give it a moment before the next send or a second
            // connection would be opened.
            tokio::time::sleep(Duration::from_millis(100)).await;

            let got = smtp
                .wait_for_messages_to("customer@example.com", i + 1, T)
                .await;
            let m = &got[i];
            // Exact raw round trip: what lettre formatted + the CRLF ending the last line.
            let mut expected = sent_bytes.clone();
            expected.extend_from_slice(b"\r\n");
            assert_eq!(m.raw_str(), String::from_utf8(expected).unwrap());
            assert_eq!(m.envelope_from, "nps@example.com");
            assert_eq!(m.envelope_to, vec!["Customer@Example.com".to_string()]);
            assert_eq!(
                m.subject(),
                format!("How likely are you to recommend us? #{i} – ünïcödé")
            );
            assert_eq!(m.message_id(), format!("msg-{i}@npsd.test"));
            assert_eq!(m.header("list-unsubscribe").as_deref(), Some(unsub));
            assert_eq!(
                m.header("List-Unsubscribe-Post").as_deref(),
                Some("List-Unsubscribe=One-Click")
            );
            assert_eq!(m.text_body(), text);
            assert_eq!(m.html_body(), html);
            assert!(m.header("X-Not-There").is_none());
        }
        // Unpooled lettre: a connection per message.
        assert_eq!(smtp.connection_count(), 2, "{}", smtp.describe());
        let all = smtp.messages();
        assert_eq!(all.len(), 2);
        assert_ne!(all[0].connection, all[1].connection);
        assert_eq!(smtp.attempts_to("CUSTOMER@example.com"), 2);
        tr.shutdown().await;
    }

    #[tokio::test]
    async fn smtp_raw_dot_unstuffing_and_from_url() {
        let smtp = TestSmtp::start();
        let tr = AsyncSmtpTransport::<Tokio1Executor>::from_url(&smtp.url())
            .unwrap()
            .build();
        let env = lettre::address::Envelope::new(
            Some("a@example.com".parse().unwrap()),
            vec![
                "b@example.com".parse().unwrap(),
                "c@example.com".parse().unwrap(),
            ],
        )
        .unwrap();
        let body = b"Subject: raw\r\n\r\n.one\r\n..two\r\n.\r\nmiddle . dot\r\nend";
        tr.send_raw(&env, body).await.unwrap();
        let got = smtp.wait_for_messages_to("c@example.com", 1, T).await;
        assert_eq!(
            got[0].raw,
            b"Subject: raw\r\n\r\n.one\r\n..two\r\n.\r\nmiddle . dot\r\nend\r\n"
        );
        assert_eq!(got[0].envelope_to, vec!["b@example.com", "c@example.com"]);
        assert_eq!(got[0].subject(), "raw");
        assert_eq!(smtp.messages_to("B@EXAMPLE.COM").len(), 1);
    }

    #[tokio::test]
    async fn smtp_temp_fail_then_accept() {
        let smtp = TestSmtp::start();
        smtp.set_behavior(
            "Flaky@Example.com",
            Behavior::TempFailTimes {
                code: 451,
                times: 1,
            },
        );
        let tr = transport(smtp.port());

        let err = tr
            .send(simple("flaky@example.com", "first"))
            .await
            .unwrap_err();
        assert!(
            err.is_transient(),
            "expected transient, got {err:?} / {err}"
        );
        assert!(!err.is_permanent());
        assert_eq!(err.status().map(|c| c.to_string()).as_deref(), Some("451"));
        assert!(err.to_string().contains("4.3.0 try again later"), "{err}");
        assert_eq!(smtp.attempts_to("flaky@example.com"), 1);
        assert!(smtp.messages().is_empty());

        tr.send(simple("flaky@example.com", "second"))
            .await
            .expect("second attempt accepted");
        let got = smtp.wait_for_messages_to("flaky@example.com", 1, T).await;
        assert_eq!(got[0].subject(), "second");
        smtp.wait_for_attempts_to("flaky@example.com", 2, T).await;
        assert_eq!(smtp.attempts_to("flaky@example.com"), 2);
    }

    #[tokio::test]
    async fn smtp_permanent_reject() {
        let smtp = TestSmtp::start();
        smtp.set_behavior(
            "gone@example.com",
            Behavior::Reject {
                code: 550,
                message: "mailbox unavailable".into(),
            },
        );
        let tr = transport(smtp.port());
        for _ in 0..2 {
            let err = tr.send(simple("gone@example.com", "x")).await.unwrap_err();
            assert!(err.is_permanent(), "expected permanent, got {err:?}");
            assert!(!err.is_transient());
            let s = err.to_string();
            assert!(s.contains("mailbox unavailable"), "{s}");
            assert!(s.contains("550") && s.contains("5.1.1"), "{s}");
        }
        assert_eq!(smtp.attempts_to("gone@example.com"), 2);
        // Other recipients on the same server are unaffected.
        tr.send(simple("ok@example.com", "fine")).await.unwrap();
        assert_eq!(smtp.messages_to("ok@example.com").len(), 1);
        assert!(smtp.messages_to("gone@example.com").is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn smtp_concurrent_pooled_sends_and_rude_clients() {
        let smtp = TestSmtp::start();
        // A client that connects and vanishes without QUIT, and one mid-DATA.
        {
            let mut s = TcpStream::connect(("127.0.0.1", smtp.port())).unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut l = String::new();
            r.read_line(&mut l).unwrap();
            assert!(l.starts_with("220 "), "{l}");
            // Pipelined commands; read all replies up to 354 so that closing
            // the socket doesn't RST away unread data.
            s.write_all(b"EHLO x\r\nMAIL FROM:<x@y>\r\nRCPT TO:<z@y>\r\nDATA\r\n")
                .unwrap();
            loop {
                l.clear();
                assert!(r.read_line(&mut l).unwrap() > 0);
                if l.starts_with("354") {
                    break;
                }
            }
            s.write_all(b"Subject: half\r\n").unwrap();
        }
        let tr = transport(smtp.port());
        let mut handles = Vec::new();
        for i in 0..12 {
            let tr = tr.clone();
            handles.push(tokio::spawn(async move {
                tr.send(simple(&format!("user{i}@example.com"), &format!("n{i}")))
                    .await
            }));
        }
        for h in handles {
            h.await.unwrap().unwrap();
        }
        for i in 0..12 {
            let m = smtp
                .wait_for_messages_to(&format!("user{i}@example.com"), 1, T)
                .await;
            assert_eq!(m[0].subject(), format!("n{i}"));
        }
        assert_eq!(smtp.messages().len(), 12, "{}", smtp.describe());
        smtp.wait_for_attempts_to("z@y", 1, T).await;
        assert!(
            smtp.messages_to("z@y").is_empty(),
            "half message must be discarded"
        );
        assert!(smtp.connection_count() >= 3, "{}", smtp.describe());
    }

    #[tokio::test]
    async fn smtp_parallel_instances_and_drop_with_pooled_connection() {
        let a = TestSmtp::start();
        let b = TestSmtp::start();
        assert_ne!(a.port(), b.port());
        let ta = transport(a.port());
        let tb = transport(b.port());
        ta.send(simple("x@example.com", "a")).await.unwrap();
        tb.send(simple("x@example.com", "b")).await.unwrap();
        assert_eq!(a.messages()[0].subject(), "a");
        assert_eq!(b.messages()[0].subject(), "b");

        // Drop while lettre still holds an idle pooled connection: must not hang,
        // and later sends must fail rather than hang.
        let port = a.port();
        let started = Instant::now();
        drop(a);
        assert!(started.elapsed() < Duration::from_secs(2));
        let r = tokio::time::timeout(T, ta.send(simple("x@example.com", "late"))).await;
        assert!(
            matches!(r, Ok(Err(_))),
            "send after drop should fail quickly: {r:?}"
        );
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "port should be closed"
        );
        tb.send(simple("x@example.com", "b2")).await.unwrap();
        assert_eq!(b.messages_to("x@example.com").len(), 2);
    }

    #[tokio::test]
    async fn smtp_wait_times_out_with_description() {
        let smtp = TestSmtp::start();
        let tr = transport(smtp.port());
        tr.send(simple("someone@example.com", "hello there"))
            .await
            .unwrap();
        let h = tokio::spawn(async move {
            smtp.wait_for_messages_to("nobody@example.com", 1, Duration::from_millis(100))
                .await;
        });
        let err = h.await.unwrap_err();
        let p = err.into_panic();
        let msg = p.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            msg.contains("nobody@example.com") && msg.contains("hello there"),
            "{msg}"
        );
    }

    #[test]
    fn smtp_reply_formatting() {
        assert_eq!(
            format_reply(550, "mailbox unavailable"),
            "550 5.1.1 mailbox unavailable"
        );
        assert_eq!(
            format_reply(451, "try again later"),
            "451 4.3.0 try again later"
        );
        assert_eq!(format_reply(554, "5.7.1 spam"), "554 5.7.1 spam");
        assert_eq!(format_reply(552, "a\nb"), "552-5.0.0 a\r\n552 5.0.0 b");
        assert_eq!(
            parse_path("FROM:<a@b> BODY=8BITMIME", "FROM:").as_deref(),
            Some("a@b")
        );
        assert_eq!(parse_path("from: <>", "FROM:").as_deref(), Some(""));
        assert_eq!(parse_path("TO:c@d", "TO:").as_deref(), Some("c@d"));
        assert_eq!(unfold(" a\r\n b\r\n\tc \r\n"), "a b\tc");
    }
}
