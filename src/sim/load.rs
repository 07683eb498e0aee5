//! Extra pending HTLCs on a generated node: the busy and the pathological nodes the
//! benchmarks measure.
//!
//! The generator gives a believable node (most channels idle, under two pending HTLCs per
//! channel on average). Benchmarks also need a busy node (about ten per channel) and a node
//! where some channels sit at BOLT 2's ceiling of 483 pending HTLCs. [`Simulation::add_htlc_load`]
//! adds them the way traffic would: every HTLC goes through [`accounting::add_htlc`], so the
//! offerer pays for it and keeps its reserve, the initiator pays the bigger commitment fee, and
//! every channel still satisfies the simulator's invariant (see [`accounting`]). A side never
//! gets more pending HTLCs than the other side accepts (`max_accepted_htlcs`).

use rand::seq::SliceRandom;
use rand::Rng;

use super::accounting;
use super::evolve::next_htlc_index;
use super::random::{random_htlc, random_htlc_amount, HtlcAge};
use super::scenario::Simulation;
use super::service::lock;
use super::SimHandle;
use crate::model::Channel;

/// BOLT 2's ceiling on `max_accepted_htlcs`: no channel carries more pending HTLCs than this
/// in one direction, and LND never accepts more than this in total.
pub const MAX_PENDING_HTLCS: usize = 483;

/// Refusals in a row after which a channel is taken as full (its offerers are at their
/// reserves even for a 1 sat HTLC).
const REFUSALS_BEFORE_FULL: usize = 4;

/// How many pending HTLCs to put on a node's open channels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HtlcLoad {
    /// Average pending HTLCs per channel over the channels that are not saturated (HTLCs
    /// already pending count). Channels differ: each draws its own target from an exponential
    /// distribution with this mean, so a few are busy and many carry one or two.
    pub mean_per_channel: f64,
    /// Share of the open channels (0 to 1) filled to [`MAX_PENDING_HTLCS`].
    pub saturated_share: f64,
}

/// What [`Simulation::add_htlc_load`] achieved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadReport {
    /// Open channels on the node.
    pub channels: usize,
    /// Pending HTLCs on all open channels afterwards.
    pub htlcs: usize,
    /// Channels carrying [`MAX_PENDING_HTLCS`] pending HTLCs afterwards.
    pub saturated_channels: usize,
    /// Average pending HTLCs per channel over the channels that are not saturated.
    pub mean_per_unsaturated_channel: f64,
}

impl Simulation {
    /// Adds pending HTLCs until the node carries `load` (as far as the channels' balances
    /// allow) and reports what it reached. Deterministic for a given scenario.
    pub fn add_htlc_load(&mut self, load: &HtlcLoad) -> LoadReport {
        let count = self.node.channels.len();
        let mut order: Vec<usize> = (0..count).collect();
        order.shuffle(&mut self.rng);

        let wanted_saturated = (load.saturated_share.clamp(0.0, 1.0) * count as f64).round();
        let wanted_saturated = wanted_saturated as usize;
        let mut saturated = vec![false; count];
        let mut saturated_count = 0;
        for &i in &order {
            if saturated_count == wanted_saturated {
                break;
            }
            // A channel whose balances cannot fund 483 HTLCs keeps what it got; the next
            // channel in the shuffled order is tried instead.
            if self.fill_channel(i, MAX_PENDING_HTLCS) == MAX_PENDING_HTLCS {
                saturated[i] = true;
                saturated_count += 1;
            }
        }

        let others: Vec<usize> = order.into_iter().filter(|&i| !saturated[i]).collect();
        let mean = load.mean_per_channel.max(0.0);
        let wanted_total = (mean * others.len() as f64).round() as usize;
        // Each channel's own target: exponential with the requested mean, within what is left
        // of the node's total.
        let mut total: usize = others.iter().map(|&i| self.htlcs_on(i)).sum();
        for &i in &others {
            let u: f64 = self.rng.random_range(f64::EPSILON..1.0);
            let has = self.htlcs_on(i);
            let target = ((-mean * u.ln()).round() as usize)
                .min(has + wanted_total.saturating_sub(total))
                .min(MAX_PENDING_HTLCS);
            if target > has {
                total += self.fill_channel(i, target) - has;
            }
        }
        // Top up one HTLC per channel per pass until the mean is reached or nothing fits.
        while total < wanted_total {
            let before = total;
            for &i in &others {
                if total == wanted_total {
                    break;
                }
                let has = self.htlcs_on(i);
                if has < MAX_PENDING_HTLCS && self.fill_channel(i, has + 1) > has {
                    total += 1;
                }
            }
            if total == before {
                break;
            }
        }

        let htlcs = (0..count).map(|i| self.htlcs_on(i)).sum();
        LoadReport {
            channels: count,
            htlcs,
            saturated_channels: (0..count)
                .filter(|&i| self.htlcs_on(i) == MAX_PENDING_HTLCS)
                .count(),
            mean_per_unsaturated_channel: if others.is_empty() {
                0.0
            } else {
                total as f64 / others.len() as f64
            },
        }
    }

    fn htlcs_on(&self, index: usize) -> usize {
        self.node.channels[index].pending_htlcs.len()
    }

    /// Adds HTLCs to channel `index` until it has `target` pending (or refuses more);
    /// returns how many it has.
    fn fill_channel(&mut self, index: usize, target: usize) -> usize {
        let mut refusals = 0;
        while self.htlcs_on(index) < target && refusals < REFUSALS_BEFORE_FULL {
            let slots_left = (target - self.htlcs_on(index)) as u64;
            if self.add_one_htlc(index, slots_left) {
                refusals = 0;
            } else {
                refusals += 1;
            }
        }
        self.htlcs_on(index)
    }

    /// Offers one more HTLC on channel `index`: in a random direction that still has room
    /// and whose offerer has something above its reserve, else in the other one. The amount
    /// is capped at the offerer's spare balance shared over the `slots_left` HTLCs still to
    /// add (so the balance lasts), and halved until the channel accepts it. False when
    /// nothing, not even 1 sat, fits either way.
    fn add_one_htlc(&mut self, index: usize, slots_left: u64) -> bool {
        let preferred = self.rng.random_bool(0.5);
        for incoming in [preferred, !preferred] {
            let ch = &self.node.channels[index];
            let spare = spare_to_offer(ch, incoming);
            if !has_room(ch, incoming) || spare == 0 {
                continue;
            }
            let share = (spare / slots_left.max(1)).max(1);
            let mut amount = random_htlc_amount(&mut self.rng, ch.capacity_sat).min(share);
            loop {
                let htlc_index = next_htlc_index(&self.node.channels[index], incoming);
                let htlc = random_htlc(
                    &mut self.rng,
                    incoming,
                    amount,
                    self.node.block_height,
                    htlc_index,
                    HtlcAge::InFlight,
                );
                if accounting::add_htlc(&mut self.node.channels[index], htlc, &self.dust).is_ok() {
                    return true;
                }
                if amount == 1 {
                    break;
                }
                amount /= 2;
            }
        }
        false
    }
}

impl SimHandle {
    /// [`Simulation::add_htlc_load`] on the served node.
    pub fn add_htlc_load(&self, load: &HtlcLoad) -> LoadReport {
        lock(&self.shared.sim).add_htlc_load(load)
    }
}

/// Whether one more HTLC in this direction stays within the accepting side's
/// `max_accepted_htlcs` (ours limits what the peer offers us, the peer's what we offer) and
/// within [`MAX_PENDING_HTLCS`] in total.
fn has_room(ch: &Channel, incoming: bool) -> bool {
    let limit = if incoming {
        ch.local_constraints
    } else {
        ch.remote_constraints
    }
    .map_or(MAX_PENDING_HTLCS, |c| c.max_accepted_htlcs as usize)
    .min(MAX_PENDING_HTLCS);
    let pending = ch
        .pending_htlcs
        .iter()
        .filter(|h| h.incoming == incoming)
        .count();
    pending < limit && ch.pending_htlcs.len() < MAX_PENDING_HTLCS
}

/// What the offering side (the peer for an incoming HTLC) holds above its reserve.
fn spare_to_offer(ch: &Channel, incoming: bool) -> u64 {
    if incoming {
        ch.remote_balance_sat
            .saturating_sub(ch.remote_chan_reserve_sat)
    } else {
        ch.local_balance_sat
            .saturating_sub(ch.local_chan_reserve_sat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::ScenarioConfig;

    fn scenario(channels: usize, seed: u64) -> Simulation {
        Simulation::generate(&ScenarioConfig {
            channels,
            seed,
            start_unix: 1_750_000_000,
            max_fee_exposure_sat: crate::sim::DEFAULT_MAX_FEE_EXPOSURE_SAT,
        })
    }

    #[test]
    fn a_busy_node_reaches_the_mean_and_stays_consistent() {
        let mut sim = scenario(40, 3);
        let before = sim.node.channels.clone();
        let report = sim.add_htlc_load(&HtlcLoad {
            mean_per_channel: 10.0,
            saturated_share: 0.0,
        });
        assert_eq!(report.channels, 40);
        assert_eq!(report.saturated_channels, 0);
        assert!(
            (report.mean_per_unsaturated_channel - 10.0).abs() < 1.0,
            "{report:?}"
        );
        let counted: usize = sim
            .node
            .channels
            .iter()
            .map(|c| c.pending_htlcs.len())
            .sum();
        assert_eq!(report.htlcs, counted);
        // Channels differ: not every channel got the same count.
        let counts: std::collections::BTreeSet<usize> = sim
            .node
            .channels
            .iter()
            .map(|c| c.pending_htlcs.len())
            .collect();
        assert!(counts.len() > 3, "{counts:?}");
        for (ch, old) in sim.node.channels.iter().zip(&before) {
            assert_eq!(ch.chan_id, old.chan_id);
            assert_eq!(ch.capacity_sat, old.capacity_sat);
            assert!(
                accounting::check_consistency(ch, &sim.dust).is_empty(),
                "{:?}",
                accounting::check_consistency(ch, &sim.dust)
            );
        }
    }

    #[test]
    fn saturated_channels_carry_483_htlcs_within_each_sides_limit() {
        let mut sim = scenario(40, 5);
        let report = sim.add_htlc_load(&HtlcLoad {
            mean_per_channel: 2.0,
            saturated_share: 0.05,
        });
        assert_eq!(report.saturated_channels, 2, "{report:?}");
        for ch in &sim.node.channels {
            assert!(accounting::check_consistency(ch, &sim.dust).is_empty());
            let incoming = ch.pending_htlcs.iter().filter(|h| h.incoming).count();
            let outgoing = ch.pending_htlcs.len() - incoming;
            let local = ch.local_constraints.unwrap().max_accepted_htlcs as usize;
            let remote = ch.remote_constraints.unwrap().max_accepted_htlcs as usize;
            assert!(
                incoming <= local && outgoing <= remote,
                "channel {}",
                ch.chan_id
            );
            assert!(ch.pending_htlcs.len() <= MAX_PENDING_HTLCS);
            // HTLC indexes never repeat within a direction.
            for dir in [true, false] {
                let mut idx: Vec<u64> = ch
                    .pending_htlcs
                    .iter()
                    .filter(|h| h.incoming == dir)
                    .map(|h| h.htlc_index)
                    .collect();
                let n = idx.len();
                idx.sort_unstable();
                idx.dedup();
                assert_eq!(idx.len(), n, "channel {}", ch.chan_id);
            }
        }
    }

    #[test]
    fn the_same_scenario_gets_the_same_load() {
        let load = HtlcLoad {
            mean_per_channel: 6.0,
            saturated_share: 0.1,
        };
        let (mut a, mut b) = (scenario(20, 9), scenario(20, 9));
        assert_eq!(a.add_htlc_load(&load), b.add_htlc_load(&load));
        assert_eq!(a.node, b.node);
    }
}
