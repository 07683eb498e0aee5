//! The channel figures a v2 plan file leaves out because they follow exactly from others in the
//! plan (docs/plan-schema.md, "Left out of the file"), and how a reader fills them back.
//!
//! Each formula is the one the analyzer used to compute the figure; the test
//! `plans_read_back_identically` (tests/analyze_snapshots.rs) checks write → read → equal.

use super::{ratio, ChannelPlan};
use crate::dust::exposure::{exposure_headroom_sat, exposure_ratio};

impl ChannelPlan {
    /// Fills in the figures a v2 file leaves out, from the channel's own fields, its resolved
    /// actions, the plan's exposure limit and its block height.
    pub(super) fn fill_derived(&mut self, limit_sat: u64, block_height: Option<u32>) {
        let dust = &mut self.dust;
        dust.remote_commitment.feerate_per_kw = dust.local_commitment.feerate_per_kw;
        for c in [&mut dust.local_commitment, &mut dust.remote_commitment] {
            c.fee_exposure_sat = c.trimmed_htlc_sat.saturating_add(c.base_fee_sat);
        }
        let (local, remote) = (&dust.local_commitment, &dust.remote_commitment);
        let worst = local.fee_exposure_sat.max(remote.fee_exposure_sat);
        dust.exposure_headroom_sat = exposure_headroom_sat(limit_sat, worst);
        dust.exposure_ratio = ratio(exposure_ratio(limit_sat, worst));
        let at_stake = local.trimmed_htlc_sat.max(remote.trimmed_htlc_sat);

        let f = &mut self.force_close;
        f.fees_to_miners_sat = local.fees_to_miners_sat;
        f.total_sat = f
            .fees_to_miners_sat
            .saturating_add(f.anchor_sat)
            .saturating_add(f.second_level_fees_sat);
        f.extra_cost_vs_coop_sat = f.total_sat.saturating_sub(f.coop_close_fee_sat);

        for h in &mut self.htlcs {
            h.blocks_to_expiry =
                block_height.map(|b| i64::from(h.expiration_height) - i64::from(b));
        }

        let (l, r) = (self.local_balance_sat, self.remote_balance_sat);
        let health = &mut self.health;
        health.balance_ratio = ratio(quotient(l.min(r), l.max(r)));
        health.local_ratio = ratio(quotient(l, l.saturating_add(r)));
        health.dust_ratio = ratio(quotient(at_stake, self.capacity_sat));

        let rec = &mut self.recommendations;
        let sum = |of: fn(&super::Action) -> u64| {
            rec.actions.iter().map(of).fold(0u64, u64::saturating_add)
        };
        let cost = sum(|a| a.expected_cost_sat);
        let benefit = sum(|a| a.expected_benefit_sat);
        rec.expected_cost_sat = cost;
        rec.expected_benefit_sat = benefit;
        rec.cost_benefit_ratio = (benefit > 0).then(|| ratio(cost as f64 / benefit as f64));
        rec.dust_at_stake_sat = at_stake;
        rec.dust_optimization_potential = if at_stake == 0 {
            0.0
        } else {
            ratio(rec.dust_recoverable_sat as f64 / at_stake as f64)
        };
    }
}

/// `part / whole`, 0 when `whole` is 0.
fn quotient(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}
