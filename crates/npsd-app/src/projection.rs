//! The projection: folds the tally journal into the tallies, in batches, for as long as the
//! service runs (every instance runs one; on PostgreSQL one folds at a time, see
//! `npsd_store::journal`). Figures never wait for it: they read the tallies plus the journal not
//! folded yet. It keeps the journal short, so that those reads stay cheap. Beside it, on
//! PostgreSQL, it refreshes the statistics of tables that have doubled since they were taken.
use crate::App;
use std::time::Duration;
use tokio::sync::watch;

/// How long the projection sleeps when the journal was empty.
const IDLE: Duration = Duration::from_millis(200);
/// How often it looks for tables that outgrew their statistics (`journal::analyze_grown`).
const ANALYZE_EVERY: Duration = Duration::from_secs(2);
/// How long it waits after a failed fold (the database away) before trying again.
const AFTER_FAILURE: Duration = Duration::from_secs(1);

/// Folds until `stop` turns true: again at once while a fold takes a full batch, every [`IDLE`]
/// otherwise.
pub async fn run(app: App, mut stop: watch::Receiver<bool>) {
    let mut last_analyze = std::time::Instant::now() - ANALYZE_EVERY;
    while !*stop.borrow() {
        if last_analyze.elapsed() >= ANALYZE_EVERY {
            last_analyze = std::time::Instant::now();
            match app.store.read(npsd_store::journal::analyze_grown).await {
                Ok(tables) if !tables.is_empty() => {
                    tracing::debug!(?tables, "fresh statistics for tables that doubled")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "checking the tables' statistics failed"),
            }
        }
        let pause = match app.store.fold_journal().await {
            Ok(n) if n >= npsd_store::journal::FOLD_BATCH as usize => Duration::ZERO,
            Ok(_) => IDLE,
            Err(e) => {
                tracing::warn!(error = %e, "folding the tally journal failed; trying again");
                AFTER_FAILURE
            }
        };
        if !pause.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => {}
            }
        }
    }
}
