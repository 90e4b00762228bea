//! Background work beside the HTTP server: one worker loop over the outbox (`dispatcher`: claim,
//! lease, outcome) and the kinds of job it runs (`survey_email`, `digest`).
pub mod digest;
pub mod digest_by_hand;
pub mod dispatcher;
pub mod survey_email;
