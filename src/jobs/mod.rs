//! Background work beside the HTTP server.
pub mod dispatcher;
