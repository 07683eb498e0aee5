//! Conversion of the dust engine's results into the plan's schema types.
//!
//! The plan has its own types so that the engine can grow without changing the public schema.
//! The per-HTLC and per-spike lists are taken by value: where the two types have the same
//! layout, collecting the converted list reuses the engine's allocation.

use crate::dust::{ChannelDust, CommitmentDust, ExpiryLevel, FeeSpike, HtlcView};
use crate::model::ExposureLimitSource;
use crate::plan::{
    ratio, CommitFeeMismatchReport, CommitmentReport, DustReport, ExpiryStatus, FeeSpikeReport,
    ForceCloseReport, HtlcReport,
};

fn commitment_report(c: &CommitmentDust) -> CommitmentReport {
    CommitmentReport {
        dust_limit_sat: c.dust_limit_sat,
        feerate_per_kw: c.feerate_per_kw,
        offered_trim_threshold_sat: c.thresholds.offered_sat,
        received_trim_threshold_sat: c.thresholds.received_sat,
        base_fee_sat: c.base_fee_sat,
        trimmed_htlc_count: c.trimmed_htlc_count,
        trimmed_htlc_sat: c.trimmed_htlc_sat,
        untrimmed_htlc_count: c.untrimmed_htlc_count,
        to_local_trimmed: c.to_local_trimmed,
        to_remote_trimmed: c.to_remote_trimmed,
        anchor_outputs: c.anchor_outputs,
        absent_anchor_sat: c.absent_anchor_sat,
        fees_to_miners_sat: c.fees_to_miners_sat,
        fee_exposure_sat: c.fee_exposure_sat,
    }
}

/// The dust section of a channel; `fee_spike` is `d.fee_spike`, taken out of it.
pub(super) fn dust_report(
    d: &ChannelDust,
    fee_spike: Vec<FeeSpike>,
    source: ExposureLimitSource,
) -> DustReport {
    DustReport {
        local_commitment: commitment_report(&d.local),
        remote_commitment: commitment_report(&d.remote),
        max_fee_exposure_sat: d.max_fee_exposure_sat,
        exposure_limit_source: source,
        exposure_headroom_sat: d.exposure_headroom_sat,
        exposure_ratio: ratio(d.exposure_ratio),
        fee_spike: fee_spike
            .into_iter()
            .map(|s| FeeSpikeReport {
                multiplier: s.multiplier,
                feerate_per_kw: s.feerate_per_kw,
                capped: s.capped,
                local_trimmed_htlc_sat: s.local_trimmed_htlc_sat,
                remote_trimmed_htlc_sat: s.remote_trimmed_htlc_sat,
                local_fee_exposure_sat: s.local_fee_exposure_sat,
                remote_fee_exposure_sat: s.remote_fee_exposure_sat,
                exceeds_limit: s.exceeds_limit,
            })
            .collect(),
        commit_fee_mismatch: d
            .commit_fee_mismatch
            .as_ref()
            .map(|m| CommitFeeMismatchReport {
                computed_sat: m.computed_sat,
                reported_sat: m.reported_sat,
            }),
    }
}

pub(super) fn expiry_status(level: ExpiryLevel) -> ExpiryStatus {
    match level {
        ExpiryLevel::Ok => ExpiryStatus::Ok,
        ExpiryLevel::Warn => ExpiryStatus::Warn,
        ExpiryLevel::Critical => ExpiryStatus::Critical,
        ExpiryLevel::Unknown => ExpiryStatus::Unknown,
    }
}

pub(super) fn htlc_reports(htlcs: Vec<HtlcView>) -> Vec<HtlcReport> {
    htlcs
        .into_iter()
        .map(|h| HtlcReport {
            htlc_index: h.htlc_index,
            incoming: h.incoming,
            amount_sat: h.amount_sat,
            expiration_height: h.expiration_height,
            blocks_to_expiry: h.blocks_to_expiry,
            expiry: expiry_status(h.expiry),
            trimmed_on_local: h.trimmed_on_local,
            trimmed_on_remote: h.trimmed_on_remote,
        })
        .collect()
}

pub(super) fn force_close_report(d: &ChannelDust) -> ForceCloseReport {
    let f = &d.force_close;
    ForceCloseReport {
        fees_to_miners_sat: f.fees_to_miners_sat,
        anchor_sat: f.anchor_sat,
        second_level_fees_sat: f.second_level_fees_sat,
        total_sat: f.total_sat,
        csv_delay_blocks: f.csv_delay_blocks,
        coop_close_fee_sat: f.coop_close_fee_sat,
        extra_cost_vs_coop_sat: f.extra_cost_vs_coop_sat,
    }
}
