//! Logs: `NPSD_LOG` (or `RUST_LOG`) sets the filter, default `info`; `NPSD_LOG_FORMAT` the shape.
//! Text is coloured only on a terminal, so a log file or a pipe gets no escape codes; JSON is one
//! object per line (`timestamp`, `level`, `message`, the event's fields and its spans) for log
//! collectors.
//!
//! actix-web logs failed extractions at DEBUG with the request path, and paths hold link tokens
//! (`/r/{token}`) and addresses: its own logs stay at INFO and above whatever the filter asks for.
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// How log lines are written (`NPSD_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One line of text per event, coloured on a terminal.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// `text` or `json`, in any case.
    pub fn parse(raw: &str) -> Option<LogFormat> {
        match raw.to_ascii_lowercase().as_str() {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }
}

/// Text logs (the tests' choice).
pub fn init() {
    init_with(LogFormat::Text)
}

/// Logs to standard output in `format`, filtered by `NPSD_LOG` (or `RUST_LOG`).
pub fn init_with(format: LogFormat) {
    let filter = std::env::var("NPSD_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_string());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter_for(&filter))
        .with_target(false)
        .with_writer(std::io::stdout);
    let _ = match format {
        LogFormat::Text => logs.with_ansi(std::io::stdout().is_terminal()).try_init(),
        LogFormat::Json => logs
            .with_ansi(false)
            .json()
            // `message` beside `level`, not inside `fields`; the request's span as `spans`.
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .try_init(),
    };
}

/// The operator's filter, with the libraries that log request paths held above DEBUG.
pub fn filter_for(spec: &str) -> EnvFilter {
    let mut filter = EnvFilter::new(spec);
    for directive in ["actix_web=info", "actix_http=info", "actix_server=warn"] {
        filter = filter.add_directive(directive.parse().expect("a valid directive"));
    }
    filter
}
