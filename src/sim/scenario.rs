//! The seeded scenario generator: a believable LND node from a channel count and a seed.
//!
//! The same (channels, seed, start time) always gives the same node. What makes it believable:
//! capacities from small to wumbo, a commitment-type mix from legacy to taproot (old types on
//! old channels), dust limits of 354–1000 sat, feerates that follow a node fee estimate (capped
//! for anchor channels the way LND caps them), pending HTLCs of every size including
//! dust-sized ones and ones a few blocks from expiry, inactive and private channels, fee
//! policies, flow totals, pending opens and closes, a wallet and a month of routing fees.
//! Every open channel goes through [`accounting::settle`], so its balances, commit fee and
//! weight are what BOLT 3 (via the dust engine) says they are.
//! The random draws themselves (sizes, ids, HTLCs, policies) are in `super::random`.

use std::collections::{BTreeMap, BTreeSet};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::accounting;
use super::forwards::FlowRole;
use super::random::{
    block_hash, hex_bytes, log_uniform, log_uniform_f, peer_alias, pick, pubkey, random_capacity,
    random_htlc, random_htlc_amount, random_policy, HtlcAge, MAX_NON_WUMBO_SAT,
};
use super::state::{CloseType, NodeState, PendingChannel, PendingStage};
use super::traffic::traffic_attempts_per_tick;
use crate::dust::DustParams;
use crate::model::{Channel, CommitmentType, Constraints, Htlc, Initiator, WalletBalance};
use crate::settings::AnalysisSettings;

/// LND's default `channel-max-fee-exposure` (sat).
pub const DEFAULT_MAX_FEE_EXPOSURE_SAT: u64 = 500_000;

/// LND's default `max-commit-fee-rate-anchors` is 10 sat/vB, i.e. 2,500 sat/kw.
pub const ANCHOR_FEERATE_CAP_PER_KW: u64 = 2_500;

/// The floor of any commitment feerate (1 sat/vB, rounded up the way LND does).
pub const FEERATE_FLOOR_PER_KW: u64 = 253;

/// Ceiling of the simulated fee estimate (200 sat/vB).
pub const FEERATE_CEILING_PER_KW: u64 = 50_000;

/// Known mainnet point used to turn a wall-clock time into a believable block height:
/// block 840,000 was mined at unix 1713571767.
const REFERENCE_HEIGHT: u32 = 840_000;
const REFERENCE_UNIX: i64 = 1_713_571_767;

/// Inputs of the generator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioConfig {
    pub channels: usize,
    pub seed: u64,
    /// The simulated "now" (unix seconds); block height and timestamps derive from it.
    pub start_unix: i64,
    /// What GetDebugInfo reports as `channel-max-fee-exposure`.
    pub max_fee_exposure_sat: u64,
}

/// A running simulation: the node's state and the seeded randomness that moves it.
#[derive(Debug, Clone)]
pub struct Simulation {
    pub node: NodeState,
    pub(super) rng: StdRng,
    pub(super) dust: DustParams,
    /// Short channel ids already used (open, pending or closed), so new ones never collide.
    pub(super) used_chan_ids: BTreeSet<u64>,
    /// HTLCs held back (a hodl invoice, a slow downstream peer): they do not resolve until
    /// they are a few blocks from expiry, so a running node keeps showing near-expiry HTLCs.
    /// Keyed by (chan_id, incoming, htlc_index).
    pub(super) stuck: BTreeSet<(u64, bool, u64)>,
}

impl Simulation {
    /// Generates the node described by `config`.
    pub fn generate(config: &ScenarioConfig) -> Simulation {
        let mut rng = StdRng::seed_from_u64(config.seed);
        let dust = dust_params();
        let block_height = height_at(config.start_unix);
        let fee_estimate_per_kw = log_uniform(&mut rng, 1_000, 12_500);
        let mut sim = Simulation {
            node: NodeState {
                identity_pubkey: String::new(),
                alias: String::new(),
                color: String::new(),
                version: "0.21.0-beta commit=v0.21.0-beta".to_string(),
                commit_hash: String::new(),
                block_height,
                block_hash: String::new(),
                now_unix: config.start_unix,
                started_unix: config.start_unix,
                fee_estimate_per_kw,
                usual_fee_estimate_per_kw: fee_estimate_per_kw,
                channels: Vec::with_capacity(config.channels),
                pending: Vec::new(),
                wallet: WalletBalance::default(),
                fee_log: Vec::new(),
                forwards: Default::default(),
                config: BTreeMap::new(),
            },
            rng,
            dust,
            used_chan_ids: BTreeSet::new(),
            stuck: BTreeSet::new(),
        };
        sim.node.identity_pubkey = pubkey(&mut sim.rng);
        sim.node.alias = format!("dustwatch-sim-{}", &sim.node.identity_pubkey[2..8]);
        sim.node.color = format!("#{}", &hex_bytes(&mut sim.rng, 3));
        sim.node.commit_hash = hex_bytes(&mut sim.rng, 20);
        sim.node.block_hash = block_hash(&mut sim.rng);
        // LND was (re)started some time ago: channel lifetimes count from there.
        let node_uptime = log_uniform(&mut sim.rng, 3_600, 30 * 86_400) as i64;
        sim.node.started_unix = config.start_unix - node_uptime;

        for _ in 0..config.channels {
            let ch = sim.new_open_channel(None);
            sim.node.channels.push(ch);
        }
        sim.node.channels.sort_by_key(|c| c.chan_id);
        sim.generate_pending(config.channels);
        sim.generate_wallet();
        sim.generate_fee_history();
        sim.generate_forwarding_history(config.seed);
        sim.node.config = node_config(config.max_fee_exposure_sat, &sim.node.alias);
        sim
    }

    /// The dust engine parameters the simulator settles channels with.
    pub fn dust_params(&self) -> &DustParams {
        &self.dust
    }

    /// A fresh, settled open channel. `capacity` is given when a pending open confirms.
    pub(super) fn new_open_channel(&mut self, capacity: Option<u64>) -> Channel {
        let rng = &mut self.rng;
        let commitment_type = pick(
            rng,
            &[
                (CommitmentType::Legacy, 3),
                (CommitmentType::StaticRemoteKey, 12),
                (CommitmentType::Anchors, 62),
                (CommitmentType::ScriptEnforcedLease, 3),
                (CommitmentType::SimpleTaproot, 8),
                (CommitmentType::SimpleTaprootFinal, 10),
                (CommitmentType::SimpleTaprootOverlay, 2),
            ],
        );
        // Old formats live on old channels: age in blocks by commitment type.
        let (min_age, max_age) = match commitment_type {
            CommitmentType::Legacy => (150_000, 300_000),
            CommitmentType::StaticRemoteKey => (100_000, 250_000),
            CommitmentType::Anchors => (144, 200_000),
            CommitmentType::ScriptEnforcedLease => (10_000, 150_000),
            CommitmentType::SimpleTaproot => (1_000, 60_000),
            _ => (6, 20_000),
        };
        let age_blocks: u32 = if capacity.is_some() {
            0
        } else {
            let drawn = rng.random_range(min_age..=max_age);
            // About one modern channel in eight was opened within the last month: routing
            // nodes keep opening channels, and young ones have short flow histories.
            if commitment_type.has_anchors() && drawn % 8 == 0 {
                6 + drawn % (30 * 144)
            } else {
                drawn
            }
        };
        let capacity_sat = capacity.unwrap_or_else(|| random_capacity(rng));
        let initiator = if rng.random_bool(0.5) {
            Initiator::Local
        } else {
            Initiator::Remote
        };
        let estimate = self.node.fee_estimate_per_kw;
        let jittered = (estimate as f64 * rng.random_range(0.8..1.25)) as u64;
        let fee_per_kw = commitment_feerate(commitment_type, jittered);
        let local_dust = pick(rng, &[(354u64, 80), (546, 10), (573, 10)]);
        let remote_dust = pick(
            rng,
            &[
                (354u64, 55),
                (546, 12),
                (573, 12),
                (600, 6),
                (660, 5),
                (1000, 10),
            ],
        );
        let reserve = |dust_limit: u64| (capacity_sat / 100).max(dust_limit);
        let csv_for_capacity =
            144 + (1_872 * capacity_sat.min(MAX_NON_WUMBO_SAT) / MAX_NON_WUMBO_SAT) as u32;
        let local_constraints = Constraints {
            csv_delay: csv_for_capacity,
            chan_reserve_sat: reserve(local_dust),
            dust_limit_sat: local_dust,
            max_pending_amt_msat: (capacity_sat - reserve(local_dust)) * 1000,
            min_htlc_msat: pick(rng, &[(1u64, 70), (1000, 30)]),
            max_accepted_htlcs: 483,
        };
        let remote_constraints = Constraints {
            csv_delay: pick(
                rng,
                &[(144u32, 40), (720, 20), (csv_for_capacity, 30), (2016, 10)],
            ),
            chan_reserve_sat: reserve(remote_dust),
            dust_limit_sat: remote_dust,
            max_pending_amt_msat: (capacity_sat - reserve(remote_dust)) * 1000,
            min_htlc_msat: pick(rng, &[(1u64, 50), (1000, 50)]),
            max_accepted_htlcs: pick(rng, &[(483u32, 85), (30, 15)]),
        };
        // A channel opens after its funding has 3 confirmations (LND's default), so even a
        // just-confirmed one was funded 2 blocks below the tip.
        let open_height = self.node.block_height.saturating_sub(age_blocks.max(2));
        let chan_id = self.fresh_chan_id(open_height);
        let rng = &mut self.rng;
        let active = capacity.is_some() || rng.random_bool(0.92);
        let private = rng.random_bool(0.1);
        let remote_pubkey = pubkey(rng);
        let peer_alias = peer_alias(rng);
        let channel_point = format!("{}:{}", hex_bytes(rng, 32), rng.random_range(0..2u32));

        // Lifetime counts since LND's last start (or the channel's open, if later).
        let age_secs = i64::from(age_blocks) * 600;
        let lifetime_secs = (self.node.now_unix - self.node.started_unix)
            .min(age_secs)
            .max(0) as u64;
        let uptime_ratio = if !active {
            rng.random_range(0.1..0.9)
        } else if rng.random_bool(0.05) {
            rng.random_range(0.3..0.7)
        } else {
            rng.random_range(0.97..=1.0)
        };
        let uptime_secs = (lifetime_secs as f64 * uptime_ratio) as u64;

        // Flow over the channel's life: some idle channels, most modest, a few busy.
        let days = f64::from(age_blocks) / 144.0;
        let daily_turnover = if rng.random_bool(0.2) {
            0.0
        } else {
            log_uniform_f(rng, 0.0005, 0.5)
        };
        let flow = (capacity_sat as f64 * daily_turnover * days) as u64;
        let sent_share = rng.random_range(0.0..=1.0);
        let total_satoshis_sent = (flow as f64 * sent_share) as u64;
        let total_satoshis_received = flow - total_satoshis_sent;
        let num_updates = flow / 40_000 * 2;

        let mut local_policy = Some(random_policy(rng, capacity_sat, active));
        if let Some(policy) = local_policy.as_mut() {
            FlowRole::of(chan_id).adjust_policy(policy);
        }
        let remote_policy = Some(random_policy(rng, capacity_sat, active));

        let mut ch = Channel {
            chan_id,
            channel_point: channel_point.into(),
            remote_pubkey: remote_pubkey.into(),
            peer_alias: peer_alias.into(),
            active,
            private,
            initiator,
            commitment_type,
            capacity_sat,
            local_balance_sat: 0,
            remote_balance_sat: 0,
            commit_fee_sat: 0,
            commit_weight: 0,
            fee_per_kw,
            unsettled_balance_sat: 0,
            total_satoshis_sent,
            total_satoshis_received,
            num_updates,
            lifetime_secs,
            uptime_secs,
            local_chan_reserve_sat: local_constraints.chan_reserve_sat,
            remote_chan_reserve_sat: remote_constraints.chan_reserve_sat,
            push_amount_sat: 0,
            local_constraints: Some(local_constraints),
            remote_constraints: Some(remote_constraints),
            pending_htlcs: Vec::new(),
            local_policy,
            remote_policy,
        };
        if capacity.is_none() {
            let count = pick(
                rng,
                &[
                    (0usize, 70),
                    (1, 8),
                    (2, 7),
                    (3, 5),
                    (5, 5),
                    (8, 3),
                    (20, 2),
                ],
            );
            let count = if count >= 5 {
                rng.random_range(count..count * 2)
            } else {
                count
            };
            let block_height = self.node.block_height;
            for i in 0..count {
                let incoming = self.rng.random_bool(0.5);
                let amount_sat = random_htlc_amount(&mut self.rng, capacity_sat);
                let htlc = random_htlc(
                    &mut self.rng,
                    incoming,
                    amount_sat,
                    block_height,
                    i as u64,
                    HtlcAge::InFlight,
                );
                ch.pending_htlcs.push(htlc);
            }
            // Each HTLC took an add and a commitment signature at least.
            ch.num_updates += 2 * count as u64;
        }
        self.split_balances(&mut ch, capacity.is_some());
        ch
    }

    /// Settles a new channel and splits what is left between the sides. A fresh channel
    /// (just confirmed) keeps everything on the initiator's side, maybe minus a push.
    fn split_balances(&mut self, ch: &mut Channel, fresh: bool) {
        // First, with the non-initiator at zero, find what the initiator would hold; drop
        // the largest HTLC (then the feerate) until the channel can carry what it has.
        loop {
            match accounting::settle(ch, &self.dust) {
                Ok(()) => break,
                Err(_) if !ch.pending_htlcs.is_empty() => {
                    let largest = (0..ch.pending_htlcs.len())
                        .max_by_key(|&i| ch.pending_htlcs[i].amount_sat)
                        .unwrap_or(0);
                    ch.pending_htlcs.remove(largest);
                }
                Err(_) => {
                    // A channel of 20k sat or more always carries a minimum-feerate commitment.
                    ch.fee_per_kw = FEERATE_FLOOR_PER_KW;
                    if accounting::settle(ch, &self.dust).is_err() {
                        ch.capacity_sat = ch.capacity_sat.max(100_000);
                    }
                }
            }
        }
        let available = match ch.initiator {
            Initiator::Local => ch.local_balance_sat,
            _ => ch.remote_balance_sat,
        };
        let rng = &mut self.rng;
        let local_ratio: f64 = if fresh {
            if ch.initiator == Initiator::Local {
                1.0
            } else {
                0.0
            }
        } else {
            match pick(rng, &[(0u8, 15), (1, 15), (2, 70)]) {
                0 if ch.initiator == Initiator::Remote => 0.0,
                0 => rng.random_range(0.0..0.05),
                1 => rng.random_range(0.9..=1.0),
                _ => rng.random_range(0.02..0.98),
            }
        };
        let mut local_share = (available as f64 * local_ratio) as u64;
        if ch.initiator == Initiator::Remote && rng.random_bool(if fresh { 0.15 } else { 0.1 }) {
            // The opener pushed some sats to us at open.
            let push = (ch.capacity_sat as f64 * rng.random_range(0.01..0.2)) as u64;
            ch.push_amount_sat = push.min(available);
            if fresh {
                local_share = ch.push_amount_sat;
            }
        }
        match ch.initiator {
            Initiator::Local => ch.remote_balance_sat = available - local_share,
            _ => ch.local_balance_sat = local_share,
        }
        // Cannot fail: the fee does not depend on the split, and the split fits `available`.
        if let Err(e) = accounting::settle(ch, &self.dust) {
            tracing::error!(error = %e, "simulator: re-settling a generated channel failed");
        }
    }

    /// A short channel id (height << 40 | tx index << 16 | output) not used before.
    pub(super) fn fresh_chan_id(&mut self, height: u32) -> u64 {
        loop {
            let tx_index: u64 = self.rng.random_range(1..4_000);
            let output: u64 = self.rng.random_range(0..3);
            let id = (u64::from(height) << 40) | (tx_index << 16) | output;
            if self.used_chan_ids.insert(id) {
                return id;
            }
        }
    }

    fn generate_pending(&mut self, channels: usize) {
        let opening = 1 + channels / 50;
        let waiting_close = channels / 80;
        let force_closing = channels / 60 + usize::from(channels >= 10);
        for _ in 0..opening {
            let p = self.new_pending_open();
            self.node.pending.push(p);
        }
        for i in 0..waiting_close + force_closing {
            let ch = self.new_open_channel(None);
            let closing_txid = hex_bytes(&mut self.rng, 32);
            let stage = if i < waiting_close {
                PendingStage::WaitingClose {
                    closing_txid,
                    close_type: if self.rng.random_bool(0.7) {
                        CloseType::Cooperative
                    } else {
                        CloseType::LocalForce
                    },
                    confirmations_left: self.rng.random_range(1..=3),
                }
            } else {
                let close_height = self.node.block_height - self.rng.random_range(1..100);
                let csv = ch.local_constraints.map_or(144, |c| c.csv_delay);
                PendingStage::ForceClosing {
                    closing_txid,
                    close_height,
                    maturity_height: close_height + csv,
                }
            };
            self.node.pending.push(pending_from_channel(ch, stage));
        }
    }

    /// A channel whose funding transaction waits for confirmations.
    pub(super) fn new_pending_open(&mut self) -> PendingChannel {
        let capacity = random_capacity(&mut self.rng);
        let mut ch = self.new_open_channel(Some(capacity));
        // Not confirmed: no short channel id yet.
        self.used_chan_ids.remove(&ch.chan_id);
        ch.chan_id = 0;
        let confirmations_left = self.rng.random_range(1..=6);
        pending_from_channel(ch, PendingStage::Opening { confirmations_left })
    }

    fn generate_wallet(&mut self) {
        let rng = &mut self.rng;
        let anchor_channels = self
            .node
            .channels
            .iter()
            .filter(|c| c.commitment_type.has_anchors())
            .count() as u64;
        self.node.wallet = WalletBalance {
            confirmed_sat: log_uniform(rng, 100_000, 500_000_000),
            unconfirmed_sat: if rng.random_bool(0.1) {
                log_uniform(rng, 10_000, 5_000_000)
            } else {
                0
            },
            locked_sat: if rng.random_bool(0.05) {
                log_uniform(rng, 10_000, 1_000_000)
            } else {
                0
            },
            // LND keeps 10k sat per anchor channel for fee bumping, at most 100k.
            reserved_balance_anchor_chan_sat: (anchor_channels * 10_000).min(100_000),
        };
    }

    /// A month of hourly routing-fee totals at the rate ticks will earn them, so FeeReport's
    /// day/week/month sums are believable from the start and stay so.
    fn generate_fee_history(&mut self) {
        let channels = &self.node.channels;
        if channels.is_empty() {
            return;
        }
        // Forwards per tick: attempts × P(attempt) × P(forward) × P(settled).
        let active = channels.iter().filter(|c| c.active).count();
        let per_hour = traffic_attempts_per_tick(active) as f64 * 0.6 * 0.6 * 0.8 * 60.0;
        let now = self.node.now_unix;
        let this_hour = now - now.rem_euclid(3_600);
        let mut log = Vec::with_capacity(30 * 24);
        for hours_ago in (1..30 * 24).rev() {
            const SAMPLES: u32 = 8;
            let mut sampled_msat = 0u64;
            for _ in 0..SAMPLES {
                let ch = &channels[self.rng.random_range(0..channels.len())];
                let policy = ch.local_policy.unwrap_or_default();
                let amount = random_htlc_amount(&mut self.rng, ch.capacity_sat);
                sampled_msat += policy.fee_base_msat.max(0) as u64
                    + amount * 1000 * policy.fee_rate_ppm.max(0) as u64 / 1_000_000;
            }
            let busy = self.rng.random_range(0.3..1.7);
            let msat = (sampled_msat as f64 / f64::from(SAMPLES) * per_hour * busy) as u64;
            log.push((this_hour - hours_ago * 3_600, msat));
        }
        self.node.fee_log = log;
    }
}

/// The dust engine's parameters with dustwatch's defaults (the simulator only needs the
/// trimming and fee rules, which do not depend on settings).
fn dust_params() -> DustParams {
    DustParams::from_settings(&AnalysisSettings::default(), None)
}

/// A believable block height for a wall-clock time (one block every ten minutes).
pub fn height_at(unix: i64) -> u32 {
    let blocks = (unix - REFERENCE_UNIX) / 600;
    (i64::from(REFERENCE_HEIGHT) + blocks).clamp(1, i64::from(u32::MAX)) as u32
}

/// The feerate a channel's commitment uses for a fee estimate: LND caps anchor (and taproot)
/// commitments at `max-commit-fee-rate-anchors`; everything stays above the relay floor.
pub fn commitment_feerate(ct: CommitmentType, estimate_per_kw: u64) -> u64 {
    let capped = if ct.has_anchors() {
        estimate_per_kw.min(ANCHOR_FEERATE_CAP_PER_KW)
    } else {
        estimate_per_kw
    };
    capped.clamp(FEERATE_FLOOR_PER_KW, FEERATE_CEILING_PER_KW)
}

fn node_config(max_fee_exposure_sat: u64, alias: &str) -> BTreeMap<String, String> {
    [
        ("alias", alias.to_string()),
        ("bitcoin.active", "true".to_string()),
        ("bitcoin.mainnet", "true".to_string()),
        ("bitcoin.node", "bitcoind".to_string()),
        ("channel-max-fee-exposure", max_fee_exposure_sat.to_string()),
        ("debuglevel", "info".to_string()),
        ("max-commit-fee-rate-anchors", "10".to_string()),
        ("maxpendingchannels", "1".to_string()),
        ("protocol.simple-taproot-chans", "true".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// A pending channel built from what the open channel is (opening) or was (closing). Only a
/// closing channel has funds in limbo, and only a force close keeps HTLCs to resolve on chain.
pub(super) fn pending_from_channel(ch: Channel, stage: PendingStage) -> PendingChannel {
    let our_htlcs: Vec<Htlc> = match stage {
        PendingStage::ForceClosing { .. } => ch.pending_htlcs.clone(),
        _ => Vec::new(),
    };
    let htlc_limbo: u64 = our_htlcs.iter().map(|h| h.amount_sat).sum();
    let limbo_balance_sat = match stage {
        PendingStage::Opening { .. } => 0,
        _ => ch.local_balance_sat + htlc_limbo,
    };
    PendingChannel {
        limbo_balance_sat,
        stage,
        chan_id: ch.chan_id,
        channel_point: ch.channel_point.to_string(),
        remote_pubkey: ch.remote_pubkey.to_string(),
        capacity_sat: ch.capacity_sat,
        local_balance_sat: ch.local_balance_sat,
        remote_balance_sat: ch.remote_balance_sat,
        local_chan_reserve_sat: ch.local_chan_reserve_sat,
        remote_chan_reserve_sat: ch.remote_chan_reserve_sat,
        initiator: ch.initiator,
        commitment_type: ch.commitment_type,
        private: ch.private,
        commit_fee_sat: ch.commit_fee_sat,
        commit_weight: ch.commit_weight,
        fee_per_kw: ch.fee_per_kw,
        pending_htlcs: our_htlcs,
    }
}
