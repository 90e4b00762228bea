//! Builds the application once: store, mailer, dispatcher and HTTP server. Tests reuse it on port 0.
use crate::config::Config;
use crate::domain::access::Scopes;
use crate::domain::clock::{SharedClock, SystemClock};
use crate::domain::token::{hash_secret, key_prefix, new_api_key};
use crate::http::request_span::RedactedRootSpan;
use crate::http::{self, AppState};
use crate::jobs::Dispatcher;
use crate::mail::Mailer;
use crate::store::{api_keys, surveys, DatabaseUrl, Store, StoreError};
use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use secrecy::ExposeSecret;
use std::net::TcpListener;
use std::sync::Arc;
use tokio::sync::{watch, Notify};
use tracing_actix_web::TracingLogger;

pub struct Application {
    port: u16,
    server: Server,
    dispatcher: Dispatcher,
    public_url: String,
    store: Store,
    /// What the projection folds the tally journal with.
    app: npsd_app::App,
    /// How long a stopping server waits for the dispatcher's messages in flight.
    shutdown_grace: std::time::Duration,
    dispatcher_enabled: bool,
}

/// A key created on first start: shown once, only its hash is kept.
pub struct CreatedKey(pub String);

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(
        config: Config,
        clock: SharedClock,
    ) -> anyhow::Result<Application> {
        let store = {
            let url = config.database_url.clone();
            let (size, budget) = (config.db_pool_size, config.query_timeout);
            let read_url = config.database_read_url.clone();
            tokio::task::spawn_blocking(move || {
                let store = Store::open_with_budget(&url, size, budget)?;
                match &read_url {
                    Some(read_url) => store.with_replica(read_url, size),
                    None => Ok(store),
                }
            })
            .await?
            .map_err(|e| database_error(&config.database_url, e, "cannot open"))?
        };
        if let Some(read_url) = &config.database_read_url {
            tracing::info!(replica = %read_url, "figures, lists, search and export read from the replica");
        }
        let env_api_key_hash = config
            .api_key
            .as_ref()
            .map(|k| hash_secret(k.expose_secret()));
        let created = bootstrap(&store, &clock, env_api_key_hash.is_some())
            .await
            .map_err(|e| database_error(&config.database_url, e, "cannot write to"))?;
        if let Some(CreatedKey(key)) = created {
            // Printed once, on purpose: it is the only time the key exists outside the client.
            println!("npsd: created an API key (shown only now, store it safely): {key}");
        }

        let listener = TcpListener::bind(config.bind)
            .with_context(|| format!("NPSD_BIND: cannot listen on {}", config.bind))?;
        let addr = listener.local_addr()?;
        let public_url = match &config.public_url {
            Some(u) => u.as_str().trim_end_matches('/').to_string(),
            None => format!("http://{addr}"),
        };
        let mailer = Mailer::from_config(&config)?;
        let wake = Arc::new(Notify::new());
        let message_id_domain = config.mail_from.email.domain().to_string();
        let dispatcher = Dispatcher::new(
            store.clone(),
            mailer.clone(),
            clock.clone(),
            config.dispatcher.clone(),
            public_url.clone(),
            config.mail_from.clone(),
            wake.clone(),
        );
        let cookie_key = {
            let now = clock.now();
            store
                .write(move |c| {
                    crate::store::users::shared_secret(
                        c,
                        "cookie_key",
                        crate::http::dashboard::DashboardState::new_key_hex,
                        now,
                    )
                })
                .await
                .map_err(|e| database_error(&config.database_url, e, "cannot write to"))?
        };
        let dashboard = crate::http::dashboard::DashboardState::new(
            &cookie_key,
            public_url.starts_with("https://"),
        )?;
        let app = npsd_app::App {
            store: store.clone(),
            clock,
            public_url: public_url.clone(),
            message_id_domain,
            dispatcher_wake: wake,
            webhooks: config.webhooks.clone(),
        };
        let state = web::Data::new(AppState {
            app: app.clone(),
            keys: crate::http::api::auth::KeyRing::new(env_api_key_hash.clone()),
            failures: crate::http::limits::FailureLimiter::new(config.auth_failure_limit),
            embed_limits: crate::http::embed::limits::AnswerLimiter::new(
                config.embed_ip_limit,
                config.embed_survey_limit,
            ),
            embed_signature_max_age: chrono::Duration::from_std(config.embed_signature_max_age)
                .unwrap_or(chrono::Duration::days(1)),
            dashboard,
        });
        let connections = http::connections::ConnectionLimit::new(config.connections_per_address);
        let body_deadline = http::connections::BodyDeadline(config.request_body_timeout);
        let server =
            HttpServer::new(move || {
                App::new()
                    // Inside the boundary, which shapes its refusals like every other error.
                    .wrap(actix_web::middleware::from_fn(http::connections::guard))
                    .wrap(actix_web::middleware::from_fn(http::boundary::boundary))
                    .wrap(TracingLogger::<RedactedRootSpan>::new())
                    .app_data(state.clone())
                    .app_data(body_deadline)
                    .app_data(web::FormConfig::default().limit(256 * 1024).error_handler(
                        |err, _| {
                            crate::http::pages::PageError::BadRequest(format!(
                                "The form could not be read: {err}"
                            ))
                            .into()
                        },
                    ))
                    .configure(http::routes)
            })
            .on_connect(move |io, data| connections.on_connect(io, data))
            .listen(listener)?
            // A client that closes its connection ends its request at once: the handler's future
            // is dropped, which stops its database read (`store::budget`).
            .h1_allow_half_closed(false)
            .disable_signals()
            // Open connections get the same grace as the messages in flight.
            .shutdown_timeout(config.dispatcher.shutdown_grace.as_secs())
            .run();
        tracing::info!(%addr, public_url = %public_url, mail = %mailer.describe(), "npsd listening");
        Ok(Application {
            port: addr.port(),
            server,
            dispatcher,
            public_url,
            store,
            app,
            shutdown_grace: config.dispatcher.shutdown_grace,
            dispatcher_enabled: config.dispatcher.enabled,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The dispatcher, to drive the outbox by hand (tests).
    pub fn dispatcher(&self) -> Dispatcher {
        self.dispatcher.clone()
    }

    /// Serves until the server is stopped (Ctrl-C / SIGTERM), with the dispatcher beside it unless
    /// NPSD_DISPATCHER=off. On stop, the dispatcher starts no new message, releases what it had
    /// claimed but not started, and gets the grace period to finish the messages in flight;
    /// whatever is still in flight then is released too, so nothing stays claimed.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let (stop, stopped) = watch::channel(false);
        let stop = Arc::new(stop);
        let dispatcher = self.dispatcher.clone();
        let mut task = self
            .dispatcher_enabled
            .then(|| AbortOnDrop(tokio::spawn(self.dispatcher.run(stopped.clone()))));
        // The projection runs on every instance, dispatcher or not; it only keeps the journal
        // short (figures read what it has not folded yet too), so stopping it at once loses nothing.
        // Webhook deliveries are background work like email: only where the dispatcher runs.
        let _webhooks = self.dispatcher_enabled.then(|| {
            AbortOnDrop(tokio::spawn(npsd_app::webhooks::run(
                self.app.clone(),
                stopped.clone(),
            )))
        });
        let _alerts = self.dispatcher_enabled.then(|| {
            AbortOnDrop(tokio::spawn(npsd_app::alerts::run(
                self.app.clone(),
                stopped.clone(),
            )))
        });
        let _projection = AbortOnDrop(tokio::spawn(npsd_app::projection::run(self.app, stopped)));
        // SIGTERM or Ctrl-C stops the dispatcher and the HTTP server at the same moment.
        let handle = self.server.handle();
        // One grace period from the signal, shared by the HTTP drain and the dispatcher.
        let signalled: Arc<std::sync::OnceLock<std::time::Instant>> = Arc::default();
        let on_signal = {
            let stop = stop.clone();
            let signalled = signalled.clone();
            AbortOnDrop(tokio::spawn(async move {
                shutdown_signal().await;
                let _ = signalled.set(std::time::Instant::now());
                tracing::info!(
                    "stopping: no new work is claimed, work in flight gets the grace period"
                );
                let _ = stop.send(true);
                handle.stop(true).await;
            }))
        };
        let result = self.server.await;
        let _ = stop.send(true);
        drop(on_signal);
        if let Some(task) = task.as_mut() {
            let grace = self.shutdown_grace;
            let left = signalled
                .get()
                .map_or(grace, |at| grace.saturating_sub(at.elapsed()));
            if tokio::time::timeout(left, &mut task.0).await.is_err() {
                task.0.abort();
                match dispatcher.release_held().await {
                    Ok(n) => tracing::warn!(released = n, "messages still in flight after the {grace:?} grace period were stopped and released; they will be sent again"),
                    Err(e) => tracing::error!(error = ?e, "could not release the outbox rows in flight; they are retried when their lease runs out"),
                }
            }
        }
        tracing::info!("npsd stopped");
        result.context("HTTP server failed")
    }
}

/// SIGTERM (what service managers send) or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("a SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Ends the dispatcher task when the future running the application is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A start-up failure of the database, naming the variable and the file or server, with the cause.
pub fn database_error(url: &DatabaseUrl, e: StoreError, doing: &str) -> anyhow::Error {
    let cause = format!("{:#}", anyhow::Error::new(e));
    let hint = if cause.contains("readonly") || cause.contains("read-only") {
        "; npsd writes to the file and creates -wal and -shm files beside it, so the file and its folder must be writable by this user"
    } else {
        ""
    };
    anyhow::anyhow!("NPSD_DATABASE_URL: {doing} the {url}: {cause}{hint}")
}

/// First start: the `default` survey, and an API key when none is configured or stored.
pub async fn bootstrap(
    store: &Store,
    clock: &SharedClock,
    env_key: bool,
) -> Result<Option<CreatedKey>, StoreError> {
    let now = clock.now();
    let created = store
        .write(move |c| {
            surveys::ensure_default(c, now)?;
            if env_key || api_keys::count_active(c)? > 0 {
                return Ok(None);
            }
            let key = new_api_key();
            api_keys::insert(
                c,
                "created on first start",
                &hash_secret(&key),
                &key_prefix(&key),
                &Scopes::all(),
                None,
                now,
            )?;
            Ok(Some(CreatedKey(key)))
        })
        .await?;
    Ok(created)
}
