//! Outgoing email: one Mailer over SMTP (pooled connections) or a folder of .eml files,
//! and the typed messages npsd sends.
pub mod digest;
pub mod survey;
pub mod templates;

use crate::config::Config;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use std::path::PathBuf;

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
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
            Some(url) => {
                let pool = PoolConfig::new()
                    .max_size(config.dispatcher.concurrency as u32)
                    .idle_timeout(std::time::Duration::from_secs(30));
                let smtp = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())?
                    .timeout(Some(config.dispatcher.smtp_timeout))
                    .pool_config(pool)
                    .build();
                Transport::Smtp(smtp)
            }
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
            Transport::Smtp(t) => {
                match tokio::time::timeout(self.send_timeout, t.send(message.clone())).await {
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

fn classify(e: lettre::transport::smtp::Error) -> SendError {
    let text = e.to_string();
    if e.is_permanent() {
        SendError::Permanent(text)
    } else {
        SendError::Temporary(text)
    }
}
