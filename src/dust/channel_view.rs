//! One commitment of an LND channel: LND's reported numbers turned into BOLT 3 inputs.
//!
//! LND's `ListChannels` describes only our (local) commitment, and with balances that are
//! already NET of the commitment fee and the anchors. BOLT 3 builds a commitment from GROSS
//! balances. This module reconstructs them:
//!
//! * the initiator's gross balance = its reported balance + the local commitment's base fee at
//!   the channel's current feerate (`fee_per_kw`, with the local dust limit) + 2 × 330 sat for
//!   anchor types. Rebuilding the local commitment at the current feerate therefore gives back
//!   exactly LND's balances, and any other commitment (the remote one, or a what-if feerate)
//!   takes its own fee out of the same gross balance;
//! * if the initiator's reported balance is 0, LND may have capped the fee at what it had, so
//!   the sum above would overstate it: its gross balance is then taken as
//!   `capacity − other balance − Σ HTLCs` (all of the rest is the initiator's);
//! * the non-initiator's gross balance is its reported balance;
//! * LND reports whole satoshi (the sub-satoshi remainders already went to fees), so the
//!   balances enter BOLT 3 as `sat × 1000` msat, and the actual fee is taken as
//!   `capacity − Σ outputs`, exactly how LND computes `commit_fee`.
//!
//! The remote commitment is built from the same balances and HTLC set as the local one (LND
//! does not report the remote commitment); the two differ only while updates are in flight.

use serde::Serialize;

use super::commitment::{
    build_outputs, CommitmentHtlc, CommitmentOutputs, CommitmentTerms, HtlcTally,
};
use super::fees::{commitment_base_fee_sat, trim_thresholds, TrimThresholds, ANCHOR_OUTPUT_SAT};
use super::DustParams;
use crate::model::{Channel, CommitmentType, Htlc, Initiator};

/// Whose commitment transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Local,
    Remote,
}

/// One commitment transaction of a channel, as it would look if broadcast.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommitmentDust {
    pub side: Side,
    /// The owner's dust limit: `local_constraints` for the local commitment, `remote_constraints`
    /// for the remote one (or the fallback when the source did not report constraints).
    pub dust_limit_sat: u64,
    pub feerate_per_kw: u64,
    /// Thresholds from the OWNER's point of view (see [`TrimThresholds`]).
    pub thresholds: TrimThresholds,
    /// The uncapped BOLT 3 base fee (LND's `CommitFee` for this commitment; what LND's fee
    /// exposure counts and what BOLT 3's vectors call the base fee).
    pub base_fee_sat: u64,
    /// The part of the base fee the initiator can actually pay: `base_fee_sat` capped at its
    /// balance (BOLT 3 "Fee Payment": if it cannot pay, its whole output goes to fees).
    pub base_fee_paid_sat: u64,
    pub trimmed_htlc_count: u32,
    pub trimmed_htlc_sat: u64,
    pub untrimmed_htlc_count: u32,
    /// The commitment owner's balance output.
    pub to_local_trimmed: bool,
    pub to_remote_trimmed: bool,
    /// Owner's balance output value after fee and anchors (whether or not it is trimmed).
    pub to_local_sat: u64,
    pub to_remote_sat: u64,
    /// Expected weight: base weight + 172 per untrimmed HTLC.
    pub weight: u64,
    /// 0, 1 or 2 anchor outputs created.
    pub anchor_outputs: u8,
    /// The owner's anchor (`to_local_anchor`) exists.
    pub owner_anchor: bool,
    /// Anchor value that goes to fees because the anchor was not created.
    pub absent_anchor_sat: u64,
    /// `capacity − Σ outputs`: base fee + trimmed HTLCs + trimmed balances + absent anchors.
    pub fees_to_miners_sat: u64,
    /// `trimmed_htlc_sat + base_fee_sat`: LND's fee exposure on this commitment.
    pub fee_exposure_sat: u64,
}

impl CommitmentDust {
    /// Whether `htlc`, one of the channel's pending HTLCs, is trimmed on this commitment.
    ///
    /// Which HTLCs are trimmed follows from the owner's thresholds and each HTLC's direction
    /// and amount alone, so it is answered here rather than stored as a flag per HTLC (which
    /// cost an allocation per commitment built). It is the very rule the builder applied, on
    /// the same owner's view of the HTLC, so it agrees with `trimmed_htlc_count` and
    /// `trimmed_htlc_sat` for the HTLCs this commitment was built from.
    pub fn trims(&self, htlc: &Htlc) -> bool {
        owner_view(htlc, self.side).is_trimmed(&self.thresholds)
    }
}

/// What the engine assumed about a channel before building its commitments.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChannelAssumptions {
    pub commitment_type: CommitmentType,
    pub local_dust_limit_sat: u64,
    pub remote_dust_limit_sat: u64,
    pub initiator_is_local: bool,
    /// Each assumption that replaced missing or unknown data, in words.
    pub warnings: Vec<String>,
}

/// Resolves the facts the channel may lack: constraints (→ `params.fallback_dust_limit_sat`),
/// an `UNKNOWN` commitment type (→ analysed as anchors) and an unknown initiator.
///
/// Unknown initiator: the initiator pays the commitment fee out of its balance, so a channel
/// accepted without a push shows OUR balance at 0 while the peer holds everything. If our
/// balance is 0 and the peer's is not, the peer is assumed to be the initiator; otherwise we
/// are (our `local_balance + commit_fee` then accounts for the gross balance we funded).
pub(crate) fn resolve_assumptions(ch: &Channel, params: &DustParams) -> ChannelAssumptions {
    let mut warnings = Vec::new();
    if ch.commitment_type == CommitmentType::Unknown {
        warnings.push(
            "commitment type unknown to dustwatch: analysed as ANCHORS (zero-fee HTLC \
             transactions, 1124 base weight, 2 x 330 sat anchors)"
                .to_string(),
        );
    }
    let local_dust_limit_sat = match ch.local_constraints {
        Some(c) => c.dust_limit_sat,
        None => {
            warnings.push(format!(
                "local_constraints not reported: local dust limit assumed to be {} sat \
                 (analysis.fallback_dust_limit_sat), CSV delay unknown",
                params.fallback_dust_limit_sat
            ));
            params.fallback_dust_limit_sat
        }
    };
    let remote_dust_limit_sat = match ch.remote_constraints {
        Some(c) => c.dust_limit_sat,
        None => {
            warnings.push(format!(
                "remote_constraints not reported: remote dust limit assumed to be {} sat \
                 (analysis.fallback_dust_limit_sat)",
                params.fallback_dust_limit_sat
            ));
            params.fallback_dust_limit_sat
        }
    };
    let initiator_is_local = match ch.initiator {
        Initiator::Local => true,
        Initiator::Remote => false,
        Initiator::Unknown => {
            let local = !(ch.local_balance_sat == 0 && ch.remote_balance_sat > 0);
            warnings.push(format!(
                "initiator not reported: assumed {} (the side whose balance can carry the \
                 commitment fee)",
                if local { "local" } else { "remote" }
            ));
            local
        }
    };
    ChannelAssumptions {
        commitment_type: ch.commitment_type,
        local_dust_limit_sat,
        remote_dust_limit_sat,
        initiator_is_local,
        warnings,
    }
}

/// One pending HTLC as the owner of `side`'s commitment sees it: on our commitment we offered
/// the outgoing ones; on the peer's the roles swap (our outgoing HTLC is one the peer
/// receives).
fn owner_view(h: &Htlc, side: Side) -> CommitmentHtlc {
    CommitmentHtlc {
        offered_by_owner: match side {
            Side::Local => !h.incoming,
            Side::Remote => h.incoming,
        },
        amount_msat: h.amount_sat.saturating_mul(1000),
    }
}

/// The channel's pending HTLCs as the owner of `side`'s commitment sees them, made on the fly.
fn owner_view_htlcs(ch: &Channel, side: Side) -> impl Iterator<Item = CommitmentHtlc> + '_ {
    ch.pending_htlcs.iter().map(move |h| owner_view(h, side))
}

/// Gross (before fee and anchors) balances `(ours, theirs)` in satoshi; see the module docs.
fn gross_balances_sat(ch: &Channel, a: &ChannelAssumptions) -> (u64, u64) {
    let ct = a.commitment_type;
    // The base fee LND took from the initiator: the local commitment at the current feerate.
    // (This compares the satoshi amount as LND reports it, which for amounts above
    // `u64::MAX / 1000` is not what the builder compares: kept as it always was.)
    let thresholds = trim_thresholds(ct, a.local_dust_limit_sat, ch.fee_per_kw);
    let mut untrimmed_now = 0u64;
    let mut htlc_total = 0u64;
    for h in &ch.pending_htlcs {
        untrimmed_now += u64::from(!thresholds.is_trimmed(!h.incoming, h.amount_sat));
        htlc_total = htlc_total.saturating_add(h.amount_sat);
    }
    let base_fee_now = commitment_base_fee_sat(ct, ch.fee_per_kw, untrimmed_now);
    let anchors = if ct.has_anchors() {
        2 * ANCHOR_OUTPUT_SAT
    } else {
        0
    };

    let (initiator_net, other_net) = if a.initiator_is_local {
        (ch.local_balance_sat, ch.remote_balance_sat)
    } else {
        (ch.remote_balance_sat, ch.local_balance_sat)
    };
    let initiator_gross = if initiator_net == 0 {
        ch.capacity_sat
            .saturating_sub(other_net)
            .saturating_sub(htlc_total)
    } else {
        initiator_net
            .saturating_add(base_fee_now)
            .saturating_add(anchors)
    };
    if a.initiator_is_local {
        (initiator_gross, other_net)
    } else {
        (other_net, initiator_gross)
    }
}

/// What every commitment of one channel is built from, worked out once per channel: the gross
/// balances. A channel's commitments are built several times (both sides now, and again at each
/// fee-spike feerate) from the same inputs; each owner's view of the HTLCs is made on the fly
/// from `pending_htlcs`, so nothing here allocates.
pub(crate) struct SideInputs {
    /// Gross `(ours, theirs)` in satoshi (see [`gross_balances_sat`]).
    gross_sat: (u64, u64),
}

impl SideInputs {
    pub(crate) fn new(ch: &Channel, a: &ChannelAssumptions) -> Self {
        SideInputs {
            gross_sat: gross_balances_sat(ch, a),
        }
    }
}

/// The dust limit of `side`'s owner.
fn owner_dust_limit_sat(a: &ChannelAssumptions, side: Side) -> u64 {
    match side {
        Side::Local => a.local_dust_limit_sat,
        Side::Remote => a.remote_dust_limit_sat,
    }
}

/// `side`'s `(trimmed HTLC sat, fee exposure sat)` at `feerate_per_kw`: what a fee-spike what-if
/// reads of a commitment, equal to the `trimmed_htlc_sat` and `fee_exposure_sat` of
/// [`build_side`] at that feerate without building the rest.
///
/// `current` is `side`'s commitment at the channel's own feerate. When the thresholds at
/// `feerate_per_kw` are the same as its thresholds, which always holds for zero-fee-HTLC types
/// (their thresholds are the dust limit, whatever the feerate), the same HTLCs are trimmed and
/// only the base fee changes: no pass over the HTLCs is needed.
pub(crate) fn side_exposure_at(
    ch: &Channel,
    a: &ChannelAssumptions,
    current: &CommitmentDust,
    feerate_per_kw: u64,
) -> (u64, u64) {
    let ct = a.commitment_type;
    let side = current.side;
    let thresholds = trim_thresholds(ct, owner_dust_limit_sat(a, side), feerate_per_kw);
    let (trimmed_htlc_sat, untrimmed) = if thresholds == current.thresholds {
        (current.trimmed_htlc_sat, current.untrimmed_htlc_count)
    } else {
        let tally = HtlcTally::of(&thresholds, owner_view_htlcs(ch, side), |_| ());
        // HTLC amounts come from LND in whole satoshi, so this division is exact.
        (tally.trimmed_msat / 1000, tally.untrimmed_count)
    };
    let base_fee_sat = commitment_base_fee_sat(ct, feerate_per_kw, u64::from(untrimmed));
    (
        trimmed_htlc_sat,
        trimmed_htlc_sat.saturating_add(base_fee_sat),
    )
}

/// Builds `side`'s commitment of `ch` at `feerate_per_kw` under the resolved assumptions, from
/// the channel's [`SideInputs`].
pub(crate) fn build_side(
    ch: &Channel,
    a: &ChannelAssumptions,
    inputs: &SideInputs,
    side: Side,
    feerate_per_kw: u64,
) -> CommitmentDust {
    let (ours, theirs) = inputs.gross_sat;
    let (dust_limit_sat, owner_is_initiator, owner_gross, other_gross) = match side {
        Side::Local => (a.local_dust_limit_sat, a.initiator_is_local, ours, theirs),
        Side::Remote => (a.remote_dust_limit_sat, !a.initiator_is_local, theirs, ours),
    };
    let terms = CommitmentTerms {
        commitment_type: a.commitment_type,
        dust_limit_sat,
        feerate_per_kw,
        owner_is_initiator,
        to_local_msat: owner_gross.saturating_mul(1000),
        to_remote_msat: other_gross.saturating_mul(1000),
    };
    let built = build_outputs(&terms, owner_view_htlcs(ch, side), |_| ());
    from_built(
        ch.capacity_sat,
        a.commitment_type,
        side,
        dust_limit_sat,
        feerate_per_kw,
        built,
    )
}

fn from_built(
    capacity_sat: u64,
    ct: CommitmentType,
    side: Side,
    dust_limit_sat: u64,
    feerate_per_kw: u64,
    built: CommitmentOutputs,
) -> CommitmentDust {
    // HTLC amounts come from LND in whole satoshi, so this division is exact.
    let trimmed_htlc_sat = built.trimmed_htlc_msat / 1000;
    CommitmentDust {
        side,
        dust_limit_sat,
        feerate_per_kw,
        thresholds: built.thresholds,
        base_fee_sat: built.base_fee_sat,
        base_fee_paid_sat: built.base_fee_paid_msat / 1000,
        trimmed_htlc_count: built.trimmed_htlc_count,
        trimmed_htlc_sat,
        untrimmed_htlc_count: built.untrimmed_htlc_count,
        to_local_trimmed: built.to_local_trimmed,
        to_remote_trimmed: built.to_remote_trimmed,
        to_local_sat: built.to_local_sat,
        to_remote_sat: built.to_remote_sat,
        weight: built.weight,
        anchor_outputs: built.anchor_outputs(),
        owner_anchor: built.to_local_anchor,
        absent_anchor_sat: built.absent_anchor_sat(ct),
        fees_to_miners_sat: capacity_sat.saturating_sub(built.outputs_sat),
        fee_exposure_sat: trimmed_htlc_sat.saturating_add(built.base_fee_sat),
    }
}

/// `side`'s commitment of `ch` as it would be at `feerate_per_kw` (the channel's current one is
/// `ch.fee_per_kw`; LND uses the same feerate for both commitments). See the module docs for
/// how LND's net balances become BOLT 3 inputs.
pub fn commitment_dust(
    ch: &Channel,
    side: Side,
    feerate_per_kw: u64,
    params: &DustParams,
) -> CommitmentDust {
    let assumptions = resolve_assumptions(ch, params);
    let inputs = SideInputs::new(ch, &assumptions);
    build_side(ch, &assumptions, &inputs, side, feerate_per_kw)
}
