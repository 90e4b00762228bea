//! Outgoing email: one Mailer over SMTP (pooled connections) or a folder of .eml files,
//! and the typed messages npsd sends.
pub mod alert;
pub mod digest;
pub mod notice;
mod smtp;
pub mod survey;
pub mod templates;

use crate::config::Config;
use lettre::message::Mailbox;
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Clone)]
enum Transport {
    Smtp(Arc<smtp::SmtpPool>),
    Files(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    /// The longest one message may take, end to end. lettre's own timeout covers only the TCP
    /// connect, so a server that accepts and then never answers would hold a send forever.
    send_timeout: std::time::Duration,
}

/// Why a message did not go out.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later: 4xx replies, refused or dropped connections, time-outs.
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// The server refused the message for good (5xx); its reply is kept.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

impl Mailer {
    pub fn from_config(config: &Config) -> anyhow::Result<Mailer> {
        let transport = match &config.smtp_url {
            Some(url) => Transport::Smtp(Arc::new(smtp::SmtpPool::from_url(
                url.expose_secret(),
                config.dispatcher.concurrency,
                config.dispatcher.smtp_timeout,
            )?)),
            None => {
                std::fs::create_dir_all(&config.mail_dir).map_err(|e| {
                    anyhow::anyhow!(
                        "NPSD_MAIL_DIR: cannot create {}: {e}",
                        config.mail_dir.display()
                    )
                })?;
                Transport::Files(
                    AsyncFileTransport::new(&config.mail_dir),
                    config.mail_dir.clone(),
                )
            }
        };
        Ok(Mailer {
            transport,
            send_timeout: config.dispatcher.smtp_timeout,
        })
    }

    /// Where mail goes, for the start-up log.
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp(_) => "SMTP".to_string(),
            Transport::Files(_, dir) => format!("files in {}", dir.display()),
        }
    }

    pub fn writes_files(&self) -> bool {
        matches!(self.transport, Transport::Files(..))
    }

    /// Sends one message; in folder mode answers the file it was written to.
    pub async fn send(&self, message: &Message) -> Result<Option<PathBuf>, SendError> {
        match &self.transport {
            Transport::Smtp(pool) => {
                let formatted = message.formatted();
                let sent = pool.send(message.envelope(), &formatted);
                match tokio::time::timeout(self.send_timeout, sent).await {
                    Ok(sent) => sent.map(|_| None).map_err(classify),
                    Err(_) => Err(SendError::Temporary(format!(
                        "the mail server did not finish within {} s",
                        self.send_timeout.as_secs()
                    ))),
                }
            }
            Transport::Files(t, dir) => t
                .send(message.clone())
                .await
                .map(|id| Some(dir.join(format!("{id}.eml"))))
                .map_err(|e| SendError::Temporary(e.to_string())),
        }
    }
}

/// How every email npsd sends is put together: From, To, Reply-To, Date, a Message-ID in the
/// sender's domain, the RFC 8058 one-click unsubscribe headers, and the rendered subject with its
/// text and HTML bodies as multipart/alternative.
pub struct Envelope<'a> {
    pub from: &'a Mailbox,
    pub to: Mailbox,
    pub reply_to: Option<Mailbox>,
    /// The unique part of the Message-ID, fixed when the job was queued (a domain, if any, is
    /// replaced by the sender's).
    pub message_id: &'a str,
    /// The one-click unsubscribe (`List-Unsubscribe`); None for a message that is no list's (an
    /// alert to the team, which the team changes in the dashboard).
    pub unsubscribe_url: Option<&'a str>,
}

pub fn compose(e: Envelope<'_>, rendered: templates::RenderedEmail) -> anyhow::Result<Message> {
    use lettre::message::header::{ContentType, HeaderName, HeaderValue};
    use lettre::message::{MultiPart, SinglePart};
    let mut builder = Message::builder()
        .from(e.from.clone())
        .to(e.to)
        .subject(rendered.subject)
        .date_now()
        .message_id(Some(message_id(e.message_id, e.from)));
    if let Some(url) = e.unsubscribe_url {
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{url}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_string(),
            ));
    }
    if let Some(reply_to) = e.reply_to {
        builder = builder.reply_to(reply_to);
    }
    let body = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(rendered.text),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(rendered.html),
        );
    Ok(builder.multipart(body)?)
}

/// The Message-ID in the sender's domain (what receivers expect of mail from that domain), its
/// unique part fixed when the job was queued, so every retry carries the same one.
pub fn message_id(stored: &str, from: &Mailbox) -> String {
    let unique = stored.split('@').next().unwrap_or(stored);
    format!("<{unique}@{}>", from.email.domain())
}

fn classify(e: smtp::Error) -> SendError {
    let text = e.to_string();
    if e.is_permanent() {
        SendError::Permanent(text)
    } else {
        SendError::Temporary(text)
    }
}
