//! Telling people from email security scanners.
//!
//! Scanners (Defender Safe Links, Proofpoint, Mimecast) open every link of an email, sometimes in a
//! headless browser, all within a second or two. The rule:
//! - two or more *different* score links opened within [`BURST_WINDOW_SECONDS`] of each other are
//!   a scanner's burst: not counted (kept for audit);
//! - the hidden trap link, which no person can see, marks the clicks within
//!   [`TRAP_WINDOW_SECONDS`] of it as a scanner's;
//! - a person who clicks again later (6, and twenty seconds later 8) changed their mind: the
//!   latest click counts, even after a scanner's burst;
//! - a POST of the form always counts and always wins.
use super::score::Score;
use chrono::{Duration, NaiveDateTime};

/// Different scores this close together are a machine, not a person changing their mind.
pub const BURST_WINDOW_SECONDS: i64 = 5;
/// Clicks this close to an opened trap link are the scanner that opened it.
pub const TRAP_WINDOW_SECONDS: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkEventKind {
    /// A GET of a score link.
    Click(Score),
    /// The hidden link no person can see.
    Trap,
    /// The form was posted.
    Submit(Score),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkEvent {
    pub kind: LinkEventKind,
    pub at: NaiveDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The answer counts with this score.
    Counted(Score),
    /// Looks like a scanner: kept for audit with the last clicked score, not counted.
    Bot { score: Score, reason: BotReason },
    /// Nothing to record (only the trap was opened).
    Nothing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotReason {
    ConflictingClicks,
    TrapLink,
}

impl BotReason {
    pub fn as_str(self) -> &'static str {
        match self {
            BotReason::ConflictingClicks => "conflicting_clicks",
            BotReason::TrapLink => "trap_link",
        }
    }
}

/// Judges all events of one invitation, in any order.
pub fn assess(events: &[LinkEvent]) -> Verdict {
    if let Some(submit) = events
        .iter()
        .filter_map(|e| match e.kind {
            LinkEventKind::Submit(s) => Some((e.at, s)),
            _ => None,
        })
        .max_by_key(|(at, _)| *at)
    {
        return Verdict::Counted(submit.1);
    }
    let Some((last_at, last_score)) = events
        .iter()
        .filter_map(|e| match e.kind {
            LinkEventKind::Click(s) => Some((e.at, s)),
            _ => None,
        })
        .max_by_key(|(at, _)| *at)
    else {
        return Verdict::Nothing;
    };
    let window = Duration::seconds(BURST_WINDOW_SECONDS);
    let near = |at: NaiveDateTime| (at - last_at).abs() <= window;
    let trap_window = Duration::seconds(TRAP_WINDOW_SECONDS);
    let trap = events
        .iter()
        .any(|e| e.kind == LinkEventKind::Trap && (e.at - last_at).abs() <= trap_window);
    if trap {
        return Verdict::Bot {
            score: last_score,
            reason: BotReason::TrapLink,
        };
    }
    // Any two different scores clicked within the window of each other, in the burst that ends
    // with the latest click, mark the visit as a scanner's.
    let mut burst: Vec<(NaiveDateTime, Score)> = events
        .iter()
        .filter_map(|e| match e.kind {
            LinkEventKind::Click(s) => Some((e.at, s)),
            _ => None,
        })
        .collect();
    burst.sort_by_key(|(at, _)| *at);
    let mut start = burst.len() - 1;
    while start > 0 && burst[start].0 - burst[start - 1].0 <= window {
        start -= 1;
    }
    let burst = &burst[start..];
    let conflicting = burst
        .windows(2)
        .any(|pair| pair[0].1 != pair[1].1 && pair[1].0 - pair[0].0 <= window)
        || burst.iter().any(|(at, s)| *s != last_score && near(*at));
    if conflicting {
        Verdict::Bot {
            score: last_score,
            reason: BotReason::ConflictingClicks,
        }
    } else {
        Verdict::Counted(last_score)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn t(secs: i64) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 1, 1)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
            + Duration::seconds(secs)
    }
    fn click(score: i64, at: i64) -> LinkEvent {
        LinkEvent {
            kind: LinkEventKind::Click(Score::new(score).unwrap()),
            at: t(at),
        }
    }
    fn s(v: i64) -> Score {
        Score::new(v).unwrap()
    }

    #[test]
    fn one_click_counts() {
        assert_eq!(assess(&[click(9, 0)]), Verdict::Counted(s(9)));
        assert_eq!(assess(&[click(9, 0), click(9, 5)]), Verdict::Counted(s(9)));
    }

    #[test]
    fn a_scanner_opening_every_link_is_a_bot() {
        let events: Vec<_> = (0..=10).map(|i| click(i, i)).collect();
        assert!(matches!(
            assess(&events),
            Verdict::Bot {
                reason: BotReason::ConflictingClicks,
                ..
            }
        ));
        assert!(matches!(
            assess(&[click(3, 0), click(9, 2)]),
            Verdict::Bot { .. }
        ));
    }

    #[test]
    fn changing_ones_mind_later_counts() {
        assert_eq!(assess(&[click(3, 0), click(9, 61)]), Verdict::Counted(s(9)));
        // A person who clicks 6 and, twenty seconds later, 8.
        assert_eq!(assess(&[click(6, 0), click(8, 20)]), Verdict::Counted(s(8)));
        assert_eq!(assess(&[click(6, 0), click(8, 6)]), Verdict::Counted(s(8)));
        // A scanner burst at delivery does not spoil the person's click an hour later.
        let mut events: Vec<_> = (0..=10).map(|i| click(i, i)).collect();
        events.push(click(7, 3600));
        assert_eq!(assess(&events), Verdict::Counted(s(7)));
    }

    #[test]
    fn the_trap_link_marks_nearby_clicks() {
        let trap = LinkEvent {
            kind: LinkEventKind::Trap,
            at: t(2),
        };
        assert!(matches!(
            assess(&[click(8, 0), trap]),
            Verdict::Bot {
                reason: BotReason::TrapLink,
                ..
            }
        ));
        assert_eq!(assess(&[trap]), Verdict::Nothing);
    }

    #[test]
    fn a_post_always_wins() {
        let submit = LinkEvent {
            kind: LinkEventKind::Submit(s(6)),
            at: t(3),
        };
        let trap = LinkEvent {
            kind: LinkEventKind::Trap,
            at: t(1),
        };
        assert_eq!(
            assess(&[click(1, 0), click(10, 1), trap, submit]),
            Verdict::Counted(s(6))
        );
        assert_eq!(assess(&[submit, click(2, 30)]), Verdict::Counted(s(6)));
    }
}
