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
        /// An alert rule's message to one address (an answer, a summary, a follow-up).
        AlertEmail => "alert_email",
        /// The admins told that a webhook endpoint was disabled after failing for 24 hours.
        WebhookDisabledEmail => "webhook_disabled_email",
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

text_enum!(
    /// Why an invitation was skipped instead of sent (its own column, `skip_reason`; an SMTP
    /// server's reply to a failed send is `reason`).
    SkipReason {
        /// The address is suppressed (a bounce, a complaint, a request).
        Suppressed => "suppressed",
        /// The customer unsubscribed from the survey.
        Unsubscribed => "unsubscribed",
        /// Surveyed within the survey's throttle days.
        Throttled => "throttled",
        /// Cancelled through the API before its email went out.
        Cancelled => "cancelled",
    }
);

text_enum!(
    /// Why an address is suppressed.
    SuppressionReason {
        /// The address bounced.
        Bounce => "bounce",
        /// The recipient marked an email as spam.
        Complaint => "complaint",
        /// Someone asked for it.
        Manual => "manual",
    }
);

impl SuppressionReason {
    /// Reads a reason as a person gives it (the API, the CLI): `field` is named in the error.
    pub fn parse(
        field: &str,
        raw: &str,
    ) -> Result<SuppressionReason, npsd_domain::ValidationError> {
        raw.trim().parse().map_err(|_| {
            npsd_domain::ValidationError::new(
                field,
                format!(
                    "'{}' is not a reason; use bounce, complaint or manual",
                    raw.trim()
                ),
            )
        })
    }
}

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
        for s in SkipReason::ALL {
            assert_eq!(s.as_str().parse::<SkipReason>().unwrap(), *s);
        }
        for s in SuppressionReason::ALL {
            assert_eq!(SuppressionReason::parse("reason", s.as_str()).unwrap(), *s);
        }
        assert!("sending".parse::<OutboxStatus>().is_err());
        let e = SuppressionReason::parse("reason", " spam ").unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.message.as_str()),
            (
                "reason",
                "'spam' is not a reason; use bounce, complaint or manual"
            )
        );
    }
}
