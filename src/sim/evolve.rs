//! One step of simulated time: what changes on a live LND node in about a minute.
//!
//! Per tick: the clock moves a minute and sometimes a block is found; the fee estimate
//! drifts and channels follow it with `update_fee`; HTLCs settle or fail, new payments and
//! forwards add HTLCs (dust-sized ones included); peers disconnect and reconnect; pending
//! opens confirm, closes confirm and force-closed outputs mature. An outgoing HTLC that
//! reaches its expiry forces the channel to chain, as LND does. Every balance change goes
//! through [`accounting`], so the invariants hold after every tick.

use rand::Rng;

use super::accounting::{self, Resolution};
use super::forwards::{FlowRole, ForwardRecord};
use super::random::{block_hash, hex_bytes, log_uniform, random_htlc, random_htlc_amount, HtlcAge};
use super::scenario::{
    commitment_feerate, pending_from_channel, Simulation, FEERATE_CEILING_PER_KW,
    FEERATE_FLOOR_PER_KW,
};
use super::state::{ChannelEvent, CloseSummary, CloseType, PendingStage};
use super::traffic::traffic_attempts_per_tick;
use crate::model::{Channel, ForwardingEvent, Htlc, Initiator};

/// Simulated seconds per tick.
pub const TICK_SECS: i64 = 60;

/// Most HTLCs a simulated channel carries at once (LND allows 483; busy nodes see dozens).
const MAX_HTLCS_PER_CHANNEL: usize = 40;

/// A held HTLC is released (settled or failed) once it is this close to expiry.
const STUCK_RELEASE_BLOCKS: u32 = 3;

/// A month, for pruning the fee log.
const MONTH_SECS: i64 = 30 * 86_400;

/// How long settled forwards stay in the forwarding log (longer than any flow window).
const FORWARDS_KEPT_SECS: i64 = 40 * 86_400;

impl Simulation {
    /// Advances the node by one tick and returns the channel events it produced, in order.
    pub fn tick(&mut self) -> Vec<ChannelEvent> {
        let mut events = Vec::new();
        self.node.now_unix += TICK_SECS;
        let new_blocks = self.advance_blocks();
        self.drift_fee_estimate();
        self.follow_fee_estimate();
        self.resolve_htlcs();
        self.add_traffic();
        self.flip_peers(&mut events);
        self.age_channels();
        if new_blocks > 0 {
            self.expire_htlcs(&mut events);
            self.progress_pending(new_blocks, &mut events);
            self.forget_gone_stuck_htlcs();
        }
        self.maybe_open_or_close(&mut events);
        let month_ago = self.node.now_unix - MONTH_SECS;
        let stale = self
            .node
            .fee_log
            .partition_point(|(at, _)| *at <= month_ago);
        self.node.fee_log.drain(..stale);
        let kept_from = self.node.now_unix - FORWARDS_KEPT_SECS;
        self.node
            .forwards
            .prune_before(u64::try_from(kept_from).unwrap_or(0) * 1_000_000_000);
        events
    }

    /// Logs a settled forward (ForwardingHistory) at the simulated clock: in on the upstream
    /// leg's channel with its amount, out on `out_chan` with the downstream amount. The
    /// balances already moved by exactly these amounts when both legs settled.
    fn record_forward(&mut self, upstream: &Htlc, downstream: &Htlc, out_chan: u64) {
        let amt_in_msat = upstream.amount_sat * 1000;
        let amt_out_msat = downstream.amount_sat * 1000;
        // Spread within the tick (a hash, not the scenario's randomness, so recording changes
        // nothing else); the log moves any that would go backwards to just after the last.
        let spread =
            (out_chan ^ downstream.htlc_index.rotate_left(32)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let offset_ns = spread % (TICK_SECS as u64 * 1_000_000_000);
        let start_ns = u64::try_from(self.node.now_unix - TICK_SECS).unwrap_or(0) * 1_000_000_000;
        self.node.forwards.record(ForwardRecord {
            event: ForwardingEvent {
                timestamp_ns: start_ns + offset_ns,
                chan_id_in: downstream.forwarding_channel,
                chan_id_out: out_chan,
                amt_in_msat,
                amt_out_msat,
                fee_msat: amt_in_msat.saturating_sub(amt_out_msat),
            },
            incoming_htlc_id: upstream.htlc_index,
            outgoing_htlc_id: downstream.htlc_index,
        });
    }

    /// About one block every ten ticks of a minute, with the usual variance.
    fn advance_blocks(&mut self) -> u32 {
        let mut blocks = 0;
        while self.rng.random_bool(if blocks == 0 { 0.1 } else { 0.05 }) {
            blocks += 1;
        }
        if blocks > 0 {
            self.node.block_height += blocks;
            self.node.block_hash = block_hash(&mut self.rng);
        }
        blocks
    }

    /// A noisy walk in log space that leans back towards the node's usual level, so the
    /// mempool has busy and quiet spells without running off to a bound.
    fn drift_fee_estimate(&mut self) {
        let current = (self.node.fee_estimate_per_kw as f64).ln();
        let usual = (self.node.usual_fee_estimate_per_kw as f64).ln();
        let noise: f64 = self.rng.random_range(-0.05..0.05);
        let next = (current + 0.005 * (usual - current) + noise).exp() as u64;
        self.node.fee_estimate_per_kw = next.clamp(FEERATE_FLOOR_PER_KW, FEERATE_CEILING_PER_KW);
    }

    /// Initiators of active channels send `update_fee` towards the estimate now and then.
    fn follow_fee_estimate(&mut self) {
        let estimate = self.node.fee_estimate_per_kw;
        for ch in &mut self.node.channels {
            if !ch.active || !self.rng.random_bool(0.05) {
                continue;
            }
            let target = commitment_feerate(ch.commitment_type, estimate);
            if target != ch.fee_per_kw {
                // Refused when the initiator cannot pay it: the channel keeps its feerate.
                let _ = accounting::set_feerate(ch, target, &self.dust);
            }
        }
    }

    /// Each pending HTLC settles or fails with some probability (both legs of a forward
    /// together); fees of settled forwards go to the fee log.
    fn resolve_htlcs(&mut self) {
        let mut resolutions: Vec<(u64, u64, bool, Resolution)> = Vec::new();
        let height = self.node.block_height;
        for ch in &self.node.channels {
            if !ch.active {
                continue;
            }
            for h in &ch.pending_htlcs {
                // Forwards are resolved from their outgoing leg.
                if h.incoming && h.forwarding_channel != 0 {
                    continue;
                }
                let held = self.stuck.contains(&(ch.chan_id, h.incoming, h.htlc_index));
                let p = match held {
                    false => 0.06,
                    true if h.expiration_height > height + STUCK_RELEASE_BLOCKS => continue,
                    true => 0.3,
                };
                if h.locked_in && self.rng.random_bool(p) {
                    let how = if self.rng.random_bool(0.8) {
                        Resolution::Settled
                    } else {
                        Resolution::Failed
                    };
                    resolutions.push((ch.chan_id, h.htlc_index, h.incoming, how));
                }
            }
        }
        for (chan_id, index, incoming, how) in resolutions {
            let Some(htlc) = self.remove_htlc(chan_id, index, incoming, how) else {
                continue;
            };
            if !incoming && htlc.forwarding_channel != 0 {
                // The incoming leg: settled upstream when we were paid downstream.
                if let Some(upstream) = self.remove_htlc(
                    htlc.forwarding_channel,
                    htlc.forwarding_htlc_index,
                    true,
                    how,
                ) {
                    if how == Resolution::Settled {
                        let fee_msat = upstream.amount_sat.saturating_sub(htlc.amount_sat) * 1000;
                        self.node.record_fee(fee_msat);
                        self.record_forward(&upstream, &htlc, chan_id);
                    }
                }
            }
        }
        // HTLCs not yet locked in get locked in.
        for ch in &mut self.node.channels {
            for h in &mut ch.pending_htlcs {
                h.locked_in = true;
            }
        }
    }

    fn remove_htlc(
        &mut self,
        chan_id: u64,
        index: u64,
        incoming: bool,
        how: Resolution,
    ) -> Option<Htlc> {
        self.stuck.remove(&(chan_id, incoming, index));
        let pos = self.channel_pos(chan_id)?;
        let ch = &mut self.node.channels[pos];
        let at = ch
            .pending_htlcs
            .iter()
            .position(|h| h.htlc_index == index && h.incoming == incoming)?;
        accounting::remove_htlc(ch, at, how, &self.dust).ok()
    }

    fn channel_pos(&self, chan_id: u64) -> Option<usize> {
        self.node
            .channels
            .binary_search_by_key(&chan_id, |c| c.chan_id)
            .ok()
    }

    /// New payments, invoices paid to us, and forwards between two of our channels.
    fn add_traffic(&mut self) {
        let active: Vec<usize> = (0..self.node.channels.len())
            .filter(|&i| self.node.channels[i].active)
            .collect();
        if active.is_empty() {
            return;
        }
        let attempts = traffic_attempts_per_tick(active.len());
        for _ in 0..attempts {
            if !self.rng.random_bool(0.6) {
                continue;
            }
            let a = active[self.rng.random_range(0..active.len())];
            match self.rng.random_range(0..10) {
                // A forward: in through `a`, out through `b`.
                0..=5 if active.len() > 1 => {
                    let b = active[self.rng.random_range(0..active.len())];
                    let idle = |i: usize| FlowRole::of(self.node.channels[i].chan_id).is_idle();
                    // Idle channels stay idle: nobody routes through them.
                    if a != b && !idle(a) && !idle(b) {
                        self.add_forward(a, b);
                    }
                }
                // A payment we send, or an invoice someone pays us.
                n => {
                    let incoming = n >= 8;
                    let ch = &self.node.channels[a];
                    if ch.pending_htlcs.len() >= MAX_HTLCS_PER_CHANNEL {
                        continue;
                    }
                    let amount = random_htlc_amount(&mut self.rng, ch.capacity_sat);
                    let index = next_htlc_index(ch, incoming);
                    let mut htlc = random_htlc(
                        &mut self.rng,
                        incoming,
                        amount,
                        self.node.block_height,
                        index,
                        HtlcAge::Fresh,
                    );
                    let held = self.maybe_hold(&mut htlc);
                    let chan_id = self.node.channels[a].chan_id;
                    if accounting::add_htlc(&mut self.node.channels[a], htlc, &self.dust).is_ok()
                        && held
                    {
                        self.stuck.insert((chan_id, incoming, index));
                    }
                }
            }
        }
    }

    /// Now and then an HTLC is held (hodl invoice, slow downstream): it gets a short expiry
    /// and will only resolve close to it. Returns whether this one is held.
    fn maybe_hold(&mut self, htlc: &mut Htlc) -> bool {
        if !self.rng.random_bool(0.003) {
            return false;
        }
        htlc.expiration_height = self.node.block_height + self.rng.random_range(40..=200);
        true
    }

    fn add_forward(&mut self, inbound: usize, outbound: usize) {
        let (in_ch, out_ch) = (&self.node.channels[inbound], &self.node.channels[outbound]);
        if in_ch.pending_htlcs.len() >= MAX_HTLCS_PER_CHANNEL
            || out_ch.pending_htlcs.len() >= MAX_HTLCS_PER_CHANNEL
        {
            return;
        }
        let amount_out = random_htlc_amount(&mut self.rng, out_ch.capacity_sat);
        let policy = out_ch.local_policy.unwrap_or_default();
        let fee_msat = policy.fee_base_msat.max(0) as u64
            + amount_out * 1000 * policy.fee_rate_ppm.max(0) as u64 / 1_000_000;
        let amount_in = amount_out + fee_msat.div_ceil(1000);
        let delta = policy.time_lock_delta.unwrap_or(80);
        let out_index = next_htlc_index(out_ch, false);
        let in_index = next_htlc_index(in_ch, true);
        let (in_id, out_id) = (in_ch.chan_id, out_ch.chan_id);
        let height = self.node.block_height;
        let mut out_htlc = random_htlc(
            &mut self.rng,
            false,
            amount_out,
            height,
            out_index,
            HtlcAge::Fresh,
        );
        let held = self.maybe_hold(&mut out_htlc);
        let mut in_htlc = out_htlc.clone();
        in_htlc.incoming = true;
        in_htlc.amount_sat = amount_in;
        in_htlc.htlc_index = in_index;
        in_htlc.expiration_height = out_htlc.expiration_height + delta;
        in_htlc.forwarding_channel = out_id;
        in_htlc.forwarding_htlc_index = out_index;
        out_htlc.forwarding_channel = in_id;
        out_htlc.forwarding_htlc_index = in_index;
        if accounting::add_htlc(&mut self.node.channels[inbound], in_htlc, &self.dust).is_err() {
            return;
        }
        if accounting::add_htlc(&mut self.node.channels[outbound], out_htlc, &self.dust).is_ok() {
            if held {
                self.stuck.insert((out_id, false, out_index));
            }
        } else {
            // Could not forward: fail the incoming leg back.
            let ch = &mut self.node.channels[inbound];
            if let Some(at) = ch
                .pending_htlcs
                .iter()
                .position(|h| h.incoming && h.htlc_index == in_index)
            {
                let _ = accounting::remove_htlc(ch, at, Resolution::Failed, &self.dust);
            }
        }
    }

    /// Peers disconnect and reconnect.
    fn flip_peers(&mut self, events: &mut Vec<ChannelEvent>) {
        for ch in &mut self.node.channels {
            // A peer drops about once a day and is back within the hour, typically.
            let flip = if ch.active {
                self.rng.random_bool(0.0007)
            } else {
                self.rng.random_bool(0.03)
            };
            if !flip {
                continue;
            }
            ch.active = !ch.active;
            if let Some(policy) = ch.local_policy.as_mut() {
                policy.disabled = !ch.active;
            }
            let channel_point = ch.channel_point.to_string();
            events.push(if ch.active {
                ChannelEvent::Active { channel_point }
            } else {
                ChannelEvent::Inactive { channel_point }
            });
        }
    }

    fn age_channels(&mut self) {
        for ch in &mut self.node.channels {
            ch.lifetime_secs += TICK_SECS as u64;
            if ch.active {
                ch.uptime_secs += TICK_SECS as u64;
            }
        }
    }

    /// An outgoing HTLC at its expiry height takes the channel to chain (local force close);
    /// an incoming one at expiry is failed back (its sender has given up on it). LND goes to
    /// chain a few blocks earlier (its broadcast delta); the simulator lets HTLCs get that
    /// close so that expiry warnings downstream have something to see.
    fn expire_htlcs(&mut self, events: &mut Vec<ChannelEvent>) {
        let height = self.node.block_height;
        let mut to_close = Vec::new();
        for ch in &mut self.node.channels {
            while let Some(at) = ch
                .pending_htlcs
                .iter()
                .position(|h| h.incoming && h.expiration_height <= height)
            {
                if accounting::remove_htlc(ch, at, Resolution::Failed, &self.dust).is_err() {
                    break;
                }
            }
            if ch
                .pending_htlcs
                .iter()
                .any(|h| !h.incoming && h.expiration_height <= height)
            {
                to_close.push(ch.chan_id);
            }
        }
        for chan_id in to_close {
            self.close_channel(chan_id, CloseType::LocalForce, events);
        }
    }

    /// Held HTLCs that left by another way (expiry, channel close) are forgotten.
    fn forget_gone_stuck_htlcs(&mut self) {
        let channels = &self.node.channels;
        self.stuck.retain(|&(chan_id, incoming, index)| {
            channels
                .binary_search_by_key(&chan_id, |c| c.chan_id)
                .is_ok_and(|pos| {
                    channels[pos]
                        .pending_htlcs
                        .iter()
                        .any(|h| h.incoming == incoming && h.htlc_index == index)
                })
        });
    }

    /// Moves an open channel to waiting-close.
    fn close_channel(
        &mut self,
        chan_id: u64,
        close_type: CloseType,
        events: &mut Vec<ChannelEvent>,
    ) {
        let Some(pos) = self.channel_pos(chan_id) else {
            return;
        };
        let ch = self.node.channels.remove(pos);
        if ch.active {
            events.push(ChannelEvent::Inactive {
                channel_point: ch.channel_point.to_string(),
            });
        }
        let stage = PendingStage::WaitingClose {
            closing_txid: hex_bytes(&mut self.rng, 32),
            close_type,
            confirmations_left: 1,
        };
        let mut pending = pending_from_channel(ch, stage);
        if close_type == CloseType::LocalForce {
            // Our HTLCs go to chain with the commitment.
            pending.limbo_balance_sat = pending.local_balance_sat;
        }
        self.node.pending.push(pending);
    }

    fn progress_pending(&mut self, new_blocks: u32, events: &mut Vec<ChannelEvent>) {
        let height = self.node.block_height;
        let mut still_pending = Vec::with_capacity(self.node.pending.len());
        let pending = std::mem::take(&mut self.node.pending);
        for mut p in pending {
            match &mut p.stage {
                PendingStage::Opening { confirmations_left } => {
                    if *confirmations_left > new_blocks {
                        *confirmations_left -= new_blocks;
                        still_pending.push(p);
                        continue;
                    }
                    let ch = self.confirm_open(p);
                    events.push(ChannelEvent::Open(Box::new(ch.clone())));
                    let pos = self
                        .node
                        .channels
                        .partition_point(|c| c.chan_id < ch.chan_id);
                    self.node.channels.insert(pos, ch);
                }
                PendingStage::WaitingClose {
                    closing_txid,
                    close_type,
                    confirmations_left,
                } => {
                    if *confirmations_left > new_blocks {
                        *confirmations_left -= new_blocks;
                        still_pending.push(p);
                        continue;
                    }
                    let close_type = *close_type;
                    let closing_txid = closing_txid.clone();
                    let time_locked = if close_type == CloseType::LocalForce {
                        p.limbo_balance_sat
                    } else {
                        0
                    };
                    events.push(ChannelEvent::Closed(Box::new(CloseSummary {
                        channel_point: p.channel_point.clone(),
                        chan_id: p.chan_id,
                        closing_txid: closing_txid.clone(),
                        remote_pubkey: p.remote_pubkey.clone(),
                        capacity_sat: p.capacity_sat,
                        close_height: height,
                        settled_balance_sat: p.local_balance_sat
                            - time_locked.min(p.local_balance_sat),
                        time_locked_balance_sat: time_locked,
                        close_type,
                        open_initiator: p.initiator,
                        close_initiator: match close_type {
                            CloseType::RemoteForce => Initiator::Remote,
                            _ => Initiator::Local,
                        },
                    })));
                    if close_type == CloseType::LocalForce {
                        let csv = 144;
                        p.stage = PendingStage::ForceClosing {
                            closing_txid,
                            close_height: height,
                            maturity_height: height + csv,
                        };
                        still_pending.push(p);
                    } else {
                        self.node.wallet.unconfirmed_sat += p.local_balance_sat;
                    }
                }
                PendingStage::ForceClosing {
                    maturity_height, ..
                } => {
                    if height < *maturity_height {
                        still_pending.push(p);
                        continue;
                    }
                    self.node.wallet.confirmed_sat += p.limbo_balance_sat;
                    events.push(ChannelEvent::FullyResolved {
                        channel_point: p.channel_point.clone(),
                    });
                }
            }
        }
        self.node.pending = still_pending;
        // Unconfirmed wallet funds confirm with a block.
        self.node.wallet.confirmed_sat += self.node.wallet.unconfirmed_sat;
        self.node.wallet.unconfirmed_sat = 0;
    }

    /// A confirmed funding transaction becomes an open channel with a short channel id.
    fn confirm_open(&mut self, p: super::state::PendingChannel) -> Channel {
        let mut ch = self.new_open_channel(Some(p.capacity_sat));
        ch.channel_point = p.channel_point.into();
        ch.remote_pubkey = p.remote_pubkey.into();
        ch.initiator = p.initiator;
        ch.commitment_type = p.commitment_type;
        ch.private = p.private;
        ch.fee_per_kw = p.fee_per_kw;
        ch.local_chan_reserve_sat = p.local_chan_reserve_sat;
        ch.remote_chan_reserve_sat = p.remote_chan_reserve_sat;
        ch.local_balance_sat = p.local_balance_sat;
        ch.remote_balance_sat = p.remote_balance_sat;
        ch.lifetime_secs = 0;
        ch.uptime_secs = 0;
        if accounting::settle(&mut ch, &self.dust).is_err() {
            tracing::warn!(
                chan_id = ch.chan_id,
                "simulator: a confirmed channel did not settle"
            );
        }
        ch
    }

    /// Rarely, a new channel is opened to us or by us, or a channel is closed cooperatively.
    fn maybe_open_or_close(&mut self, events: &mut Vec<ChannelEvent>) {
        if self.rng.random_bool(0.003) {
            let p = self.new_pending_open();
            events.push(ChannelEvent::PendingOpen {
                channel_point: p.channel_point.clone(),
            });
            self.node.pending.push(p);
        }
        if !self.node.channels.is_empty() && self.rng.random_bool(0.006) {
            let pos = self.rng.random_range(0..self.node.channels.len());
            let ch = &self.node.channels[pos];
            if ch.pending_htlcs.is_empty() && ch.active {
                let chan_id = ch.chan_id;
                self.close_channel(chan_id, CloseType::Cooperative, events);
            }
        }
        if self.rng.random_bool(0.02) {
            let extra = log_uniform(&mut self.rng, 10_000, 1_000_000);
            self.node.wallet.unconfirmed_sat += extra;
        }
    }
}

/// The next HTLC index for one direction: never reused while the channel lives.
pub(super) fn next_htlc_index(ch: &Channel, incoming: bool) -> u64 {
    ch.pending_htlcs
        .iter()
        .filter(|h| h.incoming == incoming)
        .map(|h| h.htlc_index + 1)
        .max()
        .unwrap_or(0)
        .max(ch.num_updates)
}
