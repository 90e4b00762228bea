//! The command line.
use clap::{Parser, Subcommand};

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
}
