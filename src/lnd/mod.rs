//! (filled in by its issue)

pub mod error;
pub mod macaroon;
pub mod source;
pub mod tls;
