//! The states rows move through, as types: a status is one of these, never a free string.
//! Stored as their lower-case names (`state_sql` maps them to TEXT on both backends).
use std::fmt;

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownState;

            fn from_str(s: &str) -> Result<Self, UnknownState> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(UnknownState(format!("{} '{}'", stringify!($name), other))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A stored state this build does not know (a newer version wrote it, or a hand edit).
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown state {0}")]
pub struct UnknownState(pub String);

text_enum!(
    /// An outbox job's life: pending until sent, failed for good, or cancelled before sending.
    OutboxStatus {
        Pending => "pending",
        Sent => "sent",
        Failed => "failed",
        Cancelled => "cancelled",
    }
);

text_enum!(
    /// What an outbox job does: a survey email, one recipient's digest; room for webhooks.
    JobKind {
        SurveyEmail => "survey_email",
        Digest => "digest",
    }
);

text_enum!(
    /// An invitation: one transaction's survey email.
    InvitationStatus {
        Scheduled => "scheduled",
        Sent => "sent",
        Failed => "failed",
        Skipped => "skipped",
    }
);

text_enum!(
    /// Whether a response counts in the NPS.
    ResponseStatus {
        Counted => "counted",
        /// A scanner's visit: kept for audit, not counted.
        Bot => "bot",
    }
);

text_enum!(
    /// How an answer came in: an email's score link, the embedded form (widget or iframe page),
    /// the Delighted-compatible API (`POST /v1/survey_responses`), or an imported history.
    Channel {
        Email => "email",
        Web => "web",
        Api => "api",
        Import => "import",
    }
);

text_enum!(
    /// A digest record: its recipients' jobs are queued, or it paused (silent too long).
    DigestStatus {
        Queued => "queued",
        Paused => "paused",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back_as_itself() {
        for s in OutboxStatus::ALL {
            assert_eq!(s.as_str().parse::<OutboxStatus>().unwrap(), *s);
        }
        for s in InvitationStatus::ALL {
            assert_eq!(s.to_string().parse::<InvitationStatus>().unwrap(), *s);
        }
        for s in ResponseStatus::ALL {
            assert_eq!(s.as_str().parse::<ResponseStatus>().unwrap(), *s);
        }
        for s in Channel::ALL {
            assert_eq!(s.as_str().parse::<Channel>().unwrap(), *s);
        }
        assert!("sending".parse::<OutboxStatus>().is_err());
    }
}
