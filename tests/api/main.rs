//! End-to-end tests: the app on a random port, a real SMTP server on another, a real database
//! (SQLite file and PostgreSQL), driven over HTTP as a shop, its customers and a mail server would.
mod helpers;
mod smtp;

mod access;
mod bots;
mod browser;
mod cli;
mod contention;
mod dashboard;
mod dashboard_browser;
mod delighted;
mod delivery;
mod digest;
mod email_path;
mod embed;
mod embed_browser;
mod hostile;
mod import;
mod ingest;
mod insights;
mod journal;
mod migrations;
mod openapi;
mod parameters;
mod privacy;
mod process;
mod reliability;
mod replica;
mod security_embed_signature;
mod security_erasure;
mod security_filters;
mod security_hardening;
mod security_sign_in;
pub mod spam;
mod surveys;
mod webhooks;
mod writer;
