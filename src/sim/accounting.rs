//! Channel accounting: every change to a simulated channel keeps it consistent the way LND's
//! own numbers are.
//!
//! The invariant (our commitment, whole satoshis):
//!
//! ```text
//! local_balance + remote_balance + anchors (2 × 330 for anchor types) + base fee + Σ HTLCs = capacity
//! commit_fee = capacity − Σ outputs of our commitment
//!            = base fee + trimmed HTLCs + trimmed balance outputs + anchors not created
//! ```
//!
//! The initiator pays the base fee and the anchors, so its balance is *derived*: whatever is
//! left of the capacity after the other side's balance, the HTLCs, the anchors and the fee.
//! Every change (an HTLC added or removed, a feerate update) re-derives it, and a change the
//! initiator cannot afford is refused and rolled back. The base fee and the trimming come
//! from the dust engine, so the simulator's channels are exactly what BOLT 3 says they are.

use crate::dust::{self, DustParams, Side};
use crate::model::{Channel, CommitmentType, Htlc, Initiator};

/// Value of one anchor output (BOLT 3).
pub const ANCHOR_SAT: u64 = 330;

/// Extra commitment weight of one untrimmed HTLC output (BOLT 3).
pub const HTLC_OUTPUT_WEIGHT: u64 = 172;

/// A change the channel cannot carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountingError {
    #[error("channel {chan_id}: the initiator cannot pay {needed_sat} sat out of a {capacity_sat} sat channel")]
    InitiatorOverdrawn {
        chan_id: u64,
        needed_sat: u64,
        capacity_sat: u64,
    },
    #[error("channel {chan_id}: the offering side has {balance_sat} sat, cannot offer {amount_sat} sat and keep its {reserve_sat} sat reserve")]
    OffererOverdrawn {
        chan_id: u64,
        balance_sat: u64,
        amount_sat: u64,
        reserve_sat: u64,
    },
    #[error("channel {chan_id}: unknown initiator, nobody to charge the commitment fee to")]
    UnknownInitiator { chan_id: u64 },
    #[error("channel {chan_id}: no pending HTLC at position {position}")]
    NoSuchHtlc { chan_id: u64, position: usize },
}

/// How a pending HTLC left the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The preimage was revealed: the amount goes to the receiving side.
    Settled,
    /// Failed back: the amount returns to the offering side.
    Failed,
}

/// Anchor value the initiator pays for (both anchors, whether or not they end up created).
pub fn anchors_paid_sat(ct: CommitmentType) -> u64 {
    if ct.has_anchors() {
        2 * ANCHOR_SAT
    } else {
        0
    }
}

fn local_is_initiator(ch: &Channel) -> Result<bool, AccountingError> {
    match ch.initiator {
        Initiator::Local => Ok(true),
        Initiator::Remote => Ok(false),
        Initiator::Unknown => Err(AccountingError::UnknownInitiator {
            chan_id: ch.chan_id,
        }),
    }
}

fn htlc_sum_sat(ch: &Channel) -> u64 {
    ch.pending_htlcs
        .iter()
        .fold(0u64, |acc, h| acc.saturating_add(h.amount_sat))
}

/// Re-derives the initiator's balance, `commit_fee`, `commit_weight` and `unsettled_balance`
/// from the capacity, the feerate, the HTLCs and the non-initiator's balance.
pub fn settle(ch: &mut Channel, params: &DustParams) -> Result<(), AccountingError> {
    let local_initiates = local_is_initiator(ch)?;
    // The base fee depends only on which HTLCs are untrimmed, not on the balances; evaluate it
    // with the initiator holding everything so no "fee capped at the balance" rule can bite.
    if local_initiates {
        ch.local_balance_sat = ch.capacity_sat;
    } else {
        ch.remote_balance_sat = ch.capacity_sat;
    }
    let probe = dust::commitment_dust(ch, Side::Local, ch.fee_per_kw, params);
    let other = if local_initiates {
        ch.remote_balance_sat
    } else {
        ch.local_balance_sat
    };
    let htlcs = htlc_sum_sat(ch);
    let needed = anchors_paid_sat(ch.commitment_type)
        .saturating_add(probe.base_fee_sat)
        .saturating_add(htlcs)
        .saturating_add(other);
    if needed > ch.capacity_sat {
        return Err(AccountingError::InitiatorOverdrawn {
            chan_id: ch.chan_id,
            needed_sat: needed,
            capacity_sat: ch.capacity_sat,
        });
    }
    let initiator_balance = ch.capacity_sat - needed;
    if local_initiates {
        ch.local_balance_sat = initiator_balance;
    } else {
        ch.remote_balance_sat = initiator_balance;
    }
    let ours = dust::commitment_dust(ch, Side::Local, ch.fee_per_kw, params);
    ch.commit_fee_sat = ours.fees_to_miners_sat;
    ch.commit_weight = dust::commitment_base_weight(ch.commitment_type)
        + HTLC_OUTPUT_WEIGHT * u64::from(ours.untrimmed_htlc_count);
    ch.unsettled_balance_sat = htlcs;
    Ok(())
}

/// Applies `change`, re-settles and runs `check` on the result; on any failure the channel
/// is left exactly as it was.
fn transact(
    ch: &mut Channel,
    params: &DustParams,
    change: impl FnOnce(&mut Channel) -> Result<(), AccountingError>,
    check: impl FnOnce(&Channel) -> Result<(), AccountingError>,
) -> Result<(), AccountingError> {
    let before = ch.clone();
    let result = change(ch)
        .and_then(|()| settle(ch, params))
        .and_then(|()| check(ch));
    if result.is_err() {
        *ch = before;
    }
    result
}

fn no_check(_: &Channel) -> Result<(), AccountingError> {
    Ok(())
}

/// Adds an HTLC offered by the side `htlc.incoming` names (the peer when incoming); the
/// offerer pays its amount and must keep its channel reserve afterwards (for an initiator,
/// after also paying the extra HTLC output's fee).
pub fn add_htlc(ch: &mut Channel, htlc: Htlc, params: &DustParams) -> Result<(), AccountingError> {
    let local_initiates = local_is_initiator(ch)?;
    let offerer_is_local = !htlc.incoming;
    let amount = htlc.amount_sat;
    let offerer = move |ch: &Channel| {
        if offerer_is_local {
            (ch.local_balance_sat, ch.local_chan_reserve_sat)
        } else {
            (ch.remote_balance_sat, ch.remote_chan_reserve_sat)
        }
    };
    let (balance_before, reserve) = offerer(ch);
    let overdrawn = AccountingError::OffererOverdrawn {
        chan_id: ch.chan_id,
        balance_sat: balance_before,
        amount_sat: amount,
        reserve_sat: reserve,
    };
    let refused = overdrawn.clone();
    transact(
        ch,
        params,
        |ch| {
            // A non-initiator pays out of its explicit balance; the initiator's balance is
            // re-derived by `settle` (the HTLC sum grew by `amount`).
            if offerer_is_local != local_initiates {
                let balance = if offerer_is_local {
                    &mut ch.local_balance_sat
                } else {
                    &mut ch.remote_balance_sat
                };
                *balance = balance.checked_sub(amount).ok_or(refused)?;
            }
            ch.pending_htlcs.push(htlc);
            ch.num_updates += 1;
            Ok(())
        },
        |ch| {
            if offerer(ch).0 < reserve {
                Err(overdrawn)
            } else {
                Ok(())
            }
        },
    )
}

/// Removes the HTLC at `position` in `pending_htlcs`: a settled HTLC pays the receiver, a
/// failed one returns to the offerer. Totals sent/received count settled amounts.
pub fn remove_htlc(
    ch: &mut Channel,
    position: usize,
    resolution: Resolution,
    params: &DustParams,
) -> Result<Htlc, AccountingError> {
    let local_initiates = local_is_initiator(ch)?;
    let htlc = ch
        .pending_htlcs
        .get(position)
        .cloned()
        .ok_or(AccountingError::NoSuchHtlc {
            chan_id: ch.chan_id,
            position,
        })?;
    let offerer_is_local = !htlc.incoming;
    let recipient_is_local = match resolution {
        Resolution::Settled => !offerer_is_local,
        Resolution::Failed => offerer_is_local,
    };
    let change = |ch: &mut Channel| {
        ch.pending_htlcs.remove(position);
        if recipient_is_local != local_initiates {
            if recipient_is_local {
                ch.local_balance_sat = ch.local_balance_sat.saturating_add(htlc.amount_sat);
            } else {
                ch.remote_balance_sat = ch.remote_balance_sat.saturating_add(htlc.amount_sat);
            }
        }
        if resolution == Resolution::Settled {
            if htlc.incoming {
                ch.total_satoshis_received += htlc.amount_sat;
            } else {
                ch.total_satoshis_sent += htlc.amount_sat;
            }
        }
        ch.num_updates += 1;
        Ok(())
    };
    transact(ch, params, change, no_check)?;
    Ok(htlc)
}

/// Moves the commitment to a new feerate (an `update_fee`), if the initiator can pay it.
pub fn set_feerate(
    ch: &mut Channel,
    feerate_per_kw: u64,
    params: &DustParams,
) -> Result<(), AccountingError> {
    let change = |ch: &mut Channel| {
        ch.fee_per_kw = feerate_per_kw;
        ch.num_updates += 1;
        Ok(())
    };
    transact(ch, params, change, no_check)
}

/// Checks a channel against the invariant, computing the commitment's outputs independently
/// of the dust engine (straight from BOLT 3) and cross-checking the engine's numbers.
/// Returns every violation found, each naming the channel.
pub fn check_consistency(ch: &Channel, params: &DustParams) -> Vec<String> {
    let mut problems = Vec::new();
    let id = ch.chan_id;
    let Some(local_cfg) = ch.local_constraints else {
        return vec![format!("channel {id}: no local constraints")];
    };
    let dust_limit = local_cfg.dust_limit_sat;
    let feerate = ch.fee_per_kw;
    let anchors = ch.commitment_type.has_anchors();
    // BOLT 3 second-level fees on our commitment: our offered HTLCs need HTLC-timeout,
    // received ones HTLC-success; zero for zero-fee-HTLC (anchor and taproot) channels.
    let (timeout_fee, success_fee) = if anchors {
        (0, 0)
    } else {
        (feerate * 663 / 1000, feerate * 703 / 1000)
    };
    let mut untrimmed = 0u64;
    let mut untrimmed_sat = 0u64;
    let mut htlc_sat = 0u64;
    for h in &ch.pending_htlcs {
        htlc_sat += h.amount_sat;
        let threshold = dust_limit + if h.incoming { success_fee } else { timeout_fee };
        if h.amount_sat >= threshold {
            untrimmed += 1;
            untrimmed_sat += h.amount_sat;
        }
    }
    let base_fee = feerate
        * (dust::commitment_base_weight(ch.commitment_type) + HTLC_OUTPUT_WEIGHT * untrimmed)
        / 1000;
    let total = ch.local_balance_sat
        + ch.remote_balance_sat
        + anchors_paid_sat(ch.commitment_type)
        + base_fee
        + htlc_sat;
    if total != ch.capacity_sat {
        problems.push(format!(
            "channel {id}: local {} + remote {} + anchors {} + base fee {base_fee} + HTLCs {htlc_sat} = {total}, capacity is {}",
            ch.local_balance_sat,
            ch.remote_balance_sat,
            anchors_paid_sat(ch.commitment_type),
            ch.capacity_sat
        ));
    }
    let to_local = ch.local_balance_sat >= dust_limit;
    let to_remote = ch.remote_balance_sat >= dust_limit;
    let mut outputs = untrimmed_sat;
    if to_local {
        outputs += ch.local_balance_sat;
    }
    if to_remote {
        outputs += ch.remote_balance_sat;
    }
    if anchors {
        // An anchor exists for a side whose balance output exists, or for both sides while
        // any HTLC output exists.
        let created = u64::from(to_local || untrimmed > 0) + u64::from(to_remote || untrimmed > 0);
        outputs += created * ANCHOR_SAT;
    }
    let expected_commit_fee = ch.capacity_sat.saturating_sub(outputs);
    if ch.commit_fee_sat != expected_commit_fee {
        problems.push(format!(
            "channel {id}: commit_fee {} but capacity − Σ outputs is {expected_commit_fee}",
            ch.commit_fee_sat
        ));
    }
    let engine = dust::commitment_dust(ch, Side::Local, feerate, params);
    if engine.fees_to_miners_sat != ch.commit_fee_sat {
        problems.push(format!(
            "channel {id}: dust engine says fees to miners {} but commit_fee is {}",
            engine.fees_to_miners_sat, ch.commit_fee_sat
        ));
    }
    if engine.base_fee_sat != base_fee {
        problems.push(format!(
            "channel {id}: dust engine base fee {} but BOLT 3 gives {base_fee}",
            engine.base_fee_sat
        ));
    }
    let weight = dust::commitment_base_weight(ch.commitment_type) + HTLC_OUTPUT_WEIGHT * untrimmed;
    if ch.commit_weight != weight {
        problems.push(format!(
            "channel {id}: commit_weight {} but expected {weight}",
            ch.commit_weight
        ));
    }
    if ch.unsettled_balance_sat != htlc_sat {
        problems.push(format!(
            "channel {id}: unsettled_balance {} but HTLCs sum to {htlc_sat}",
            ch.unsettled_balance_sat
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for h in &ch.pending_htlcs {
        if !seen.insert((h.incoming, h.htlc_index)) {
            problems.push(format!(
                "channel {id}: duplicate htlc_index {} (incoming: {})",
                h.htlc_index, h.incoming
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Constraints, PaymentHash};
    use crate::settings::AnalysisSettings;

    fn params() -> DustParams {
        DustParams::from_settings(&AnalysisSettings::default(), None)
    }

    fn channel(ct: CommitmentType, initiator: Initiator, feerate: u64) -> Channel {
        let constraints = Constraints {
            csv_delay: 144,
            chan_reserve_sat: 10_000,
            dust_limit_sat: 354,
            max_pending_amt_msat: 990_000_000,
            min_htlc_msat: 1,
            max_accepted_htlcs: 483,
        };
        Channel {
            chan_id: 1,
            channel_point: "00:0".into(),
            remote_pubkey: "02".into(),
            peer_alias: String::new().into(),
            active: true,
            private: false,
            initiator,
            commitment_type: ct,
            capacity_sat: 1_000_000,
            local_balance_sat: 0,
            remote_balance_sat: 400_000,
            commit_fee_sat: 0,
            commit_weight: 0,
            fee_per_kw: feerate,
            unsettled_balance_sat: 0,
            total_satoshis_sent: 0,
            total_satoshis_received: 0,
            num_updates: 0,
            lifetime_secs: 0,
            uptime_secs: 0,
            local_chan_reserve_sat: 10_000,
            remote_chan_reserve_sat: 10_000,
            push_amount_sat: 0,
            local_constraints: Some(constraints),
            remote_constraints: Some(constraints),
            pending_htlcs: Vec::new(),
            local_policy: None,
            remote_policy: None,
        }
    }

    fn htlc(incoming: bool, amount_sat: u64, index: u64) -> Htlc {
        Htlc {
            incoming,
            amount_sat,
            hash_lock: Some(PaymentHash([0; 32])),
            expiration_height: 900_000,
            htlc_index: index,
            forwarding_channel: 0,
            forwarding_htlc_index: 0,
            locked_in: true,
        }
    }

    #[test]
    fn settle_derives_the_initiator_balance_from_bolt3_fees() {
        let p = params();
        let mut ch = channel(CommitmentType::Anchors, Initiator::Local, 2_500);
        settle(&mut ch, &p).unwrap();
        // 1124 weight at 2500 sat/kw = 2810 sat, plus two anchors of 330.
        assert_eq!(ch.local_balance_sat, 1_000_000 - 400_000 - 2_810 - 660);
        assert_eq!(ch.commit_fee_sat, 2_810);
        assert_eq!(ch.commit_weight, 1_124);
        assert!(check_consistency(&ch, &p).is_empty());
    }

    #[test]
    fn dust_htlc_is_paid_by_its_offerer_and_lands_in_the_commit_fee() {
        let p = params();
        let mut ch = channel(CommitmentType::StaticRemoteKey, Initiator::Local, 10_000);
        settle(&mut ch, &p).unwrap();
        let (local, remote, fee) = (
            ch.local_balance_sat,
            ch.remote_balance_sat,
            ch.commit_fee_sat,
        );
        // Incoming 5,000 sat: below 354 + 703 × 10 = 7,384, so trimmed on our commitment.
        add_htlc(&mut ch, htlc(true, 5_000, 0), &p).unwrap();
        assert_eq!(ch.remote_balance_sat, remote - 5_000);
        assert_eq!(
            ch.local_balance_sat, local,
            "a trimmed HTLC adds no output weight"
        );
        assert_eq!(ch.commit_fee_sat, fee + 5_000);
        assert!(check_consistency(&ch, &p).is_empty());
        // Outgoing 100,000 sat: untrimmed, so our balance pays the amount and 172 weight.
        add_htlc(&mut ch, htlc(false, 100_000, 0), &p).unwrap();
        assert_eq!(ch.local_balance_sat, local - 100_000 - 1_720);
        assert!(
            check_consistency(&ch, &p).is_empty(),
            "{:?}",
            check_consistency(&ch, &p)
        );
        // Settling the outgoing one pays the peer; failing the incoming one refunds the peer.
        let pos = ch.pending_htlcs.iter().position(|h| !h.incoming).unwrap();
        remove_htlc(&mut ch, pos, Resolution::Settled, &p).unwrap();
        assert_eq!(ch.remote_balance_sat, remote - 5_000 + 100_000);
        assert_eq!(ch.total_satoshis_sent, 100_000);
        remove_htlc(&mut ch, 0, Resolution::Failed, &p).unwrap();
        assert_eq!(ch.remote_balance_sat, remote + 100_000);
        assert_eq!(ch.local_balance_sat, local - 100_000);
        assert!(check_consistency(&ch, &p).is_empty());
    }

    #[test]
    fn refused_changes_leave_the_channel_untouched() {
        let p = params();
        let mut ch = channel(CommitmentType::Legacy, Initiator::Remote, 253);
        ch.local_balance_sat = 50_000;
        settle(&mut ch, &p).unwrap();
        let before = ch.clone();
        // We would drop below our 10,000 sat reserve.
        let err = add_htlc(&mut ch, htlc(false, 45_000, 0), &p).unwrap_err();
        assert!(
            matches!(err, AccountingError::OffererOverdrawn { .. }),
            "{err}"
        );
        assert_eq!(ch, before);
        // The initiator (remote) cannot pay a 5,000,000 sat/kw commitment.
        let err = set_feerate(&mut ch, 5_000_000, &p).unwrap_err();
        assert!(
            matches!(err, AccountingError::InitiatorOverdrawn { .. }),
            "{err}"
        );
        assert_eq!(ch, before);
    }

    #[test]
    fn consistency_check_catches_a_wrong_commit_fee() {
        let p = params();
        let mut ch = channel(CommitmentType::SimpleTaprootFinal, Initiator::Local, 1_000);
        settle(&mut ch, &p).unwrap();
        assert!(check_consistency(&ch, &p).is_empty());
        ch.commit_fee_sat += 1;
        let problems = check_consistency(&ch, &p);
        assert!(
            problems.iter().any(|m| m.contains("commit_fee")),
            "{problems:?}"
        );
    }

    #[test]
    fn absent_anchor_goes_to_fees() {
        let p = params();
        // Remote opened, we hold nothing: no to_local output and no anchor for us.
        let mut ch = channel(CommitmentType::Anchors, Initiator::Remote, 253);
        ch.local_balance_sat = 0;
        settle(&mut ch, &p).unwrap();
        assert_eq!(ch.commit_fee_sat, 1_124 * 253 / 1000 + ANCHOR_SAT);
        assert!(check_consistency(&ch, &p).is_empty());
    }
}
