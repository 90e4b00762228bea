//! Which responses a figure counts.
use crate::state::Channel;
use chrono::NaiveDateTime;
use npsd_domain::insight::PropertyFilter;

/// Which responses a figure counts: a period, a channel, only verified ones, property segments.
#[derive(Debug, Clone, Default)]
pub struct ResponseFilter {
    pub from: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    pub channel: Option<Channel>,
    /// Some(true): only answers whose identity the site signed; Some(false): only the others.
    pub verified: Option<bool>,
    /// `property.plan=pro`: only responses whose transaction (or web answer) has these properties.
    pub properties: PropertyFilter,
}

impl ResponseFilter {
    /// The same filter over another range.
    pub fn between(&self, from: NaiveDateTime, until: NaiveDateTime) -> ResponseFilter {
        ResponseFilter {
            from: Some(from),
            until: Some(until),
            ..self.clone()
        }
    }

    /// Whether the per-hour tallies can answer it (they know survey, hour and channel only).
    pub fn tallied(&self) -> bool {
        self.verified.is_none() && self.properties.is_empty()
    }
}
