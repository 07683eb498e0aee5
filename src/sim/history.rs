//! The forwarding history a simulated node has when it starts: [`HISTORY_SECS`] of settled
//! forwards at the rate live ticks forward, shaped by each channel's [`FlowRole`] and never
//! before the channel's funding (its scid's block height on a ten-minute-block clock).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::forwards::{FlowRole, ForwardRecord};
use super::random::random_htlc_amount;
use super::scenario::Simulation;
use crate::model::{Channel, ForwardingEvent};

/// Most events the generated history holds, whatever the node's size: a 10,000-channel node
/// would otherwise start with millions (about 70 bytes each).
const MAX_HISTORY_EVENTS: usize = 200_000;

/// Idle channels' forwards stop this long before the simulation starts: they had flow, just
/// none in any current window of up to 20 days.
pub(super) const IDLE_SINCE_SECS: i64 = 20 * 86_400;

/// How far back the generated history reaches (more than the 30-day long window).
pub const HISTORY_SECS: i64 = 35 * 86_400;

/// When a channel's funding confirmed, on the simulated clock (ten minutes a block).
fn funded_unix(ch: &Channel, block_height: u32, now_unix: i64) -> i64 {
    let funding = crate::model::funding_block_height(ch.chan_id).unwrap_or(block_height);
    now_unix - i64::from(block_height.saturating_sub(funding)) * 600
}

/// The generated past forwards at this share of the live rate: the live rate keeps HTLCs in
/// flight for the demo, while a real routing node turns its capacity over a few percent a day,
/// and the advice is judged on the past week.
const HISTORY_RATE_SHARE: f64 = 0.1;

/// The routing fee a channel's own policy charges to forward `amount_msat` out through it.
fn policy_fee_msat(ch: &Channel, amount_msat: u64) -> u64 {
    let policy = ch.local_policy.unwrap_or_default();
    policy.fee_base_msat.max(0) as u64 + amount_msat * policy.fee_rate_ppm.max(0) as u64 / 1_000_000
}

impl Simulation {
    /// Fills the log with [`HISTORY_SECS`] of forwards at the rate live ticks forward, shaped
    /// by each channel's [`FlowRole`] (whose fee the channel's policy already follows) and
    /// never before the channel's funding.
    ///
    /// Uses its own seeded randomness, so the rest of the scenario does not depend on it.
    pub(super) fn generate_forwarding_history(&mut self, seed: u64) {
        let channels = &self.node.channels;
        let active = channels.iter().filter(|c| c.active).count();
        if active < 2 {
            return;
        }
        let mut rng = StdRng::seed_from_u64(seed ^ 0xf0d_f10e);
        let now = self.node.now_unix;
        let height = self.node.block_height;
        let per_minute = super::traffic::forwards_per_tick(active) * HISTORY_RATE_SHARE;
        let wanted = (per_minute * (HISTORY_SECS / 60) as f64) as usize;
        let count = wanted.min(MAX_HISTORY_EVENTS);
        let (mut out_cum, mut in_cum) = (Vec::new(), Vec::new());
        let (mut out_total, mut in_total) = (0.0, 0.0);
        for ch in channels {
            let (w_out, w_in) = FlowRole::of(ch.chan_id).weights(ch.chan_id);
            // Forwards find a channel in proportion to its capacity, as on a real node: a big
            // channel carries more, and turnover (flow per capacity) is what roles tell apart.
            let size = ch.capacity_sat as f64;
            let (w_out, w_in) = (w_out * size, w_in * size);
            out_total += w_out;
            in_total += w_in;
            out_cum.push(out_total);
            in_cum.push(in_total);
        }
        let pick = |rng: &mut StdRng, cum: &[f64], total: f64| {
            let x = rng.random_range(0.0..total);
            cum.partition_point(|&c| c <= x).min(cum.len() - 1)
        };
        let mut times: Vec<u64> = (0..count)
            .map(|_| {
                let secs = rng.random_range(now - HISTORY_SECS..now);
                secs as u64 * 1_000_000_000 + rng.random_range(0..1_000_000_000)
            })
            .collect();
        times.sort_unstable();
        let mut htlc_id = 0u64;
        for at_ns in times {
            let at = (at_ns / 1_000_000_000) as i64;
            // A few tries for a pair that could have forwarded then; otherwise no forward.
            for _ in 0..8 {
                let out = &channels[pick(&mut rng, &out_cum, out_total)];
                let inb = &channels[pick(&mut rng, &in_cum, in_total)];
                let could = |ch: &Channel| {
                    funded_unix(ch, height, now) <= at
                        && !(FlowRole::of(ch.chan_id).is_idle() && at >= now - IDLE_SINCE_SECS)
                };
                if out.chan_id == inb.chan_id || !could(out) || !could(inb) {
                    continue;
                }
                let amt_out_msat = random_htlc_amount(&mut rng, out.capacity_sat) * 1000;
                let fee_msat = policy_fee_msat(out, amt_out_msat);
                htlc_id += 1;
                self.node.forwards.record(ForwardRecord {
                    event: ForwardingEvent {
                        timestamp_ns: at_ns,
                        chan_id_in: inb.chan_id,
                        chan_id_out: out.chan_id,
                        amt_in_msat: amt_out_msat + fee_msat,
                        amt_out_msat,
                        fee_msat,
                    },
                    incoming_htlc_id: htlc_id,
                    outgoing_htlc_id: htlc_id,
                });
                break;
            }
        }
    }
}
