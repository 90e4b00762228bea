//! npsd: a self-hosted Net Promoter Score service.
// diesel's boxed, grouped queries over two backends nest deep types.
#![recursion_limit = "512"]
pub mod cli;
pub mod compat;
pub mod config;
pub mod domain;
pub mod error;
pub mod fuzzing;
pub mod http;
pub mod import;
pub mod jobs;
pub mod mail;
pub mod startup;
pub mod store;
pub mod telemetry;
