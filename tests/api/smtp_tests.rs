//! Self tests of the test SMTP server: lettre as npsd uses it (unpooled transports, and
//! `AsyncSmtpConnection`s kept open as npsd's own pool does), and raw TCP for pipelining, AUTH and
//! every `Behavior`.
use super::*;
use lettre::address::Envelope;
use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::extension::{ClientId, Extension};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, SmtpTransport, Tokio1Executor};
use std::io::Read;

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

/// A connection as npsd's pool opens it: its own tokio socket with TCP_NODELAY.
async fn pooled(port: u16) -> AsyncSmtpConnection {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    tcp.set_nodelay(true).unwrap();
    AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &ClientId::default())
        .await
        .unwrap()
}

fn envelope(from: &str, to: &[&str]) -> Envelope {
    let to = to.iter().map(|a| a.parse().unwrap()).collect();
    Envelope::new(Some(from.parse().unwrap()), to).unwrap()
}

/// A raw SMTP client: one line or reply at a time.
struct Raw {
    w: TcpStream,
    r: BufReader<TcpStream>,
}

impl Raw {
    fn connect(port: u16) -> Raw {
        let w = TcpStream::connect(("127.0.0.1", port)).unwrap();
        w.set_read_timeout(Some(T)).unwrap();
        let mut raw = Raw {
            r: BufReader::new(w.try_clone().unwrap()),
            w,
        };
        assert_eq!(
            raw.reply(),
            "220 npsd-test-smtp.localhost ESMTP npsd test server ready"
        );
        raw
    }

    fn send(&mut self, s: &str) {
        self.w.write_all(s.as_bytes()).unwrap();
    }

    /// One whole reply, its lines joined with `\n` (no CRLF).
    fn reply(&mut self) -> String {
        let mut lines = Vec::new();
        loop {
            let mut l = String::new();
            assert!(self.r.read_line(&mut l).unwrap() > 0, "EOF after {lines:?}");
            assert!(l.ends_with("\r\n"), "{l:?}");
            let l = l.trim_end().to_string();
            let last = l.as_bytes().get(3) == Some(&b' ') || l.len() == 3;
            lines.push(l);
            if last {
                return lines.join("\n");
            }
        }
    }

    fn cmd(&mut self, c: &str) -> String {
        self.send(&format!("{c}\r\n"));
        self.reply()
    }

    fn closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.r.read(&mut b), Ok(0) | Err(_))
    }
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
}

#[tokio::test]
async fn smtp_raw_dot_unstuffing_and_from_url() {
    let smtp = TestSmtp::start();
    let tr = AsyncSmtpTransport::<Tokio1Executor>::from_url(&smtp.url())
        .unwrap()
        .build();
    let env = envelope("a@example.com", &["b@example.com", "c@example.com"]);
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

#[test]
fn smtp_sync_transport_with_auth_login() {
    use lettre::Transport;
    let smtp = TestSmtp::start();
    let tr = SmtpTransport::builder_dangerous("127.0.0.1")
        .port(smtp.port())
        .credentials(Credentials::new("user".into(), "pa ss".into()))
        .authentication(vec![Mechanism::Login])
        .build();
    tr.send(&simple("sync@example.com", "sync")).unwrap();
    assert_eq!(smtp.messages_to("sync@example.com")[0].subject(), "sync");
    assert_eq!(smtp.auth_logins(), vec![("user".into(), "pa ss".into())]);
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

/// npsd's pool: one connection for many messages (npsd's own transaction and lettre's `send`),
/// AUTH PLAIN, SMTPUTF8 for an international address, a 421 that closes the connection.
#[tokio::test]
async fn smtp_pooled_connection_like_npsd() {
    let smtp = TestSmtp::start();
    let mut conn = pooled(smtp.port()).await;
    let info = conn.server_info();
    for ext in [Extension::EightBitMime, Extension::SmtpUtfEight] {
        assert!(info.supports_feature(ext), "{info:?}");
    }
    assert!(
        info.supports_auth_mechanism(Mechanism::Plain)
            && info.supports_auth_mechanism(Mechanism::Login)
    );
    conn.auth(
        DEFAULT_MECHANISMS,
        &Credentials::new("u@x".into(), "p:w".into()),
    )
    .await
    .unwrap();
    assert_eq!(smtp.auth_logins(), vec![("u@x".into(), "p:w".into())]);
    for i in 0..3 {
        let msg = simple("pool@example.com", &format!("p{i}"));
        conn.send(msg.envelope(), &msg.formatted()).await.unwrap();
    }
    // Non-ASCII address and body: `MAIL FROM:<...> SMTPUTF8 BODY=8BITMIME`.
    let env = envelope("nps@example.com", &["jörg@müller.example"]);
    conn.send(&env, "Subject: Grüße\r\n\r\nö".as_bytes())
        .await
        .unwrap();
    let m = smtp.messages_to("jörg@müller.example");
    assert_eq!(m[0].raw_str(), "Subject: Grüße\r\n\r\nö\r\n");
    assert!(conn.test_connected().await); // NOOP
                                          // 421 at RCPT: the reply, then the server closes the connection.
    smtp.set_behavior(
        "busy@example.com",
        Behavior::TempFailTimes {
            code: 421,
            times: 1,
        },
    );
    let msg = simple("busy@example.com", "busy");
    let err = conn
        .send(msg.envelope(), &msg.formatted())
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert_eq!(err.status().map(|c| c.to_string()).as_deref(), Some("421"));
    assert!(!conn.test_connected().await, "421 closes the connection");
    assert_eq!(smtp.messages_to("pool@example.com").len(), 3);
    assert!(smtp.messages().iter().all(|m| m.connection == 1));
    // The next connection gets through; one dropped without QUIT is fine too.
    let mut conn = pooled(smtp.port()).await;
    conn.send(msg.envelope(), &msg.formatted()).await.unwrap();
    conn.abort().await;
    assert_eq!(smtp.messages_to("busy@example.com")[0].connection, 2);
    assert_eq!(smtp.connection_count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn smtp_concurrent_sends_and_rude_clients() {
    let smtp = TestSmtp::start();
    // A client that vanishes without QUIT in the middle of DATA.
    {
        let mut raw = Raw::connect(smtp.port());
        raw.send("EHLO x\r\nMAIL FROM:<x@y>\r\nRCPT TO:<z@y>\r\nDATA\r\n");
        for _ in 0..4 {
            raw.reply(); // read all replies, so closing doesn't RST away unread data
        }
        raw.send("Subject: half\r\n");
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
    assert_eq!(smtp.connection_count(), 13, "{}", smtp.describe());
}

#[tokio::test]
async fn smtp_parallel_instances_stop_and_drop_with_pooled_connection() {
    let a = TestSmtp::start();
    let b = TestSmtp::start();
    assert_ne!(a.port(), b.port());
    let ta = transport(a.port());
    let tb = transport(b.port());
    ta.send(simple("x@example.com", "a")).await.unwrap();
    tb.send(simple("x@example.com", "b")).await.unwrap();
    assert_eq!(a.messages()[0].subject(), "a");
    assert_eq!(b.messages()[0].subject(), "b");

    // Drop while a pooled connection is idle: must not hang, and later sends must fail.
    let mut idle = pooled(a.port()).await;
    let port = a.port();
    let started = Instant::now();
    drop(a);
    assert!(started.elapsed() < Duration::from_secs(2));
    let msg = simple("x@example.com", "late");
    let r = tokio::time::timeout(T, idle.send(msg.envelope(), &msg.formatted())).await;
    assert!(matches!(r, Ok(Err(_))), "send after drop: {r:?}");
    let r = tokio::time::timeout(T, ta.send(simple("x@example.com", "late"))).await;
    assert!(matches!(r, Ok(Err(_))), "send after drop: {r:?}");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port should be closed"
    );
    tb.send(simple("x@example.com", "b2")).await.unwrap();
    assert_eq!(b.messages_to("x@example.com").len(), 2);

    // stop(): an open session mid-transaction is cut, the port closes, what came is kept;
    // start_on brings a server back on the same port.
    let mut raw = Raw::connect(b.port());
    raw.cmd("EHLO x");
    b.stop();
    assert!(raw.closed());
    assert!(TcpStream::connect(("127.0.0.1", b.port())).is_err());
    assert_eq!(b.messages().len(), 2);
    let back = TestSmtp::start_on(b.port());
    tb.send(simple("x@example.com", "back")).await.unwrap();
    assert_eq!(back.messages()[0].subject(), "back");
    drop(b); // stopping twice is fine
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

/// Everything in one write, as a pipelining client sends it; replies come in order.
#[test]
fn smtp_raw_pipelining_and_replies() {
    let smtp = TestSmtp::start();
    let mut raw = Raw::connect(smtp.port());
    assert_eq!(
        raw.cmd("EHLO client.example"),
        "250-npsd-test-smtp.localhost Hello client.example\n250-8BITMIME\n250-PIPELINING\n\
         250-SMTPUTF8\n250-ENHANCEDSTATUSCODES\n250 AUTH PLAIN LOGIN"
    );
    raw.send(
        "MAIL FROM:<a@example.com> BODY=8BITMIME\r\nRCPT TO:<b@example.com>\r\n\
         RCPT TO:<C@example.com>\r\nDATA\r\nSubject: piped\r\n\r\n..dot\r\nbare lf\n.\r\n\
         NOOP\r\nRSET\r\nMAIL FROM:<a@example.com>\r\nDATA\r\nQUIT\r\n",
    );
    let replies: Vec<String> = (0..10).map(|_| raw.reply()).collect();
    let codes: Vec<&str> = replies.iter().map(|r| &r[..3]).collect();
    assert_eq!(
        codes,
        ["250", "250", "250", "354", "250", "250", "250", "250", "503", "221"],
        "{replies:#?}"
    );
    assert_eq!(replies[0], "250 2.1.0 Ok");
    assert_eq!(replies[1], "250 2.1.5 Ok");
    assert_eq!(replies[4], "250 2.0.0 Ok: queued as TEST000001");
    assert!(raw.closed());
    let m = &smtp.messages()[0];
    assert_eq!(m.raw, b"Subject: piped\r\n\r\n.dot\r\nbare lf\n");
    assert_eq!(m.envelope_to, ["b@example.com", "C@example.com"]);
    assert_eq!(m.connection, 1);

    // HELO, bare-LF commands, VRFY, and commands out of order.
    let mut raw = Raw::connect(smtp.port());
    assert_eq!(
        raw.cmd("MAIL FROM:<a@example.com>"),
        "503 Bad sequence of commands"
    );
    raw.send("HELO x\n");
    assert_eq!(raw.reply(), "250 npsd-test-smtp.localhost");
    assert_eq!(&raw.cmd("VRFY someone")[..3], "252");
    assert_eq!(&raw.cmd("RCPT TO:<b@example.com>")[..3], "503");
    assert_eq!(&raw.cmd("BOGUS")[..3], "500");
    // mailin's parser refuses the null sender (npsd never sends one).
    assert_eq!(raw.cmd("MAIL FROM:<>"), "500 Syntax error");
    assert_eq!(smtp.connection_count(), 2);
}

#[test]
fn smtp_raw_auth_plain_and_login() {
    let smtp = TestSmtp::start();
    let mut raw = Raw::connect(smtp.port());
    raw.cmd("EHLO x");
    // AUTH PLAIN with an initial response: "\0ann\0secret".
    assert_eq!(
        raw.cmd("AUTH PLAIN AGFubgBzZWNyZXQ="),
        "235 2.7.0 Authentication successful"
    );
    // AUTH PLAIN with a challenge: "authz\0bob\0pw".
    assert_eq!(raw.cmd("auth plain"), "334"); // "334 " trimmed
    assert_eq!(&raw.cmd("YXV0aHoAYm9iAHB3")[..3], "235");
    // AUTH LOGIN, both challenges: "carl" / "pw2".
    assert_eq!(raw.cmd("AUTH LOGIN"), "334 VXNlcm5hbWU6");
    assert_eq!(raw.cmd("Y2FybA=="), "334 UGFzc3dvcmQ6");
    assert_eq!(&raw.cmd("cHcy")[..3], "235");
    // AUTH LOGIN with the user name given: "dora" / "pw3".
    assert_eq!(raw.cmd("AUTH LOGIN ZG9yYQ=="), "334 UGFzc3dvcmQ6");
    assert_eq!(&raw.cmd("cHcz")[..3], "235");
    // An unknown mechanism is refused; mail still flows, with or without AUTH.
    assert_eq!(&raw.cmd("AUTH CRAM-MD5")[..1], "5");
    assert_eq!(&raw.cmd("MAIL FROM:<a@example.com>")[..3], "250");
    assert_eq!(&raw.cmd("RCPT TO:<b@example.com>")[..3], "250");
    assert_eq!(&raw.cmd("DATA")[..3], "354");
    assert_eq!(&raw.cmd("Subject: s\r\n\r\nx\r\n.")[..3], "250");
    assert_eq!(&raw.cmd("QUIT")[..3], "221");
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        smtp.auth_logins(),
        vec![
            pair("ann", "secret"),
            pair("bob", "pw"),
            pair("carl", "pw2"),
            pair("dora", "pw3")
        ]
    );
    assert_eq!(smtp.messages_to("b@example.com").len(), 1);
    smtp.clear();
    assert!(smtp.auth_logins().is_empty() && smtp.messages().is_empty());
    assert_eq!(smtp.attempts_to("b@example.com"), 0);
}

#[test]
fn smtp_raw_behaviours() {
    let smtp = TestSmtp::start();
    smtp.set_behavior(
        "temp@example.com",
        Behavior::TempFailTimes {
            code: 450,
            times: 2,
        },
    );
    smtp.set_behavior(
        "spam@example.com",
        Behavior::Reject {
            code: 554,
            message: "5.7.1 spam".into(),
        },
    );
    smtp.set_behavior(
        "multi@example.com",
        Behavior::Reject {
            code: 552,
            message: "too big\nreally".into(),
        },
    );
    smtp.set_behavior(
        "back@example.com",
        Behavior::Reject {
            code: 550,
            message: "no".into(),
        },
    );
    smtp.set_behavior("back@example.com", Behavior::Accept);
    let mut raw = Raw::connect(smtp.port());
    raw.cmd("EHLO x");
    raw.cmd("MAIL FROM:<a@example.com>");
    let temp = "450 4.1.1 try again later";
    assert_eq!(raw.cmd("RCPT TO:<Temp@example.com>"), temp);
    assert_eq!(raw.cmd("RCPT TO:<temp@example.com>"), temp);
    assert_eq!(raw.cmd("RCPT TO:<temp@example.com>"), "250 2.1.5 Ok");
    assert_eq!(raw.cmd("RCPT TO:<spam@example.com>"), "554 5.7.1 spam");
    assert_eq!(
        raw.cmd("RCPT TO:<multi@example.com>"),
        "552-5.0.0 too big\n552 5.0.0 really"
    );
    assert_eq!(raw.cmd("RCPT TO:<back@example.com>"), "250 2.1.5 Ok");
    assert_eq!(&raw.cmd("DATA")[..3], "354");
    assert_eq!(&raw.cmd("Subject: b\r\n\r\nhi\r\n.")[..3], "250");
    assert_eq!(
        smtp.messages()[0].envelope_to,
        ["temp@example.com", "back@example.com"]
    );
    assert_eq!(smtp.attempts_to("TEMP@example.com"), 3);
    // A 421 is answered, then the connection is closed.
    smtp.set_behavior(
        "down@example.com",
        Behavior::TempFailTimes {
            code: 421,
            times: 5,
        },
    );
    raw.cmd("MAIL FROM:<a@example.com>");
    assert_eq!(
        raw.cmd("RCPT TO:<down@example.com>"),
        "421 4.0.0 try again later"
    );
    assert!(raw.closed());
    assert!(smtp.describe().contains("down@example.com"));
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
    assert_eq!(framed(b"552 a\r\n552 b\r\n"), "552-a\r\n552 b\r\n");
    // Why only BODY= goes through: mailin's own parser refuses any other MAIL parameter.
    let mut plain = SessionBuilder::new("x").build(
        IpAddr::from([127, 0, 0, 1]),
        Conn::new(&Default::default(), 0),
    );
    plain.process(b"EHLO c\r\n");
    assert_eq!(plain.process(b"MAIL FROM:<a@b> SMTPUTF8\r\n").code, 500);
    let mut l = b"MAIL FROM:<a@b> SMTPUTF8 body=8BITMIME SIZE=9\r\n".to_vec();
    only_body_parameter(&mut l);
    assert_eq!(l, b"MAIL FROM:<a@b> body=8BITMIME\r\n");
    assert_eq!(unfold(" a\r\n b\r\n\tc \r\n"), "a b\tc");
}
