//! Logs: `NPSD_LOG` (or `RUST_LOG`) sets the filter, default `info`.
//!
//! actix-web logs failed extractions at DEBUG with the request path, and paths hold link tokens
//! (`/r/{token}`) and addresses: its own logs stay at INFO and above whatever the filter asks for.
use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = std::env::var("NPSD_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_string());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter_for(&filter))
        .with_target(false)
        .try_init();
}

/// The operator's filter, with the libraries that log request paths held above DEBUG.
pub fn filter_for(spec: &str) -> EnvFilter {
    let mut filter = EnvFilter::new(spec);
    for directive in ["actix_web=info", "actix_http=info", "actix_server=warn"] {
        filter = filter.add_directive(directive.parse().expect("a valid directive"));
    }
    filter
}
