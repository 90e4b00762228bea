//! Typed settings, read once: environment variables over an optional `npsd.toml`.
//! A bad value stops start-up with one line that names the variable.
use crate::store::{Backend, DatabaseUrl};
use crate::telemetry::LogFormat;
use lettre::message::Mailbox;
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    /// A streaming replica of the PostgreSQL database (`NPSD_DATABASE_READ_URL`) for the reads of
    /// figures, lists, search and export; None: every read goes to `database_url`.
    pub database_read_url: Option<DatabaseUrl>,
    pub bind: SocketAddr,
    /// Base of every link in emails; None means `http://` + the address actually bound.
    pub public_url: Option<url::Url>,
    /// lettre's SMTP URL (it may hold a password); None writes emails as .eml files to `mail_dir`.
    pub smtp_url: Option<SecretString>,
    pub mail_dir: PathBuf,
    pub mail_from: Mailbox,
    pub api_key: Option<SecretString>,
    pub db_pool_size: u32,
    /// How long one database read may run before it is stopped and answered 503.
    pub query_timeout: Duration,
    /// Wrong API keys or unknown link tokens per client address and minute before 429; 0: off.
    pub auth_failure_limit: u32,
    /// Answers through the embedded form per client address and minute; 0: off.
    pub embed_ip_limit: u32,
    /// Answers through the embedded form per survey and minute, from all addresses; 0: off.
    pub embed_survey_limit: u32,
    /// How long a page's signature of a visitor's identity stays valid after its issue time.
    pub embed_signature_max_age: Duration,
    /// How long a request's body may take to arrive before the request is answered 408.
    pub request_body_timeout: Duration,
    /// Connections one client address may hold open at once; 0: no limit.
    pub connections_per_address: u32,
    pub dispatcher: DispatcherSettings,
    /// Webhook and alert deliveries, and how long events are kept.
    pub webhooks: npsd_app::webhooks::Settings,
    pub log_format: LogFormat,
}

/// How the outbox is worked.
#[derive(Debug, Clone)]
pub struct DispatcherSettings {
    /// The longest the dispatcher sleeps before looking at the outbox again.
    pub poll_interval: Duration,
    /// Rows claimed at once.
    pub batch_size: i64,
    /// Messages in flight at once (also the SMTP pool size).
    pub concurrency: usize,
    /// How long a claim holds before another dispatcher may take the row over.
    pub lease: Duration,
    /// First retry delay after a temporary failure; doubles each attempt.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// After this many attempts a temporarily failing email is given up as failed.
    pub max_attempts: i32,
    pub smtp_timeout: Duration,
    /// How long a stopping service waits for the messages in flight before releasing them.
    pub shutdown_grace: Duration,
    /// Whether `serve` runs the dispatcher beside the HTTP server.
    pub enabled: bool,
}

impl Default for DispatcherSettings {
    fn default() -> Self {
        DispatcherSettings {
            poll_interval: Duration::from_millis(1000),
            batch_size: 100,
            concurrency: 8,
            lease: Duration::from_secs(15),
            retry_base: Duration::from_secs(2),
            retry_max: Duration::from_secs(3600),
            max_attempts: 15,
            smtp_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
            enabled: true,
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets (the API key, SMTP passwords) never reach a log.
        f.debug_struct("Config")
            .field("database_url", &self.database_url.to_string())
            .field(
                "database_read_url",
                &self.database_read_url.as_ref().map(|u| u.to_string()),
            )
            .field("bind", &self.bind)
            .field("public_url", &self.public_url.as_ref().map(|u| u.as_str()))
            .field(
                "smtp_url",
                &self
                    .smtp_url
                    .as_ref()
                    .map(|u| redact_url_password(u.expose_secret())),
            )
            .field("mail_dir", &self.mail_dir)
            .field("mail_from", &self.mail_from.to_string())
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("dispatcher", &self.dispatcher)
            .field("webhooks", &self.webhooks)
            .field("log_format", &self.log_format)
            .finish()
    }
}

/// The URL without its user and password; "(not shown)" when it cannot be parsed.
fn redact_url_password(s: &str) -> String {
    match url::Url::parse(s) {
        Ok(mut u) => {
            let _ = u.set_password(None);
            let _ = u.set_username("");
            u.to_string()
        }
        Err(_) => "(not shown)".to_string(),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: String,
    pub message: String,
}

fn err(var: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var: var.to_string(),
        message: message.into(),
    }
}

/// Raw values by variable name (`NPSD_BIND`), from the file and then the environment.
pub struct Sources(BTreeMap<String, String>);

impl Sources {
    /// The process environment over `npsd.toml` (or the file named by `NPSD_CONFIG`).
    pub fn from_env() -> Result<Sources, ConfigError> {
        Sources::load(std::env::vars())
    }

    /// The `NPSD_*` variables of `env` over the file `NPSD_CONFIG` names (default `npsd.toml`).
    pub fn load(env: impl Iterator<Item = (String, String)>) -> Result<Sources, ConfigError> {
        let env: Vec<(String, String)> = env.filter(|(k, _)| k.starts_with("NPSD_")).collect();
        let explicit = env
            .iter()
            .find(|(k, _)| k == "NPSD_CONFIG")
            .map(|(_, v)| v.clone());
        let path = PathBuf::from(explicit.clone().unwrap_or_else(|| "npsd.toml".into()));
        let mut values = BTreeMap::new();
        if path.exists() {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                err(
                    "NPSD_CONFIG",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            let table: toml::Table = text.parse().map_err(|e| {
                err(
                    "NPSD_CONFIG",
                    format!("{} is not valid TOML: {e}", path.display()),
                )
            })?;
            for (key, value) in table {
                let text = match value {
                    toml::Value::String(s) => s,
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Float(f) => f.to_string(),
                    toml::Value::Boolean(b) => b.to_string(),
                    _ => {
                        return Err(err(
                            &format!("NPSD_{}", key.to_uppercase()),
                            format!("in {}: must be a single value", path.display()),
                        ))
                    }
                };
                values.insert(format!("NPSD_{}", key.to_uppercase()), text);
            }
        } else if explicit.is_some() {
            return Err(err(
                "NPSD_CONFIG",
                format!("{} does not exist", path.display()),
            ));
        }
        values.extend(env);
        Ok(Sources(values))
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Sources {
        Sources(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn get(&self, var: &str) -> Option<&str> {
        self.0.get(var).map(|s| s.trim()).filter(|s| !s.is_empty())
    }

    /// A duration as whole seconds (`86400`) or in humantime's words (`24h`, `90min`, `1d 12h`).
    fn parse_duration(
        &self,
        var: &str,
        default: Duration,
        min: Duration,
        max: Duration,
    ) -> Result<Duration, ConfigError> {
        let Some(raw) = self.get(var) else {
            return Ok(default);
        };
        let parsed = match raw.parse::<u64>() {
            Ok(secs) => Some(Duration::from_secs(secs)),
            Err(_) => humantime::parse_duration(raw).ok(),
        };
        match parsed {
            Some(d) if d >= min && d <= max => Ok(d),
            _ => Err(err(
                var,
                format!(
                    "'{raw}' must be a duration from {} to {}, in seconds or like \"24h\"",
                    humantime::format_duration(min),
                    humantime::format_duration(max)
                ),
            )),
        }
    }

    /// A yes-or-no setting: 1, true, on or yes; 0, false, off or no; absent: `default`.
    fn parse_flag(&self, var: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(var).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("1" | "true" | "on" | "yes") => Ok(true),
            Some("0" | "false" | "off" | "no") => Ok(false),
            Some(other) => Err(err(var, format!("'{other}' must be 1 or 0 (on or off)"))),
        }
    }

    fn parse_num<T>(&self, var: &str, default: T, min: T, max: T) -> Result<T, ConfigError>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        match self.get(var) {
            None => Ok(default),
            Some(raw) => match raw.parse::<T>() {
                Ok(v) if v >= min && v <= max => Ok(v),
                _ => Err(err(
                    var,
                    format!("'{raw}' must be a number from {min} to {max}"),
                )),
            },
        }
    }
}

impl Config {
    pub fn load() -> Result<Config, ConfigError> {
        Config::from_sources(&Sources::from_env()?)
    }

    pub fn from_sources(src: &Sources) -> Result<Config, ConfigError> {
        let database_url =
            DatabaseUrl::parse(src.get("NPSD_DATABASE_URL").unwrap_or("sqlite://npsd.db"))
                .map_err(|m| err("NPSD_DATABASE_URL", m))?;
        let database_read_url = match src.get("NPSD_DATABASE_READ_URL").filter(|v| !v.is_empty()) {
            None => None,
            Some(raw) => {
                let url = DatabaseUrl::parse(raw).map_err(|m| err("NPSD_DATABASE_READ_URL", m))?;
                if url.backend() != Backend::Postgres || database_url.backend() != Backend::Postgres
                {
                    return Err(err(
                        "NPSD_DATABASE_READ_URL",
                        "a read replica is a PostgreSQL streaming replica of a PostgreSQL \
                         NPSD_DATABASE_URL (postgres://...); SQLite has no replicas"
                            .to_string(),
                    ));
                }
                Some(url)
            }
        };

        let bind_raw = src.get("NPSD_BIND").unwrap_or("127.0.0.1:8080");
        let bind = bind_raw
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| {
                err(
                    "NPSD_BIND",
                    format!("'{bind_raw}' is not an address like 127.0.0.1:8080"),
                )
            })?;

        let public_url = match src.get("NPSD_PUBLIC_URL") {
            None => None,
            Some(raw) => {
                let u = url::Url::parse(raw.trim_end_matches('/'))
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                    .ok_or_else(|| {
                        err("NPSD_PUBLIC_URL", format!("'{raw}' is not an http(s) URL"))
                    })?;
                Some(u)
            }
        };

        let smtp_url = match src.get("NPSD_SMTP_URL") {
            None => None,
            Some(raw) => {
                lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(raw)
                    .map_err(|e| err("NPSD_SMTP_URL", format!("not a valid SMTP URL ({e}); e.g. smtp://host:25 or smtps://user:pass@host")))?;
                Some(SecretString::from(raw))
            }
        };

        let mail_dir = PathBuf::from(src.get("NPSD_MAIL_DIR").unwrap_or("./mail-outbox"));

        let from_raw = src.get("NPSD_MAIL_FROM").unwrap_or("NPS <nps@localhost>");
        let mail_from: Mailbox = from_raw.parse().map_err(|_| {
            err(
                "NPSD_MAIL_FROM",
                format!("'{from_raw}' is not an address like \"ACME <nps@acme.example>\""),
            )
        })?;

        let api_key = match src.get("NPSD_API_KEY") {
            None => None,
            Some(k) if k.len() >= 16 && k.bytes().all(|b| b.is_ascii_graphic()) => {
                Some(SecretString::from(k))
            }
            Some(_) => {
                return Err(err(
                    "NPSD_API_KEY",
                    "must be at least 16 printable characters without spaces",
                ))
            }
        };

        let d = DispatcherSettings::default();
        let dispatcher = DispatcherSettings {
            poll_interval: Duration::from_millis(src.parse_num(
                "NPSD_DISPATCH_POLL_MS",
                1000u64,
                10,
                60_000,
            )?),
            batch_size: src.parse_num("NPSD_DISPATCH_BATCH", d.batch_size, 1, 1000)?,
            concurrency: src.parse_num("NPSD_SMTP_CONCURRENCY", d.concurrency, 1, 100)?,
            lease: Duration::from_secs(src.parse_num("NPSD_LEASE_SECONDS", 15u64, 3, 3_600)?),
            retry_base: Duration::from_millis(src.parse_num(
                "NPSD_RETRY_BASE_MS",
                2000u64,
                10,
                3_600_000,
            )?),
            retry_max: d.retry_max,
            max_attempts: src.parse_num("NPSD_MAX_ATTEMPTS", d.max_attempts, 1, 100)?,
            smtp_timeout: Duration::from_secs(src.parse_num(
                "NPSD_SMTP_TIMEOUT_SECONDS",
                30u64,
                1,
                600,
            )?),
            shutdown_grace: Duration::from_secs(src.parse_num(
                "NPSD_SHUTDOWN_GRACE_SECONDS",
                30u64,
                0,
                3_600,
            )?),
            enabled: match src
                .get("NPSD_DISPATCHER")
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                None | Some("on" | "true" | "1") => true,
                Some("off" | "false" | "0") => false,
                Some(other) => {
                    return Err(err(
                        "NPSD_DISPATCHER",
                        format!("'{other}' must be on or off"),
                    ))
                }
            },
        };

        let log_format = match src.get("NPSD_LOG_FORMAT") {
            None => LogFormat::default(),
            Some(raw) => LogFormat::parse(raw)
                .ok_or_else(|| err("NPSD_LOG_FORMAT", format!("'{raw}' must be text or json")))?,
        };

        let webhook_lease = dispatcher.lease;
        Ok(Config {
            database_url,
            database_read_url,
            bind,
            public_url,
            smtp_url,
            mail_dir,
            mail_from,
            api_key,
            db_pool_size: src.parse_num("NPSD_DB_POOL_SIZE", 8u32, 1, 100)?,
            query_timeout: Duration::from_millis(src.parse_num(
                "NPSD_QUERY_TIMEOUT_MS",
                5000u64,
                1,
                3_600_000,
            )?),
            auth_failure_limit: src.parse_num("NPSD_AUTH_FAILURE_LIMIT", 30u32, 0, 1_000_000)?,
            embed_ip_limit: src.parse_num("NPSD_EMBED_RATE_LIMIT", 20u32, 0, 1_000_000)?,
            embed_survey_limit: src.parse_num(
                "NPSD_EMBED_SURVEY_RATE_LIMIT",
                600u32,
                0,
                10_000_000,
            )?,
            embed_signature_max_age: src.parse_duration(
                "NPSD_EMBED_SIGNATURE_MAX_AGE",
                Duration::from_secs(24 * 3600),
                Duration::from_secs(1),
                Duration::from_secs(366 * 24 * 3600),
            )?,
            request_body_timeout: Duration::from_secs(src.parse_num(
                "NPSD_REQUEST_BODY_TIMEOUT_SECONDS",
                5u64,
                1,
                3_600,
            )?),
            connections_per_address: src.parse_num(
                "NPSD_CONNECTIONS_PER_ADDRESS",
                256u32,
                0,
                1_000_000,
            )?,
            dispatcher,
            webhooks: npsd_app::webhooks::Settings {
                allow_http: src.parse_flag("NPSD_WEBHOOK_ALLOW_HTTP", false)?,
                allow_private: src.parse_flag("NPSD_WEBHOOK_ALLOW_PRIVATE", false)?,
                retention_days: src.parse_num(
                    "NPSD_EVENTS_RETENTION_DAYS",
                    npsd_app::events::DEFAULT_RETENTION_DAYS,
                    1,
                    3_650,
                )?,
                lease: webhook_lease,
                ..Default::default()
            },
            log_format,
        })
    }
}

#[cfg(test)]
mod tests;
