//! dustwatch: watches an LND node's channels for dust, fee exposure and force-close risk,
//! and plans what to do about it. It never moves funds.
//!
//! # Layout
//!
//! ```text
//! LND gRPC ──► lnd::client ──► lnd::convert ──► NodeSnapshot ─┐
//! lncli JSON ─► snapshot::lncli ─────────────────► NodeSnapshot ─┤
//! sim (simulated LND) speaks the same gRPC as LND                │
//!                                                                ▼
//!                      dust (BOLT 3 math, pure) ◄── analyze (pure) ──► plan::Plan
//!                                                                │
//!                          sink::plan_file · sink::alerts · sink::metrics
//! ```
//!
//! * [`model`]: the domain types every producer fills and the analyzer reads; no protobuf types.
//! * [`dust`]: BOLT 3 trimming, commitment fees, fee exposure, fee-spike what-ifs, force-close cost.
//! * [`analyze`]: pure `analyze(&NodeSnapshot, &AnalysisSettings, previous) -> Plan` (only the
//!   `[analysis]` part of the settings reaches the pure core). `previous` is a
//!   [`plan::PlanDigest`] of the previous plan, not the `Option<&Plan>` design.md §1 names: the
//!   analyzer needs only its action ids, `generated_at` and channels with outgoing dust, and a
//!   10,000-channel plan is tens of MB in memory, so the daemon keeps (and streams from
//!   `latest.json`) the digest, never the previous plan. Per-channel stages run on every core
//!   (rayon); the result does not depend on the thread count.
//! * [`plan`]: the plan document (schema v1), its diff against the previous plan, its digest;
//!   action words are written out when read ([`plan::text`]).
//! * [`snapshot`]: offline snapshots read from `lncli` JSON.
//! * [`lnd`]: the gRPC client (pinned TLS, macaroon), generated code quarantined in `lnd::pb`,
//!   and the proto → model conversion.
//! * [`sim`]: a simulated LND speaking the real lnrpc wire format, for the demo and tests.
//! * [`sink`]: plan files, alert events, metrics.
//! * [`daemon`]: the poll loop (interval, channel events, backoff, reload, shutdown, sd_notify).
//! * [`settings`]: the validated configuration with its defaults; [`config`] loads it.
//! * [`commands`]: one module per CLI command (run, once, analyze, demo, sim, plan show/diff),
//!   each gathering its input, calling the core and writing output.
//! * [`config`], [`cli`], [`logging`]: the edges `main` wires together.
#![forbid(unsafe_code)]

pub mod analyze;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod dust;
pub mod escape;
pub mod lnd;
pub mod logging;
pub mod model;
pub mod plan;
pub mod settings;
pub mod sim;
pub mod sink;
pub mod snapshot;
#[doc(hidden)]
pub mod testkit;
