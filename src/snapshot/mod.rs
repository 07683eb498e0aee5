//! Offline snapshots: a [`NodeSnapshot`](crate::model::NodeSnapshot) read from files instead of
//! from a live node.
//!
//! * [`lncli`]: the JSON that `lncli listchannels`, `getinfo`, `pendingchannels` and
//!   `feereport` print, across LND versions.
//! * [`json`]: path-aware reading of loosely typed JSON, so every complaint names its place.

pub mod json;
pub mod lncli;
