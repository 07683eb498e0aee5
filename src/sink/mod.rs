//! Sinks: where a finished plan goes. Each sink is an I/O edge that takes what the pure
//! analyzer produced and makes it visible to the operator; none of them feeds back into the
//! analysis.
//!
//! * [`alerts`]: alert transitions (raised, escalated, eased, cleared) as structured log events.
//! * [`plan_file`]: versioned JSON plan files on disk (atomic writes, `latest.json`, retention).
//! * [`previous_plan`]: the previous plan's digest, streamed from `latest.json` at start.
//! * [`metrics`]: Prometheus metrics derived from each node's plan, served over HTTP.

pub mod alerts;
pub mod metrics;
pub mod plan_file;
pub mod previous_plan;
