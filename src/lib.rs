//! npsd: a self-hosted Net Promoter Score service.
// diesel's boxed, grouped queries over two backends nest deep types.
#![recursion_limit = "512"]
pub mod cli;
pub mod config;
pub use npsd_domain as domain;
// Fuzz entry points: built for `fuzz/` (feature `fuzzing`) and for the tests that run them on seeds.
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod http;
pub mod import;
pub mod jobs;
pub mod mail;
pub mod startup;
pub use npsd_store as store;
pub mod telemetry;
pub mod views;
