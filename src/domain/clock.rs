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
        Utc::now().naive_utc().trunc_subsecs(6)
    }
}

pub type SharedClock = Arc<dyn Clock>;
