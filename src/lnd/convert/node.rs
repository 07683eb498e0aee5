//! Node-wide answers: GetInfo → [`NodeInfo`], WalletBalance → [`WalletBalance`], and the
//! fee-exposure limit from GetDebugInfo's config map.

use std::collections::HashMap;

use crate::lnd::pb;
use crate::model::{
    ExposureLimitSource, NodeExposureLimit, NodeInfo, SnapshotWarning, WalletBalance,
};

use super::notes::Notes;

/// GetDebugInfo config key of LND ≥ 0.18's per-channel fee-exposure limit (satoshis).
pub const MAX_FEE_EXPOSURE_KEY: &str = "channel-max-fee-exposure";
/// GetDebugInfo config key of the older name of the same limit (satoshis).
pub const DUST_THRESHOLD_KEY: &str = "dust-threshold";
/// Converts WalletBalance; negative balances are clamped to 0 with a warning.
pub fn wallet_balance(
    raw: &pb::WalletBalanceResponse,
    warnings: &mut Vec<SnapshotWarning>,
) -> WalletBalance {
    let mut notes = Notes::wallet(warnings);
    WalletBalance {
        confirmed_sat: notes.non_negative("confirmed_balance", raw.confirmed_balance),
        unconfirmed_sat: notes.non_negative("unconfirmed_balance", raw.unconfirmed_balance),
        locked_sat: notes.non_negative("locked_balance", raw.locked_balance),
        reserved_balance_anchor_chan_sat: notes.non_negative(
            "reserved_balance_anchor_chan",
            raw.reserved_balance_anchor_chan,
        ),
    }
}

/// Converts GetInfo. The network is the first chain's; a GetInfo without chains leaves it empty
/// and says so.
pub fn node_info(raw: &pb::GetInfoResponse, warnings: &mut Vec<SnapshotWarning>) -> NodeInfo {
    let network = match raw.chains.first() {
        Some(chain) => chain.network.clone(),
        None => {
            warnings.push(SnapshotWarning {
                chan_id: None,
                message: "GetInfo: no chain reported; network unknown".into(),
            });
            String::new()
        }
    };
    NodeInfo {
        identity_pubkey: raw.identity_pubkey.clone(),
        alias: raw.alias.clone(),
        version: raw.version.clone(),
        block_height: Some(raw.block_height),
        synced_to_chain: raw.synced_to_chain,
        network,
    }
}

/// Reads the node's own fee-exposure limit from GetDebugInfo's config map.
///
/// LND flattens its effective configuration into `option name → value printed with %v`;
/// both limits are plain satoshi integers there. `channel-max-fee-exposure` (LND ≥ 0.18) wins
/// over the older `dust-threshold`. A value that is not a positive satoshi amount is reported
/// and skipped, so the caller falls back to the configured limit.
pub fn node_exposure_limit(
    config: &HashMap<String, String>,
    warnings: &mut Vec<SnapshotWarning>,
) -> Option<NodeExposureLimit> {
    let candidates = [
        (
            MAX_FEE_EXPOSURE_KEY,
            ExposureLimitSource::LndChannelMaxFeeExposure,
        ),
        (DUST_THRESHOLD_KEY, ExposureLimitSource::LndDustThreshold),
    ];
    for (key, source) in candidates {
        let Some(text) = config.get(key) else {
            continue;
        };
        match parse_sat(text) {
            Some(sat) if sat > 0 => return Some(NodeExposureLimit { sat, source }),
            _ => warnings.push(SnapshotWarning {
                chan_id: None,
                message: format!(
                    "GetDebugInfo: `{key}` = {text:?} is not a positive satoshi amount; ignored"
                ),
            }),
        }
    }
    None
}

/// Parses a satoshi amount as LND prints it: digits, optionally followed by `sat`/`sats`.
fn parse_sat(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text
        .strip_suffix("sats")
        .or_else(|| text.strip_suffix("sat"))
        .unwrap_or(text)
        .trim_end();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}
