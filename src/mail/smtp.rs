//! SMTP delivery over a small pool of lettre's `AsyncSmtpConnection`s on sockets we open
//! ourselves.
//!
//! Why not lettre's `AsyncSmtpTransport` pool: lettre 0.11 writes a message's body and its final
//! `.` in two writes on a socket without `TCP_NODELAY`, so Nagle's algorithm holds the final dot
//! until the server's delayed ACK of the body, about 40 ms per message (the fix is merged
//! upstream, not released). Here the socket has `TCP_NODELAY`, and the dot-stuffed body goes out
//! together with its final dot in one write. lettre's pool also sent a NOOP before every reuse;
//! a connection that finished a message moments ago is reused without one.
//!
//! The protocol itself (greeting, EHLO, STARTTLS, AUTH, reply parsing) stays lettre's.
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::Error as ProtocolError;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A connection used within this long is reused without a NOOP first.
const FRESH: Duration = Duration::from_secs(5);
/// Idle connections older than this are closed instead of reused (servers drop them anyway).
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How to reach the server, parsed once from `NPSD_SMTP_URL` (lettre's URL format).
struct Server {
    host: String,
    port: u16,
    tls: Tls,
    hello: ClientId,
    credentials: Option<Credentials>,
}

enum Tls {
    None,
    /// `smtps://`: TLS from the first byte.
    Wrapper(TlsParameters),
    /// `?tls=required`: STARTTLS or fail.
    Required(TlsParameters),
    /// `?tls=opportunistic`: STARTTLS when offered.
    Opportunistic(TlsParameters),
}

/// Why a message did not go out over this pool.
#[derive(Debug)]
pub enum Error {
    /// What lettre's protocol code reported: a server reply, a dropped connection, TLS.
    Protocol(ProtocolError),
    /// The TCP connection could not be opened.
    Connect(std::io::Error),
    /// The message cannot go to this server as it is (a non-ASCII address without SMTPUTF8...).
    Unsupported(&'static str),
}

impl Error {
    /// The server refused for good (5xx): trying again will not help.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Error::Protocol(e) if e.is_permanent())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Protocol(e) => e.fmt(f),
            Error::Connect(e) => write!(f, "could not connect to the mail server: {e}"),
            Error::Unsupported(what) => f.write_str(what),
        }
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Error {
        Error::Protocol(e)
    }
}

struct Idle {
    conn: AsyncSmtpConnection,
    since: Instant,
}

pub struct SmtpPool {
    server: Server,
    connect_timeout: Duration,
    /// Most recently used last.
    idle: Mutex<Vec<Idle>>,
    max_idle: usize,
}

impl SmtpPool {
    /// `url` as lettre reads it: `smtp://host:port`, `smtp://host?tls=required|opportunistic`,
    /// `smtps://user:pass@host`, an optional `/ehlo-name` path.
    pub fn from_url(url: &str, max_idle: usize, connect_timeout: Duration) -> anyhow::Result<Self> {
        let parsed = url::Url::parse(url).map_err(|e| anyhow::anyhow!("invalid SMTP URL: {e}"))?;
        let host = parsed
            .host_str()
            .ok_or_else(|| anyhow::anyhow!("the SMTP URL names no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let tls_mode = parsed
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let params = || TlsParameters::new(host.clone());
        let (tls, default_port) = match (parsed.scheme(), tls_mode.as_deref()) {
            ("smtp", None) => (Tls::None, 25),
            ("smtp", Some("required")) => (Tls::Required(params()?), 587),
            ("smtp", Some("opportunistic")) => (Tls::Opportunistic(params()?), 587),
            ("smtps", _) => (Tls::Wrapper(params()?), 465),
            (scheme, tls) => anyhow::bail!(
                "unknown SMTP URL scheme '{scheme}' or tls parameter {tls:?} (smtp://, smtps://, ?tls=required|opportunistic)"
            ),
        };
        let hello = match parsed.path().trim_matches('/') {
            "" => ClientId::default(),
            name => ClientId::Domain(name.to_string()),
        };
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|e| anyhow::anyhow!("the SMTP URL's credentials are not UTF-8: {e}"))
        };
        let credentials = match parsed.password() {
            Some(password) => Some(Credentials::new(
                decode(parsed.username())?,
                decode(password)?,
            )),
            None => None,
        };
        Ok(SmtpPool {
            server: Server {
                port: parsed.port().unwrap_or(default_port),
                host,
                tls,
                hello,
                credentials,
            },
            connect_timeout,
            idle: Mutex::new(Vec::new()),
            max_idle: max_idle.max(1),
        })
    }

    /// Delivers one message. A reused connection that turns out dead before the message's body
    /// was written is replaced once by a new one (nothing can have been delivered yet); after the
    /// body, an error is the caller's to retry, as the server may have taken the message.
    pub async fn send(&self, envelope: &Envelope, formatted: &[u8]) -> Result<(), Error> {
        let body = DotStuffed::new(formatted);
        let mut retried = false;
        loop {
            let (mut conn, reused) = self.take().await?;
            match transact(&mut conn, envelope, &body).await {
                Ok(()) => {
                    self.give_back(conn);
                    return Ok(());
                }
                Err(Failure::BeforeBody(e)) if reused && !retried && !e.is_permanent() => {
                    conn.abort().await;
                    retried = true;
                }
                Err(Failure::BeforeBody(e) | Failure::AfterBody(e)) => {
                    conn.abort().await;
                    return Err(e);
                }
            }
        }
    }

    /// An idle connection (most recently used first), or a new one; `true` when reused.
    async fn take(&self) -> Result<(AsyncSmtpConnection, bool), Error> {
        loop {
            let candidate = {
                let mut idle = self.idle.lock().expect("smtp pool");
                // Too old ones sit at the front: drop them (closed without QUIT, as a server
                // that has kept them this long may have gone already).
                idle.retain(|i| i.since.elapsed() < IDLE_TIMEOUT);
                idle.pop()
            };
            let Some(Idle { mut conn, since }) = candidate else {
                return Ok((self.connect().await?, false));
            };
            if conn.has_broken() {
                continue;
            }
            if since.elapsed() < FRESH || conn.test_connected().await {
                return Ok((conn, true));
            }
            conn.abort().await;
        }
    }

    fn give_back(&self, conn: AsyncSmtpConnection) {
        let mut idle = self.idle.lock().expect("smtp pool");
        if idle.len() < self.max_idle && !conn.has_broken() {
            idle.push(Idle {
                conn,
                since: Instant::now(),
            });
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, Error> {
        let s = &self.server;
        let mut conn = match &s.tls {
            // lettre opens TLS-from-the-start sockets itself (it accepts only its own TCP
            // stream type to wrap), so these go without TCP_NODELAY; the body still leaves in
            // one write with its final dot, which is what avoided the delayed-ACK wait.
            Tls::Wrapper(params) => {
                AsyncSmtpConnection::connect_tokio1(
                    (s.host.as_str(), s.port),
                    Some(self.connect_timeout),
                    &s.hello,
                    Some(params.clone()),
                    None,
                )
                .await?
            }
            _ => {
                let tcp = tokio::time::timeout(
                    self.connect_timeout,
                    tokio::net::TcpStream::connect((s.host.as_str(), s.port)),
                )
                .await
                .map_err(|_| {
                    Error::Connect(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "connection timed out",
                    ))
                })?
                .map_err(Error::Connect)?;
                tcp.set_nodelay(true).map_err(Error::Connect)?;
                AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &s.hello).await?
            }
        };
        match &s.tls {
            Tls::Required(params) => conn.starttls(params.clone(), &s.hello).await?,
            Tls::Opportunistic(params) if conn.can_starttls() => {
                conn.starttls(params.clone(), &s.hello).await?
            }
            _ => {}
        }
        if let Some(credentials) = &s.credentials {
            conn.auth(DEFAULT_MECHANISMS, credentials).await?;
        }
        Ok(conn)
    }
}

enum Failure {
    /// Nothing of the message was sent: safe to try on another connection.
    BeforeBody(Error),
    /// The body went out: the server may have accepted it.
    AfterBody(Error),
}

async fn transact(
    conn: &mut AsyncSmtpConnection,
    envelope: &Envelope,
    body: &DotStuffed,
) -> Result<(), Failure> {
    let before = |e: ProtocolError| Failure::BeforeBody(Error::Protocol(e));
    let info = conn.server_info();
    let mut options = Vec::new();
    let non_ascii_address = envelope
        .from()
        .into_iter()
        .chain(envelope.to())
        .any(|a| !AsRef::<str>::as_ref(a).is_ascii());
    if non_ascii_address {
        if !info.supports_feature(Extension::SmtpUtfEight) {
            return Err(Failure::BeforeBody(Error::Unsupported(
                "an address is not ASCII and the server does not support SMTPUTF8",
            )));
        }
        options.push(MailParameter::SmtpUtfEight);
    }
    if !body.ascii {
        if !info.supports_feature(Extension::EightBitMime) {
            return Err(Failure::BeforeBody(Error::Unsupported(
                "the message is not ASCII and the server does not support 8BITMIME",
            )));
        }
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    conn.command(Mail::new(envelope.from().cloned(), options))
        .await
        .map_err(before)?;
    for to in envelope.to() {
        conn.command(Rcpt::new(to.clone(), vec![]))
            .await
            .map_err(before)?;
    }
    conn.command(Data).await.map_err(before)?;
    conn.command(body)
        .await
        .map_err(|e| Failure::AfterBody(Error::Protocol(e)))?;
    Ok(())
}

/// The message as the DATA phase carries it: lines beginning with `.` get a second one, line
/// ends are CRLF, and the terminating `CRLF.CRLF` follows, all in one buffer so it leaves in
/// one write.
struct DotStuffed {
    text: String,
    ascii: bool,
}

impl DotStuffed {
    fn new(message: &[u8]) -> DotStuffed {
        let mut out = Vec::with_capacity(message.len() + message.len() / 64 + 8);
        let mut at_line_start = true;
        let mut previous = 0u8;
        for &b in message {
            match b {
                b'.' if at_line_start => out.extend_from_slice(b".."),
                // A bare LF is a line end too: sent as CRLF, as SMTP requires.
                b'\n' if previous != b'\r' => out.extend_from_slice(b"\r\n"),
                _ => out.push(b),
            }
            at_line_start = b == b'\n';
            previous = b;
        }
        if !out.ends_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        let text = String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        DotStuffed {
            ascii: message.is_ascii(),
            text,
        }
    }
}

impl fmt::Display for DotStuffed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dots_at_line_starts_are_doubled_and_the_end_is_marked() {
        let s = DotStuffed::new(b".a\r\nb.\r\n.\r\nc");
        assert_eq!(s.text, "..a\r\nb.\r\n..\r\nc\r\n.\r\n");
        assert!(s.ascii);
        let s = DotStuffed::new(b"x\ny\r\n");
        assert_eq!(s.text, "x\r\ny\r\n.\r\n");
        let s = DotStuffed::new(b"a\n.b");
        assert_eq!(s.text, "a\r\n..b\r\n.\r\n");
    }

    #[test]
    fn urls_in_lettre_format_are_read() {
        let p = SmtpPool::from_url(
            "smtp://u%40x:p%2Fw@mail.example:2525/helo.example?tls=required",
            8,
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(p.server.host, "mail.example");
        assert_eq!(p.server.port, 2525);
        assert!(matches!(p.server.tls, Tls::Required(_)));
        assert!(p.server.credentials.is_some());
        assert_eq!(
            SmtpPool::from_url("smtps://mail.example", 8, Duration::from_secs(1))
                .unwrap()
                .server
                .port,
            465
        );
        assert!(SmtpPool::from_url("smtp://h?tls=bogus", 8, Duration::from_secs(1)).is_err());
        assert!(SmtpPool::from_url("http://h", 8, Duration::from_secs(1)).is_err());
    }
}
