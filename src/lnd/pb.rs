//! Generated LND gRPC types and stubs (package `lnrpc`), built by `build.rs` from our own
//! trimmed protos in `proto/`.
//!
//! This module is the quarantine for generated code: nothing outside `src/lnd/` and `src/sim/`
//! may name these types; everyone else reads [`crate::model`] values produced by
//! [`crate::lnd::convert`]. Enum-typed fields are plain `i32` here (prost's choice), so a value
//! from a newer LND never fails to decode; converting it to a known variant is
//! `convert`'s job.
//!
//! * Services: [`lightning_client::LightningClient`], [`lightning_server::Lightning`] /
//!   [`lightning_server::LightningServer`], [`state_client::StateClient`],
//!   [`state_server::State`] / [`state_server::StateServer`].
//! * Messages are named as in LND (`Channel`, `ListChannelsResponse`, `GetInfoResponse`, ...);
//!   nested messages live in snake_case modules (`pending_channels_response::ForceClosedChannel`).
#![allow(
    clippy::all,
    clippy::pedantic,
    missing_docs,
    rustdoc::all,
    unreachable_pub,
    unused_qualifications
)]

tonic::include_proto!("lnrpc");

/// The path `routerrpc` names `lnrpc.Failure` by (`super::lnrpc::failure::FailureCode`).
pub mod lnrpc {
    pub use super::failure;
}

/// `routerrpc`: the HTLC event stream ([`routerrpc::router_client::RouterClient`],
/// [`routerrpc::router_server::Router`]).
pub mod routerrpc {
    #![allow(
        clippy::all,
        clippy::pedantic,
        missing_docs,
        rustdoc::all,
        unreachable_pub,
        unused_qualifications
    )]
    tonic::include_proto!("routerrpc");
}

/// The encoded `FileDescriptorSet` of `proto/lightning.proto` and `proto/stateservice.proto`,
/// for tools that interpret messages by descriptor (the wire conformance test does).
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/lnrpc_descriptor.bin"));
