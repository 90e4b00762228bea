//! Background work beside the HTTP server: one worker loop over the outbox (`worker`), the outbox
//! as a queue of leased jobs (`queue`), and the kinds of job (`kind`: the trait; `survey_email`,
//! `digest`: one file each).
pub mod digest;
pub mod digest_by_hand;
pub(crate) mod kind;
pub(crate) mod queue;
pub mod survey_email;
pub mod worker;

pub use worker::Dispatcher;
