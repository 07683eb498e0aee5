//! Per-HTLC view: where it is trimmed and how close it is to expiry.
//!
//! An HTLC near its CLTV expiry is force-close risk: LND goes on chain before an incoming HTLC
//! expires if it holds the preimage, or to time out an outgoing one. dustwatch warns below
//! `htlc_expiry_warn_blocks` and raises it to critical below `htlc_expiry_critical_blocks`.

use serde::Serialize;

use super::channel_view::CommitmentDust;
use crate::model::Channel;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpiryLevel {
    Ok,
    Warn,
    Critical,
    /// No block height known (offline analysis without `getinfo`).
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HtlcView {
    pub htlc_index: u64,
    pub incoming: bool,
    pub amount_sat: u64,
    pub expiration_height: u32,
    /// `expiration_height − block_height`; negative once expired; `None` without a block height.
    pub blocks_to_expiry: Option<i64>,
    pub expiry: ExpiryLevel,
    pub trimmed_on_local: bool,
    pub trimmed_on_remote: bool,
}

/// `expiration_height − block_height` (from GetInfo), `None` when the height is unknown.
pub fn blocks_to_expiry(expiration_height: u32, block_height: Option<u32>) -> Option<i64> {
    block_height.map(|h| i64::from(expiration_height) - i64::from(h))
}

/// Critical below `critical_blocks`, warning below `warn_blocks`, otherwise ok; unknown
/// without a block height. An already expired HTLC (negative) is critical.
pub fn expiry_level(
    blocks_to_expiry: Option<i64>,
    warn_blocks: u32,
    critical_blocks: u32,
) -> ExpiryLevel {
    match blocks_to_expiry {
        None => ExpiryLevel::Unknown,
        Some(b) if b < i64::from(critical_blocks) => ExpiryLevel::Critical,
        Some(b) if b < i64::from(warn_blocks) => ExpiryLevel::Warn,
        Some(_) => ExpiryLevel::Ok,
    }
}

/// One [`HtlcView`] per pending HTLC, in the channel's order; `local` and `remote` are the
/// channel's two commitments at its current feerate (see [`CommitmentDust::trims`]).
pub(crate) fn htlc_views(
    ch: &Channel,
    block_height: Option<u32>,
    local: &CommitmentDust,
    remote: &CommitmentDust,
    warn_blocks: u32,
    critical_blocks: u32,
) -> Vec<HtlcView> {
    ch.pending_htlcs
        .iter()
        .map(|h| {
            let blocks = blocks_to_expiry(h.expiration_height, block_height);
            HtlcView {
                htlc_index: h.htlc_index,
                incoming: h.incoming,
                amount_sat: h.amount_sat,
                expiration_height: h.expiration_height,
                blocks_to_expiry: blocks,
                expiry: expiry_level(blocks, warn_blocks, critical_blocks),
                trimmed_on_local: local.trims(h),
                trimmed_on_remote: remote.trims(h),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        assert_eq!(blocks_to_expiry(1030, Some(1000)), Some(30));
        assert_eq!(blocks_to_expiry(990, Some(1000)), Some(-10));
        assert_eq!(blocks_to_expiry(990, None), None);
        assert_eq!(expiry_level(Some(-10), 144, 40), ExpiryLevel::Critical);
        assert_eq!(expiry_level(Some(39), 144, 40), ExpiryLevel::Critical);
        assert_eq!(expiry_level(Some(40), 144, 40), ExpiryLevel::Warn);
        assert_eq!(expiry_level(Some(143), 144, 40), ExpiryLevel::Warn);
        assert_eq!(expiry_level(Some(144), 144, 40), ExpiryLevel::Ok);
        assert_eq!(expiry_level(None, 144, 40), ExpiryLevel::Unknown);
        assert_eq!(
            blocks_to_expiry(u32::MAX, Some(0)),
            Some(i64::from(u32::MAX))
        );
    }
}
