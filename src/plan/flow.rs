//! The plan's per-channel forwarding flow: what the advice about flow rests on.

use serde::{Deserialize, Serialize};

/// A channel's forwards in one window, in whole sat (fees in msat: most are below a sat).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FlowFigures {
    pub out_sat: u64,
    pub in_sat: u64,
    /// Fees earned by forwards that left through the channel.
    pub fee_msat: u64,
    pub forwards: u64,
}

/// A channel's flow over `analysis.flow_window` (judged) and 30 days (context only).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChannelFlowReport {
    /// Days the judgement covers: the window, or the channel's age when it is younger.
    pub days: f64,
    #[serde(flatten)]
    pub window: FlowFigures,
    /// The 30-day (or longer) context window.
    pub long: FlowFigures,
    /// Channel age from its funding block (absent when the block height is unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_days: Option<u32>,
}
