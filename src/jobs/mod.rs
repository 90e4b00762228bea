//! Background work beside the HTTP server.
pub mod dispatcher;
pub mod digest;
pub mod digest_by_hand;
