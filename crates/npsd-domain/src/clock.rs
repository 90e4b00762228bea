use chrono::{NaiveDateTime, SubsecRound, Utc};
use std::sync::Arc;

/// Where "now" comes from. Injected so that schedules (delays, leases, digests) can be tested.
pub trait Clock: Send + Sync + 'static {
    /// The current time in UTC.
    fn now(&self) -> NaiveDateTime;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> NaiveDateTime {
        // Microseconds: what PostgreSQL keeps, so both backends compare and page alike.
        (Utc::now().naive_utc() + test_shift()).trunc_subsecs(6)
    }
}

pub type SharedClock = Arc<dyn Clock>;

/// The variable that moves the wall clock of a debug build ahead by whole days.
pub const TEST_CLOCK_SHIFT_VARIABLE: &str = "NPSD_TEST_CLOCK_SHIFT_DAYS";

/// Test builds only: `NPSD_TEST_CLOCK_SHIFT_DAYS=N` moves the wall clock N days ahead, so that CI
/// can run the whole suite as if it were a year from now and prove that no test depends on the
/// day it runs. A release build ignores the variable: its clock is the system's.
fn test_shift() -> chrono::Duration {
    #[cfg(debug_assertions)]
    {
        static SHIFT: std::sync::OnceLock<chrono::Duration> = std::sync::OnceLock::new();
        *SHIFT.get_or_init(|| {
            std::env::var(TEST_CLOCK_SHIFT_VARIABLE)
                .ok()
                .and_then(|days| days.trim().parse::<i64>().ok())
                .and_then(chrono::Duration::try_days)
                .unwrap_or_else(chrono::Duration::zero)
        })
    }
    #[cfg(not(debug_assertions))]
    {
        chrono::Duration::zero()
    }
}
