//! `lncli listchannels` → open [`Channel`]s.
//!
//! The file as a whole must be an object with a `channels` array; each element is deserialized
//! on its own into typed fields (see [`channel`](super::channel)) and then read, and one that cannot be read is
//! skipped with a warning naming its index, its id (when that much could be read) and the JSON
//! path of the problem.

use std::collections::HashSet;

use serde::Deserialize;

use super::channel::{read_channel, Item};
use super::fields::Place;
use super::stream::stream_array;
use super::{parse_document, root, warning, LncliError, LncliText};
use crate::model::{ChanId, Channel, SnapshotWarning};
use crate::snapshot::json::FieldError;

/// Reads every readable channel of a `listchannels` document in memory, in file order.
///
/// A well-formed document is streamed: each element of `channels` is deserialized and read on
/// its own and then dropped, so a big node's file never becomes one tree in memory. Anything
/// else (a syntax error, a top level that is not an object, `channels` missing, repeated or not
/// an array, a key repeated within a channel) is read again as a whole by [`read_whole`],
/// whose errors name the path and what was found there.
pub(super) fn read(
    text: &LncliText<'_>,
    warnings: &mut Vec<SnapshotWarning>,
) -> Result<Vec<Channel>, LncliError> {
    match stream(text.json, text.name) {
        Some(reader) => Ok(reader.commit(warnings)),
        None => read_whole(text, warnings),
    }
}

/// The channels and warnings of a well-formed document, or `None` when it is not one.
fn stream<'n>(json: &str, name: &'n str) -> Option<ChannelReader<'n>> {
    let mut reader = ChannelReader::new(name, 0);
    let found = stream_array(json, "channels", |item: Item<'_>, index| {
        reader.item(&item, index)
    });
    matches!(found, Ok(true)).then_some(reader)
}

/// What [`read`] keeps while it streams; committed only when the whole document was read.
struct ChannelReader<'n> {
    name: &'n str,
    channels: Vec<Channel>,
    seen: HashSet<ChanId>,
    warnings: Vec<SnapshotWarning>,
}

impl<'n> ChannelReader<'n> {
    fn new(name: &'n str, capacity: usize) -> Self {
        ChannelReader {
            name,
            channels: Vec::with_capacity(capacity),
            seen: HashSet::with_capacity(capacity),
            warnings: Vec::new(),
        }
    }

    /// Reads the element `index` of `channels` into the list, or names why it was skipped.
    fn item(&mut self, item: &Item<'_>, index: usize) {
        channel_item(
            self.name,
            item,
            Place::Index(&Place::Key(&Place::Root, "channels"), index),
            &mut self.seen,
            &mut self.channels,
            &mut self.warnings,
        );
    }

    /// The channels read, their warnings appended to `warnings`.
    fn commit(mut self, warnings: &mut Vec<SnapshotWarning>) -> Vec<Channel> {
        warnings.append(&mut self.warnings);
        self.channels
    }
}

/// The whole document as one tree: the reading that explains errors, and the one for a file
/// the streaming reading refused (e.g. a key repeated within a channel: the last one counts).
fn read_whole(
    text: &LncliText<'_>,
    warnings: &mut Vec<SnapshotWarning>,
) -> Result<Vec<Channel>, LncliError> {
    let value = parse_document(text)?;
    let top = root(text, &value)?;
    let items = top
        .array("channels")
        .and_then(|items| {
            items.ok_or_else(|| {
                FieldError::missing(top.path().key("channels"), "an array of channels")
            })
        })
        .map_err(|e| LncliError::shape(text.name, e))?;

    let mut reader = ChannelReader::new(text.name, items.len());
    for (index, value) in items.iter().enumerate() {
        match Item::deserialize(value) {
            Ok(item) => reader.item(&item, index),
            // Not reached: an `Item` takes any value, and a parsed object has no repeated keys.
            Err(error) => reader.warnings.push(warning(
                None,
                text.name,
                format!("`channels[{index}]` skipped: {error}"),
            )),
        }
    }
    Ok(reader.commit(warnings))
}

/// Reads one element of `channels` at `place` into `channels`, or names why it was skipped.
fn channel_item(
    name: &str,
    item: &Item<'_>,
    place: Place<'_>,
    seen: &mut HashSet<ChanId>,
    channels: &mut Vec<Channel>,
    warnings: &mut Vec<SnapshotWarning>,
) {
    match read_channel(item, place) {
        Ok((channel, notes)) => {
            let id = channel.chan_id;
            if !seen.insert(id) {
                warnings.push(warning(
                    Some(id),
                    name,
                    format!(
                        "`{}` (chan_id {id}) skipped: an earlier channel has the same chan_id",
                        place.path()
                    ),
                ));
                return;
            }
            for note in notes {
                warnings.push(warning(Some(id), name, format!("channel {id}: {note}")));
            }
            channels.push(channel);
        }
        Err(unreadable) => {
            let path = place.path();
            let named = match unreadable.chan_id {
                Some(id) => format!("`{path}` (chan_id {id})"),
                None => format!("`{path}`"),
            };
            warnings.push(warning(
                unreadable.chan_id,
                name,
                format!("{named} skipped: {}", unreadable.error),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CommitmentType, Initiator, PaymentHash};
    use serde_json::{json, Value};

    fn one(channel: Value) -> (Vec<Channel>, Vec<SnapshotWarning>) {
        let doc = json!({ "channels": [channel] }).to_string();
        let mut warnings = Vec::new();
        let text = LncliText {
            name: "lc.json",
            json: &doc,
        };
        let channels = read(&text, &mut warnings).unwrap();
        (channels, warnings)
    }

    fn minimal() -> Value {
        json!({
            "chan_id": "967570232344576001",
            "capacity": "1000000",
            "local_balance": "500000",
            "remote_balance": "496380",
            "commit_fee": "2960",
            "fee_per_kw": "2500",
        })
    }

    #[test]
    fn minimal_channel_takes_lnd_defaults_for_missing_fields() {
        let (channels, warnings) = one(minimal());
        assert!(warnings.is_empty(), "{warnings:?}");
        let c = &channels[0];
        assert_eq!(c.chan_id, 967_570_232_344_576_001);
        assert_eq!(c.commitment_type, CommitmentType::Legacy);
        assert_eq!(c.initiator, Initiator::Unknown);
        assert_eq!(c.local_constraints, None);
        assert!(c.pending_htlcs.is_empty());
        assert_eq!(c.commit_weight, 0);
    }

    #[test]
    fn static_remote_key_flag_stands_in_for_missing_commitment_type() {
        let mut c = minimal();
        c["static_remote_key"] = json!(true);
        assert_eq!(one(c).0[0].commitment_type, CommitmentType::StaticRemoteKey);
    }

    #[test]
    fn commitment_type_by_name_number_and_unknown() {
        for (value, expected) in [
            (json!("ANCHORS"), CommitmentType::Anchors),
            (json!("TAPROOT"), CommitmentType::SimpleTaprootFinal),
            (
                json!("SIMPLE_TAPROOT_OVERLAY"),
                CommitmentType::SimpleTaprootOverlay,
            ),
            (json!(3), CommitmentType::Anchors),
            (json!("UNKNOWN_COMMITMENT_TYPE"), CommitmentType::Unknown),
            (json!("QUANTUM_SAFE"), CommitmentType::Unknown),
        ] {
            let mut c = minimal();
            c["commitment_type"] = value.clone();
            let (channels, warnings) = one(c);
            assert_eq!(channels[0].commitment_type, expected, "{value}");
            assert_eq!(
                warnings.len(),
                usize::from(expected == CommitmentType::Unknown),
                "{warnings:?}"
            );
        }
        let mut c = minimal();
        c["commitment_type"] = json!(["ANCHORS"]);
        let (channels, warnings) = one(c);
        assert!(channels.is_empty());
        assert!(warnings[0].message.contains("channels[0].commitment_type"));
    }

    #[test]
    fn new_lncli_chan_id_rewrite_uses_scid() {
        let mut c = minimal();
        c["chan_id"] = json!("196a03cc9fdc11bf39e8081cc315657688df971654a6330ab8e144b7e312b36a");
        c["scid"] = json!("829031767408640");
        c["scid_str"] = json!("754x1x0");
        assert_eq!(one(c.clone()).0[0].chan_id, 829_031_767_408_640);

        // Without `scid`, `scid_str` still identifies the channel.
        c.as_object_mut().unwrap().remove("scid");
        assert_eq!(one(c.clone()).0[0].chan_id, 829_031_767_408_640);

        // With neither, the hex id cannot be turned into a short channel id.
        c.as_object_mut().unwrap().remove("scid_str");
        let (channels, warnings) = one(c);
        assert!(channels.is_empty());
        assert!(
            warnings[0].message.contains("32-byte channel id"),
            "{warnings:?}"
        );
        assert_eq!(warnings[0].chan_id, None);
    }

    #[test]
    fn unreadable_channel_is_skipped_and_named() {
        let mut c = minimal();
        c["local_balance"] = json!({"sat": 5});
        let (channels, warnings) = one(c);
        assert!(channels.is_empty());
        let w = &warnings[0];
        assert_eq!(w.chan_id, Some(967_570_232_344_576_001));
        assert!(w
            .message
            .starts_with("lc.json: `channels[0]` (chan_id 967570232344576001) skipped"));
        assert!(
            w.message.contains("channels[0].local_balance"),
            "{}",
            w.message
        );
        assert!(w.message.contains("an object"), "{}", w.message);
    }

    #[test]
    fn negative_and_absurd_numbers_are_clamped_with_warnings() {
        let mut c = minimal();
        c["remote_balance"] = json!("-12");
        c["total_satoshis_sent"] = json!(-1);
        c["fee_per_kw"] = json!("99999999999999999999");
        let (channels, warnings) = one(c);
        let ch = &channels[0];
        assert_eq!(ch.remote_balance_sat, 0);
        assert_eq!(ch.total_satoshis_sent, 0);
        assert_eq!(ch.fee_per_kw, u64::from(u32::MAX));
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings
            .iter()
            .all(|w| w.chan_id == Some(967_570_232_344_576_001)));
        assert!(warnings[0].message.contains("channels[0].remote_balance"));
    }

    #[test]
    fn htlc_needs_direction_and_amount() {
        let mut c = minimal();
        c["pending_htlcs"] = json!([{ "amount": "500" }]);
        let (channels, warnings) = one(c);
        assert!(channels.is_empty());
        assert!(warnings[0].message.contains("pending_htlcs[0].incoming"));
    }

    #[test]
    fn hash_lock_hex_base64_and_junk() {
        let hex_hash = "a".repeat(64);
        let b64 = "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=";
        let hash = |text: &str| PaymentHash::from_hex(text);
        for (given, want, warn) in [
            (hex_hash.clone(), hash(&hex_hash), 0),
            (hex_hash.to_uppercase(), hash(&hex_hash), 0),
            (b64.to_owned(), hash(&"ab".repeat(32)), 0),
            (String::new(), None, 0),
            ("not a hash".to_owned(), None, 1),
            // Hex of 31 bytes, and base64 of 4: well formed, but not a 32-byte hash.
            ("ab".repeat(31), None, 1),
            ("AwMDAw==".to_owned(), None, 1),
        ] {
            let mut c = minimal();
            c["pending_htlcs"] = json!([{ "incoming": true, "amount": "500", "hash_lock": given }]);
            let (channels, warnings) = one(c);
            assert_eq!(channels.len(), 1, "{given:?}: the channel is kept");
            assert_eq!(channels[0].pending_htlcs[0].hash_lock, want, "{given:?}");
            assert_eq!(warnings.len(), warn, "{given:?}: {warnings:?}");
        }
        let (_, warnings) = one({
            let mut c = minimal();
            c["pending_htlcs"] =
                json!([{ "incoming": true, "amount": "500", "hash_lock": "AwMDAw==" }]);
            c
        });
        assert!(
            warnings[0].message.contains("pending_htlcs[0].hash_lock"),
            "{warnings:?}"
        );
    }

    #[test]
    fn duplicate_chan_id_keeps_the_first() {
        let doc = json!({ "channels": [minimal(), minimal()] }).to_string();
        let mut warnings = Vec::new();
        let text = LncliText {
            name: "lc.json",
            json: &doc,
        };
        let channels = read(&text, &mut warnings).unwrap();
        assert_eq!(channels.len(), 1);
        assert!(warnings[0].message.contains("same chan_id"));
    }

    #[test]
    fn inconsistent_balances_are_flagged_not_dropped() {
        let mut c = minimal();
        c["local_balance"] = json!("900000");
        let (channels, warnings) = one(c);
        assert_eq!(channels.len(), 1);
        assert!(warnings[0].message.contains("inconsistent"));
    }

    #[test]
    fn streamed_and_whole_readings_agree() {
        let mut bad = minimal();
        bad["local_balance"] = json!({"sat": 5});
        let mut clamped = minimal();
        clamped["chan_id"] = json!("2");
        clamped["remote_balance"] = json!("-12");
        let channels = json!([minimal(), bad, 7, clamped, {"chan_id": [1]}]);
        let doc = json!({ "channels": channels }).to_string();
        let text = LncliText {
            name: "lc.json",
            json: &doc,
        };
        let (mut streamed, mut whole) = (Vec::new(), Vec::new());
        let read_streamed = read(&text, &mut streamed).unwrap();
        assert_eq!(read_streamed, read_whole(&text, &mut whole).unwrap());
        assert_eq!(streamed, whole);
        assert_eq!(read_streamed.len(), 2);
        assert_eq!(streamed.len(), 4, "{streamed:?}");
        assert!(
            streamed[1].message.contains("`channels[2]` skipped"),
            "{streamed:?}"
        );
    }

    #[test]
    fn a_key_repeated_within_a_channel_counts_once_as_in_a_parsed_tree() {
        let doc = r#"{"channels": [
            {"chan_id": "1", "capacity": "5", "capacity": "1000000", "local_balance": "1",
             "remote_balance": "1", "commit_fee": "1", "fee_per_kw": "253"},
            {"chan_id": "2", "capacity": "1000000", "local_balance": "1", "remote_balance": "1",
             "commit_fee": "1", "fee_per_kw": "253"}
        ]}"#;
        let mut warnings = Vec::new();
        let text = LncliText {
            name: "lc.json",
            json: doc,
        };
        let channels = read(&text, &mut warnings).unwrap();
        assert_eq!(channels.len(), 2);
        assert_eq!(channels[0].capacity_sat, 1_000_000, "the last one counts");
        assert!(warnings.is_empty(), "{warnings:?}");
    }
}
