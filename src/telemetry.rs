//! Logs: `NPSD_LOG` (or `RUST_LOG`) sets the filter, default `info`.
use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = std::env::var("NPSD_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info,actix_server=warn".to_string());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_target(false)
        .try_init();
}
