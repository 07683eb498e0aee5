//! Talking to LND over gRPC.
//!
//! * [`pb`]: the generated `lnrpc` types and client/server stubs, quarantined here (and used by
//!   `crate::sim`); they never leak into the rest of the crate.
//!
//! The wire layer is checked against bytes serialized by LND itself in `tests/lnd_wire.rs`.

pub mod pb;

pub mod error;
pub mod macaroon;
pub mod source;
pub mod tls;
