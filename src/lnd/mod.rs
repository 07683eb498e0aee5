//! (filled in by its issue)

pub mod error;
pub mod tls;
