//! The command line: `serve` (the default), `migrate`, and the operator's commands that work on
//! the database directly (`keys`, `users`, `suppress`, `backup`, `digest`, `import`), so they work
//! with the service stopped. Only `serve` and `migrate` create a database; the others refuse when
//! there is none, naming the database they looked for.
//! (Over 400 lines: the clap definitions of every command and their short bodies; each body
//! calls an operation or a module, so the file is a table of contents.)
use crate::config::Config;
use crate::domain::access::parse_key_name;
use crate::domain::access::Scopes;
use crate::domain::email::EmailAddress;
use crate::store::existing::OpenExistingError;
use crate::store::state::SuppressionReason;
use crate::store::{DatabaseUrl, Store};
use crate::views::{ApiKeyView, CreatedKeyView};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "npsd",
    version,
    about = "Self-hosted Net Promoter Score service"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server and the email dispatcher (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create, list and revoke API keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Suppress an address for every survey (`npsd suppress ann@example.com --reason bounce`),
    /// list suppressions, or lift one.
    Suppress(SuppressArgs),
    /// Render or send one survey's NPS digest by hand.
    Digest {
        /// The survey's slug.
        #[arg(long)]
        survey: String,
        /// 2026-W47 (a week), 2026-11-25 (a day) or 2026-11 (a month); default: the period that
        /// just ended.
        #[arg(long)]
        period: Option<String>,
        /// Send to this address only; the period is not marked as sent.
        #[arg(long)]
        to: Option<String>,
        /// Print the text part and write the HTML part to a file; send nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Add, list and remove the people who sign in to the dashboard.
    Users {
        #[command(subcommand)]
        action: UsersAction,
    },
    /// Import a history of answers from a CSV file: `npsd import delighted --survey SLUG FILE`
    /// (Delighted's export) or `npsd import csv --survey SLUG FILE` (email, score, comment,
    /// responded_at and property columns). Running it again adds nothing.
    Import {
        #[command(subcommand)]
        format: ImportFormat,
    },
    /// Write a consistent copy of the SQLite database to FILE, also while the service runs.
    Backup {
        /// Where the copy goes; it must not exist yet.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Create a key; it is printed once, only its hash is kept.
    Create {
        #[arg(long)]
        name: String,
        /// ingest, read or admin; repeat or separate with commas.
        #[arg(
            long = "scope",
            alias = "scopes",
            value_delimiter = ',',
            required = true
        )]
        scopes: Vec<String>,
        /// The survey the key's Delighted-compatible requests (/v1/...) use; default: `default`.
        #[arg(long)]
        survey: Option<String>,
        /// Print the API's JSON answer instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List keys (never the keys themselves).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by its id.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
pub enum ImportFormat {
    /// Delighted's CSV export of survey responses.
    Delighted(ImportArgs),
    /// A plain CSV: email, score, comment, responded_at, and any property columns.
    Csv(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The survey the answers belong to.
    #[arg(long, default_value = crate::domain::survey::DEFAULT_SLUG)]
    pub survey: String,
    /// The CSV file.
    pub file: PathBuf,
    /// Record events (response.created, comment.added) for the imported answers, so that
    /// webhooks and alerts see them; by default an import records none.
    #[arg(long)]
    pub events: bool,
}

#[derive(Debug, Subcommand)]
pub enum UsersAction {
    /// Add a user. Without --password-stdin it prints a one-time sign-in link that sets a
    /// password.
    Add {
        email: String,
        /// admin (also changes things) or viewer (reads).
        #[arg(long, default_value = "viewer")]
        role: String,
        /// Read the password from standard input (one line): at least 12 characters, not only
        /// spaces, and not easy to guess (no common password, word or keyboard row).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a user; their sessions end at once.
    Remove { email: String },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SuppressArgs {
    #[command(subcommand)]
    pub action: Option<SuppressAction>,
    /// The address to suppress.
    pub email: Option<String>,
    /// bounce, complaint or manual.
    #[arg(long, default_value = "manual")]
    pub reason: String,
}

#[derive(Debug, Subcommand)]
pub enum SuppressAction {
    /// Suppress an address.
    Add {
        email: String,
        #[arg(long, default_value = "manual")]
        reason: String,
    },
    /// List suppressed addresses, oldest first.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Lift a suppression.
    Remove { email: String },
}

/// Runs one of the operator's commands against the configured database.
pub async fn run_admin(command: Command, config: &Config) -> anyhow::Result<()> {
    if let Command::Backup { file } = &command {
        let url = config.database_url.clone();
        let file = file.clone();
        return tokio::task::spawn_blocking(move || {
            crate::store::backup::sqlite_backup(&url, &file)
        })
        .await?;
    }
    let store = {
        let url = config.database_url.clone();
        tokio::task::spawn_blocking(move || Store::open_existing(&url, 1))
            .await?
            .map_err(|e| open_error(&config.database_url, e))?
    };
    let result = admin_command(command, config, store.clone()).await;
    // Every write answered and every connection closed before the process exits.
    let _ = tokio::task::spawn_blocking(move || store.close()).await;
    result
}

/// The operations as the command line runs them: the system's clock, links at `NPSD_PUBLIC_URL`
/// (or the bind address), and no dispatcher in this process to wake.
fn operations(config: &Config, store: &Store) -> npsd_app::App {
    npsd_app::App {
        store: store.clone(),
        clock: std::sync::Arc::new(crate::domain::clock::SystemClock),
        public_url: match &config.public_url {
            Some(u) => u.as_str().trim_end_matches('/').to_string(),
            None => format!("http://{}", config.bind),
        },
        message_id_domain: config.mail_from.email.domain().to_string(),
        dispatcher_wake: std::sync::Arc::new(tokio::sync::Notify::new()),
        webhooks: config.webhooks.clone(),
    }
}

/// Why an operator's command found no database to work on, and how to point it at the right one.
fn open_error(url: &DatabaseUrl, e: OpenExistingError) -> anyhow::Error {
    const WHERE: &str = "set NPSD_DATABASE_URL to the service's database, or run npsd in the \
                         folder of the service's npsd.toml";
    match e {
        OpenExistingError::Missing(_) => {
            anyhow::anyhow!("{e} ({WHERE}; only `npsd serve` and `npsd migrate` create a database)")
        }
        OpenExistingError::NotNpsd(_) => anyhow::anyhow!(
            "{e} ({WHERE}; `npsd migrate` sets up npsd's tables in a new, empty database)"
        ),
        OpenExistingError::Store(e) => crate::startup::database_error(url, e, "cannot open"),
    }
}

async fn admin_command(command: Command, config: &Config, store: Store) -> anyhow::Result<()> {
    match command {
        Command::Digest {
            survey,
            period,
            to,
            dry_run,
        } => {
            let args = crate::jobs::digest_by_hand::DigestArgs {
                survey,
                period,
                to,
                dry_run,
            };
            crate::jobs::digest_by_hand::run(args, config, store).await?;
        }
        Command::Keys { action } => match action {
            KeysAction::Create {
                name,
                scopes,
                survey,
                json,
            } => {
                let name = parse_key_name(&name)?;
                let scopes = Scopes::parse("--scope", &scopes)?;
                let survey = survey
                    .map(|s| crate::domain::survey::parse_slug("--survey", &s))
                    .transpose()?;
                let created =
                    npsd_app::keys::create(&operations(config, &store), name, scopes, survey)
                        .await
                        .map(CreatedKeyView::from)
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&created)?);
                } else {
                    println!(
                        "npsd: created API key '{}' (id {}, scopes {}); it is shown only now:",
                        created.key.name,
                        created.key.id,
                        created.key.scopes.join(",")
                    );
                    println!("{}", created.secret);
                }
            }
            KeysAction::List { json } => {
                let rows = npsd_app::keys::list(&operations(config, &store)).await?;
                let views: Vec<ApiKeyView> = rows
                    .iter()
                    .map(|(row, slug)| ApiKeyView::new(row, slug.as_deref()))
                    .collect();
                if json {
                    println!("{}", serde_json::to_string_pretty(&views)?);
                } else {
                    println!(
                        "{:<38} {:<14} {:<18} {:<26} {:<16} name",
                        "id", "prefix", "scopes", "revoked", "survey"
                    );
                    for v in views {
                        println!(
                            "{:<38} {:<14} {:<18} {:<26} {:<16} {}",
                            v.id,
                            v.prefix,
                            v.scopes.join(","),
                            v.revoked_at.as_deref().unwrap_or("-"),
                            v.survey,
                            v.name
                        );
                    }
                }
            }
            KeysAction::Revoke { id } => {
                npsd_app::keys::revoke(&operations(config, &store), id.clone()).await?;
                println!("npsd: revoked API key {id}");
            }
        },
        Command::Suppress(args) => {
            let action = match (args.action, args.email) {
                (Some(a), _) => a,
                (None, Some(email)) => SuppressAction::Add {
                    email,
                    reason: args.reason,
                },
                (None, None) => anyhow::bail!(
                    "name an address (npsd suppress ann@example.com), or use 'list' or 'remove'"
                ),
            };
            match action {
                SuppressAction::Add { email, reason } => {
                    let email = EmailAddress::parse("email", &email)?;
                    let reason = SuppressionReason::parse("--reason", &reason)?;
                    let shown = email.to_string();
                    let (row, created) =
                        npsd_app::suppressions::add(&operations(config, &store), email, reason)
                            .await?;
                    if created {
                        println!("npsd: suppressed {shown} ({})", row.reason);
                    } else {
                        println!("npsd: {shown} was suppressed already ({})", row.reason);
                    }
                }
                SuppressAction::List { json } => {
                    let rows =
                        npsd_app::suppressions::list(&operations(config, &store), None, i64::MAX)
                            .await?;
                    let views: Vec<_> = rows
                        .iter()
                        .map(crate::views::SuppressionView::from)
                        .collect();
                    if json {
                        println!("{}", serde_json::to_string_pretty(&views)?);
                    } else {
                        for v in views {
                            println!(
                                "{}\t{}\t{}",
                                v.email.as_deref().unwrap_or("(erased; kept as a hash)"),
                                v.reason,
                                v.created_at
                            );
                        }
                    }
                }
                SuppressAction::Remove { email } => {
                    let email = EmailAddress::parse("email", &email)?;
                    match npsd_app::suppressions::remove(&operations(config, &store), &email).await
                    {
                        Err(npsd_app::ServiceError::NotFound(_)) => {
                            anyhow::bail!("{email} is not suppressed")
                        }
                        other => other?,
                    }
                    println!("npsd: {email} is no longer suppressed");
                }
            }
        }
        Command::Users { action } => users_command(action, config, &store).await?,
        Command::Import { format } => {
            let (format, args) = match format {
                ImportFormat::Delighted(a) => (crate::import::columns::Format::Delighted, a),
                ImportFormat::Csv(a) => (crate::import::columns::Format::Plain, a),
            };
            crate::import::run(
                &operations(config, &store),
                format,
                &args.survey,
                &args.file,
                args.events,
            )
            .await?;
        }
        Command::Serve | Command::Migrate | Command::Backup { .. } => {
            unreachable!("handled by main")
        }
    }
    Ok(())
}

async fn users_command(action: UsersAction, config: &Config, store: &Store) -> anyhow::Result<()> {
    use crate::domain::user::{Password, Role};
    use npsd_app::users::{self, Added};
    let app = operations(config, store);
    match action {
        UsersAction::Add {
            email,
            role,
            password_stdin,
        } => {
            let email = EmailAddress::parse("email", &email)?;
            let role = Role::parse("--role", &role)?;
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                Some(Password::parse(
                    "password",
                    line.trim_end_matches(['\r', '\n']),
                )?)
            } else {
                None
            };
            let public_url = &app.public_url;
            match users::add(&app, &email, role, password).await? {
                Added::Created(user, Some(link)) => {
                    println!(
                        "npsd: added {} as {}. Send them this one-time sign-in link (valid 72 hours):",
                        user.email, user.role
                    );
                    println!("{link}");
                    if config.public_url.is_none() {
                        eprintln!(
                            "npsd: NPSD_PUBLIC_URL is not set, so the link assumes npsd's default address {public_url}; set NPSD_PUBLIC_URL to the address the team opens npsd at"
                        );
                    }
                }
                Added::Created(user, None) => {
                    println!(
                        "npsd: added {} as {}; they can sign in at /login",
                        user.email, user.role
                    )
                }
                Added::Exists => anyhow::bail!("{email} is a user already"),
            }
        }
        UsersAction::List { json } => {
            let rows = users::list(&app).await?;
            if json {
                let list: Vec<_> = rows
                    .iter()
                    .map(|u| {
                        serde_json::json!({
                            "email": u.email,
                            "role": u.role,
                            "password_set": u.password_hash.is_some(),
                            "created_at": crate::views::timestamp(u.created_at),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for u in rows {
                    println!(
                        "{}\t{}\t{}",
                        u.email,
                        u.role,
                        if u.password_hash.is_some() {
                            "password set"
                        } else {
                            "no password yet"
                        }
                    );
                }
            }
        }
        UsersAction::Remove { email } => {
            let email = EmailAddress::parse("email", &email)?;
            let removed = users::remove(&app, email.key()).await?;
            anyhow::ensure!(removed, "{email} is not a user");
            println!("npsd: removed {email}; their sessions have ended");
        }
    }
    Ok(())
}
