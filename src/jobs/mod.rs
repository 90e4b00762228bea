//! Background work beside the HTTP server.
pub mod digest;
pub mod digest_by_hand;
pub mod dispatcher;
