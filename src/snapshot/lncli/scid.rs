//! The short channel id of a `listchannels` channel or a `feereport` row, whichever way the
//! `lncli` version printed it.

use super::fields::{present, At, Field, Json};
use crate::model::ChanId;
use crate::snapshot::json::FieldError;

/// The fields that may carry a short channel id.
pub(super) struct ScidFields<'f, 'a> {
    pub scid: &'f Field<'a>,
    pub chan_id: &'f Field<'a>,
    pub scid_str: &'f Field<'a>,
}

/// The short channel id (`block << 40 | tx << 16 | output`) of the object at `at`.
///
/// LND ≤ 0.18 prints it as `chan_id`; `lncli` ≥ 0.19 prints it as `scid` (with `scid_str`) and
/// puts the 32-byte BOLT 2 channel id in hex into `chan_id`. `scid` wins when present.
pub(super) fn short_channel_id(
    at: &At<'_>,
    fields: &ScidFields<'_, '_>,
) -> Result<ChanId, FieldError> {
    const EXPECTED: &str = "a short channel id (uint64 as a decimal string or number)";
    if let Some(value) = present(fields.scid) {
        return as_chan_id(value)
            .ok_or_else(|| FieldError::new(at.key("scid"), EXPECTED, value.describe()));
    }
    if let Some(value) = present(fields.chan_id) {
        if let Some(id) = as_chan_id(value) {
            return Ok(id);
        }
        if let Some(id) = scid_from_str(at, fields.scid_str)? {
            return Ok(id);
        }
        let found = if is_bolt2_channel_id(value) {
            format!(
                "{} (a 32-byte channel id, and no `scid` next to it)",
                value.describe()
            )
        } else {
            value.describe()
        };
        return Err(FieldError::new(at.key("chan_id"), EXPECTED, found));
    }
    scid_from_str(at, fields.scid_str)?
        .ok_or_else(|| FieldError::missing(at.key("chan_id"), EXPECTED))
}

fn as_chan_id(value: &Json<'_>) -> Option<ChanId> {
    value.integer().and_then(|n| u64::try_from(n).ok())
}

fn is_bolt2_channel_id(value: &Json<'_>) -> bool {
    matches!(value, Json::Str(s) if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `scid_str` (`"BLOCKxTXxOUT"`, or `"BLOCK:TX:OUT"`) packed into a short channel id.
fn scid_from_str(at: &At<'_>, scid_str: &Field<'_>) -> Result<Option<ChanId>, FieldError> {
    let Some(text) = at.string("scid_str", scid_str)? else {
        return Ok(None);
    };
    parse_scid_str(text).map(Some).ok_or_else(|| {
        FieldError::new(
            at.key("scid_str"),
            "a short channel id written BLOCKxTXxOUTPUT",
            present(scid_str).map(Json::describe).unwrap_or_default(),
        )
    })
}

/// Packs `BLOCKxTXxOUT` into `block << 40 | tx << 16 | out`, checking each part's width
/// (24, 24 and 16 bits).
pub(crate) fn parse_scid_str(text: &str) -> Option<ChanId> {
    let separator = if text.contains('x') { 'x' } else { ':' };
    let mut parts = text.split(separator);
    let block: u64 = parts.next()?.parse().ok()?;
    let tx: u64 = parts.next()?.parse().ok()?;
    let out: u64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || block >= 1 << 24 || tx >= 1 << 24 || out >= 1 << 16 {
        return None;
    }
    Some(block << 40 | tx << 16 | out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scid_string_packs_block_tx_output() {
        assert_eq!(parse_scid_str("754x1x0"), Some(829_031_767_408_640));
        assert_eq!(parse_scid_str("754:1:0"), Some(829_031_767_408_640));
        assert_eq!(parse_scid_str("16777216x0x0"), None, "block needs 24 bits");
        assert_eq!(parse_scid_str("1x2"), None);
        assert_eq!(parse_scid_str("1x2x3x4"), None);
        assert_eq!(parse_scid_str("axbxc"), None);
    }
}
