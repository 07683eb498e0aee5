//! The command lines an action carries ([`Command`]) and its [`Alternative`]s.

use serde::{Deserialize, Serialize};

/// A command line that carries an action (or an alternative) out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    /// `lncli`, `bos`, `loop` or `lnd.conf`.
    pub tool: String,
    pub line: String,
    pub purpose: String,
}

/// Another way to reach the same goal, with its own cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alternative {
    pub description: String,
    pub cost_sat: u64,
    pub cost_formula: String,
    pub commands: Vec<Command>,
}
