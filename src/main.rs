use clap::Parser;
use npsd::cli::{Cli, Command};
use npsd::config::Config;
use npsd::startup::Application;
use std::process::ExitCode;

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // The configuration first: it says how to log (NPSD_LOG_FORMAT); its own errors need no log.
    let config = match Config::load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("npsd: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    npsd::telemetry::init_with(config.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => match Application::build(config).await {
            Ok(app) => app.run_until_stopped().await,
            Err(e) => Err(e),
        },
        Command::Migrate => npsd::store::run_migrations(&config.database_url)
            .map(|_| println!("npsd: database is up to date"))
            .map_err(|e| npsd::startup::database_error(&config.database_url, e, "cannot migrate")),
        Command::Backup { ref file } => {
            let shown = file.display().to_string();
            npsd::cli::run_admin(Command::Backup { file: file.clone() }, &config)
                .await
                .map(|_| println!("npsd: wrote a consistent copy of the database to {shown}"))
        }
        other => npsd::cli::run_admin(other, &config).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the context chain, without the trailing newline libpq adds.
            eprintln!("npsd: {}", format!("{e:#}").trim_end().replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
