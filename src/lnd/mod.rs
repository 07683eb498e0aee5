//! Talking to LND over gRPC.
//!
//! * [`pb`]: the generated `lnrpc` types and client/server stubs, quarantined here (and used by
//!   `crate::sim`); they never leak into the rest of the crate.
//! * [`convert`]: the only bridge from those wire types to [`crate::model`]. It never panics on
//!   odd values from LND (negative amounts, unknown enum numbers from a newer LND): it clamps,
//!   records a [`crate::model::SnapshotWarning`], and keeps every other channel.
//!
//! * [`client`]: one node's connection and snapshot; [`tls`] pins LND's certificate,
//!   [`macaroon`] sends the credential, [`error`] decides transient vs fatal, and [`source`] is
//!   the `NodeSource` seam the daemon (and its tests) fetch through.
//! * [`flow_store`]: the forwards of the long flow window, kept between cycles so each cycle
//!   fetches only new ones ([`convert_flow`] converts them).
//!
//! The wire layer is checked against bytes serialized by LND itself in `tests/lnd_wire.rs`.

pub mod convert;
pub mod convert_flow;
pub mod pb;

pub mod client;
pub mod error;
pub mod flow_store;
pub mod macaroon;
pub mod source;
pub mod tls;
