//! `lncli listchannels` → open [`Channel`]s.
//!
//! The file as a whole must be an object with a `channels` array; each element is read on its
//! own, and one that cannot be read is skipped with a warning naming its index, its id (when
//! that much could be read) and the JSON path of the problem.

use std::collections::HashSet;

use base64::Engine as _;
use serde_json::Value;

use super::{parse_document, root, warning, LncliError, LncliText};
use crate::model::{
    ChanId, Channel, CommitmentType, Constraints, Htlc, Initiator, PaymentHash, SnapshotWarning,
};
use crate::snapshot::json::{
    describe, integer, to_u32, to_u64, Bounds, FieldError, JsonPath, Note, Obj,
};

/// Reads every readable channel of a `listchannels` document, in file order.
///
/// A well-formed document is streamed: each element of `channels` is parsed and read on its
/// own and then dropped, so a big node's file never becomes one tree in memory. Anything
/// else (a syntax error, a top level that is not an object, `channels` missing, repeated or not
/// an array) is read again as a whole by [`read_whole`], whose errors name the path and what
/// was found there.
pub(super) fn read(
    text: &LncliText<'_>,
    warnings: &mut Vec<SnapshotWarning>,
) -> Result<Vec<Channel>, LncliError> {
    let mut reader = ChannelReader {
        text,
        channels: Vec::new(),
        seen: HashSet::new(),
        warnings: Vec::new(),
    };
    let mut de = serde_json::Deserializer::from_str(text.json);
    let streamed = serde::de::DeserializeSeed::deserialize(Document(&mut reader), &mut de)
        .and_then(|found| de.end().map(|()| found));
    match streamed {
        Ok(true) => {
            warnings.append(&mut reader.warnings);
            Ok(reader.channels)
        }
        Ok(false) | Err(_) => read_whole(text, warnings),
    }
}

/// What [`read`] keeps while it streams; committed only when the whole document was read.
struct ChannelReader<'t, 'a> {
    text: &'t LncliText<'a>,
    channels: Vec<Channel>,
    seen: HashSet<ChanId>,
    warnings: Vec<SnapshotWarning>,
}

/// The top-level object: `channels` streamed, every other member skipped. Yields whether
/// `channels` was there (exactly once).
struct Document<'r, 't, 'a>(&'r mut ChannelReader<'t, 'a>);

impl<'de> serde::de::DeserializeSeed<'de> for Document<'_, '_, '_> {
    type Value = bool;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Document<'_, '_, '_> {
    type Value = bool;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object with a `channels` array")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "channels" {
                if found {
                    return Err(serde::de::Error::duplicate_field("channels"));
                }
                found = true;
                map.next_value_seed(Elements(&mut *self.0))?;
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// The `channels` array, one element at a time.
struct Elements<'r, 't, 'a>(&'r mut ChannelReader<'t, 'a>);

impl<'de> serde::de::DeserializeSeed<'de> for Elements<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Elements<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of channels")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let reader = self.0;
        let path = JsonPath::root().key("channels");
        let mut index = 0;
        while let Some(item) = seq.next_element::<Value>()? {
            let text = reader.text;
            channel_item(
                text,
                &item,
                path.index(index),
                &mut reader.seen,
                &mut reader.channels,
                &mut reader.warnings,
            );
            index += 1;
        }
        Ok(())
    }
}

/// The whole document as one tree: the reference reading, and the one that explains errors.
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

    let mut channels = Vec::with_capacity(items.len());
    let mut seen: HashSet<ChanId> = HashSet::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let path = top.path().key("channels").index(index);
        channel_item(text, item, path, &mut seen, &mut channels, warnings);
    }
    Ok(channels)
}

/// Reads one element of `channels` at `path` into `channels`, or names why it was skipped.
fn channel_item(
    text: &LncliText<'_>,
    item: &Value,
    path: JsonPath,
    seen: &mut HashSet<ChanId>,
    channels: &mut Vec<Channel>,
    warnings: &mut Vec<SnapshotWarning>,
) {
    {
        match read_channel(item, path.clone()) {
            Ok((channel, notes)) => {
                let id = channel.chan_id;
                if !seen.insert(id) {
                    warnings.push(warning(
                        Some(id),
                        text.name,
                        format!(
                            "`{path}` (chan_id {id}) skipped: an earlier channel has the same chan_id"
                        ),
                    ));
                    return;
                }
                for note in notes {
                    warnings.push(warning(
                        Some(id),
                        text.name,
                        format!("channel {id}: {note}"),
                    ));
                }
                channels.push(channel);
            }
            Err(unreadable) => {
                let named = match unreadable.chan_id {
                    Some(id) => format!("`{path}` (chan_id {id})"),
                    None => format!("`{path}`"),
                };
                warnings.push(warning(
                    unreadable.chan_id,
                    text.name,
                    format!("{named} skipped: {}", unreadable.error),
                ));
            }
        }
    }
}

/// Why a channel was skipped, with its id when that much could be read.
struct Unreadable {
    chan_id: Option<ChanId>,
    error: FieldError,
}

/// Reads one element of `channels`, returning the channel and notes about values it adjusted.
fn read_channel(value: &Value, path: JsonPath) -> Result<(Channel, Vec<Note>), Unreadable> {
    let obj = Obj::new(value, path, "a channel object").map_err(|error| Unreadable {
        chan_id: None,
        error,
    })?;
    let chan_id = short_channel_id(&obj).map_err(|error| Unreadable {
        chan_id: None,
        error,
    })?;
    let mut notes = Vec::new();
    let channel = channel_fields(&obj, chan_id, &mut notes).map_err(|error| Unreadable {
        chan_id: Some(chan_id),
        error,
    })?;
    Ok((channel, notes))
}

fn channel_fields(
    obj: &Obj<'_>,
    chan_id: ChanId,
    notes: &mut Vec<Note>,
) -> Result<Channel, FieldError> {
    let capacity_sat = required_sat(obj, "capacity", notes)?;
    let local_balance_sat = required_sat(obj, "local_balance", notes)?;
    let remote_balance_sat = required_sat(obj, "remote_balance", notes)?;
    if local_balance_sat.saturating_add(remote_balance_sat) > capacity_sat {
        notes.push(Note {
            path: obj.path().key("capacity"),
            message: format!(
                "= {capacity_sat} is less than local_balance + remote_balance \
                 ({local_balance_sat} + {remote_balance_sat}); the file is inconsistent"
            ),
        });
    }

    let pending_htlcs = match obj.array("pending_htlcs")? {
        None => Vec::new(),
        Some(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| htlc(item, obj.path().key("pending_htlcs").index(i), notes))
            .collect::<Result<_, _>>()?,
    };

    Ok(Channel {
        chan_id,
        channel_point: obj.string("channel_point")?.unwrap_or_default().into(),
        remote_pubkey: obj.string("remote_pubkey")?.unwrap_or_default().into(),
        peer_alias: obj.string("peer_alias")?.unwrap_or_default().into(),
        active: obj.boolean("active")?.unwrap_or(false),
        private: obj.boolean("private")?.unwrap_or(false),
        initiator: initiator(obj)?,
        commitment_type: commitment_type(obj, notes)?,
        capacity_sat,
        local_balance_sat,
        remote_balance_sat,
        commit_fee_sat: required_sat(obj, "commit_fee", notes)?,
        commit_weight: obj
            .integer("commit_weight", Bounds::WEIGHT, notes)?
            .map_or(0, to_u64),
        fee_per_kw: to_u64(obj.required_integer("fee_per_kw", Bounds::FEERATE_PER_KW, notes)?),
        unsettled_balance_sat: sat(obj, "unsettled_balance", notes)?,
        total_satoshis_sent: count(obj, "total_satoshis_sent", notes)?,
        total_satoshis_received: count(obj, "total_satoshis_received", notes)?,
        num_updates: count(obj, "num_updates", notes)?,
        lifetime_secs: count(obj, "lifetime", notes)?,
        uptime_secs: count(obj, "uptime", notes)?,
        local_chan_reserve_sat: sat(obj, "local_chan_reserve_sat", notes)?,
        remote_chan_reserve_sat: sat(obj, "remote_chan_reserve_sat", notes)?,
        push_amount_sat: sat(obj, "push_amount_sat", notes)?,
        local_constraints: constraints(obj, "local_constraints", notes)?,
        remote_constraints: constraints(obj, "remote_constraints", notes)?,
        pending_htlcs,
        local_policy: None,
        remote_policy: None,
    })
}

/// The short channel id (`block << 40 | tx << 16 | output`) of a channel object.
///
/// LND ≤ 0.18 prints it as `chan_id`; `lncli` ≥ 0.19 prints it as `scid` (with `scid_str`) and
/// puts the 32-byte BOLT 2 channel id in hex into `chan_id`. `scid` wins when present.
pub(super) fn short_channel_id(obj: &Obj<'_>) -> Result<ChanId, FieldError> {
    const EXPECTED: &str = "a short channel id (uint64 as a decimal string or number)";
    if let Some(value) = obj.field("scid") {
        return as_chan_id(value)
            .ok_or_else(|| FieldError::new(obj.path().key("scid"), EXPECTED, describe(value)));
    }
    if let Some(value) = obj.field("chan_id") {
        if let Some(id) = as_chan_id(value) {
            return Ok(id);
        }
        if let Some(id) = scid_from_str(obj)? {
            return Ok(id);
        }
        let found = if is_bolt2_channel_id(value) {
            format!(
                "{} (a 32-byte channel id, and no `scid` next to it)",
                describe(value)
            )
        } else {
            describe(value)
        };
        return Err(FieldError::new(obj.path().key("chan_id"), EXPECTED, found));
    }
    scid_from_str(obj)?.ok_or_else(|| FieldError::missing(obj.path().key("chan_id"), EXPECTED))
}

fn as_chan_id(value: &Value) -> Option<ChanId> {
    integer(value).and_then(|n| u64::try_from(n).ok())
}

fn is_bolt2_channel_id(value: &Value) -> bool {
    matches!(value, Value::String(s) if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `scid_str` (`"BLOCKxTXxOUT"`, or `"BLOCK:TX:OUT"`) packed into a short channel id.
fn scid_from_str(obj: &Obj<'_>) -> Result<Option<ChanId>, FieldError> {
    let Some(text) = obj.string("scid_str")? else {
        return Ok(None);
    };
    parse_scid_str(text).map(Some).ok_or_else(|| {
        FieldError::new(
            obj.path().key("scid_str"),
            "a short channel id written BLOCKxTXxOUTPUT",
            describe(&Value::String(text.to_owned())),
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

/// `initiator`: a boolean in `Channel`; enum names are accepted too. Absent (LND < 0.6) is
/// unknown.
fn initiator(obj: &Obj<'_>) -> Result<Initiator, FieldError> {
    match obj.field("initiator") {
        None => Ok(Initiator::Unknown),
        Some(Value::Bool(true)) => Ok(Initiator::Local),
        Some(Value::Bool(false)) => Ok(Initiator::Remote),
        Some(Value::String(name)) => match name.as_str() {
            "INITIATOR_LOCAL" => Ok(Initiator::Local),
            "INITIATOR_REMOTE" => Ok(Initiator::Remote),
            // Dual-funded (BOTH) says nothing about who pays the commitment fee.
            "INITIATOR_UNKNOWN" | "INITIATOR_BOTH" => Ok(Initiator::Unknown),
            _ => Err(initiator_error(obj, &Value::String(name.clone()))),
        },
        Some(other) => Err(initiator_error(obj, other)),
    }
}

fn initiator_error(obj: &Obj<'_>, value: &Value) -> FieldError {
    FieldError::new(
        obj.path().key("initiator"),
        "true/false (or INITIATOR_LOCAL/INITIATOR_REMOTE)",
        describe(value),
    )
}

/// `commitment_type` by name (or by LND's current enum number).
///
/// Absent means LND predates the field (< 0.10): `LEGACY`, unless the older
/// `static_remote_key` flag is set. A type this version does not know is analysed as
/// [`CommitmentType::Unknown`] (anchors) with a note.
fn commitment_type(obj: &Obj<'_>, notes: &mut Vec<Note>) -> Result<CommitmentType, FieldError> {
    let path = obj.path().key("commitment_type");
    let Some(value) = obj.field("commitment_type") else {
        return Ok(if obj.boolean("static_remote_key")? == Some(true) {
            CommitmentType::StaticRemoteKey
        } else {
            CommitmentType::Legacy
        });
    };
    let known = match value {
        Value::String(name) => match name.as_str() {
            "LEGACY" => Some(CommitmentType::Legacy),
            "STATIC_REMOTE_KEY" => Some(CommitmentType::StaticRemoteKey),
            "ANCHORS" => Some(CommitmentType::Anchors),
            "SCRIPT_ENFORCED_LEASE" => Some(CommitmentType::ScriptEnforcedLease),
            "SIMPLE_TAPROOT" => Some(CommitmentType::SimpleTaproot),
            "SIMPLE_TAPROOT_OVERLAY" => Some(CommitmentType::SimpleTaprootOverlay),
            "SIMPLE_TAPROOT_FINAL" | "TAPROOT" => Some(CommitmentType::SimpleTaprootFinal),
            _ => None,
        },
        other => match integer(other) {
            Some(1) => Some(CommitmentType::Legacy),
            Some(2) => Some(CommitmentType::StaticRemoteKey),
            Some(3) => Some(CommitmentType::Anchors),
            Some(4) => Some(CommitmentType::ScriptEnforcedLease),
            Some(5) => Some(CommitmentType::SimpleTaproot),
            Some(6) => Some(CommitmentType::SimpleTaprootOverlay),
            Some(7) => Some(CommitmentType::SimpleTaprootFinal),
            Some(_) => None,
            None => {
                return Err(FieldError::new(
                    path,
                    "a commitment type name such as \"ANCHORS\"",
                    describe(other),
                ))
            }
        },
    };
    Ok(known.unwrap_or_else(|| {
        notes.push(Note {
            path,
            message: format!(
                "= {} is not a commitment type dustwatch knows; analysed as an anchor channel",
                describe(value)
            ),
        });
        CommitmentType::Unknown
    }))
}

fn constraints(
    obj: &Obj<'_>,
    key: &str,
    notes: &mut Vec<Note>,
) -> Result<Option<Constraints>, FieldError> {
    let Some(c) = obj.object(key)? else {
        return Ok(None);
    };
    Ok(Some(Constraints {
        csv_delay: c
            .integer("csv_delay", Bounds::U32, notes)?
            .map_or(0, to_u32),
        chan_reserve_sat: sat(&c, "chan_reserve_sat", notes)?,
        dust_limit_sat: sat(&c, "dust_limit_sat", notes)?,
        max_pending_amt_msat: msat(&c, "max_pending_amt_msat", notes)?,
        min_htlc_msat: msat(&c, "min_htlc_msat", notes)?,
        max_accepted_htlcs: c
            .integer("max_accepted_htlcs", Bounds::U32, notes)?
            .map_or(0, to_u32),
    }))
}

/// One element of `pending_htlcs`. Its direction and amount are required: without them the
/// channel's dust cannot be worked out, so the whole channel is skipped instead.
fn htlc(value: &Value, path: JsonPath, notes: &mut Vec<Note>) -> Result<Htlc, FieldError> {
    let h = Obj::new(value, path, "an HTLC object")?;
    let incoming = h.boolean("incoming")?.ok_or_else(|| {
        FieldError::missing(h.path().key("incoming"), "a boolean (true or false)")
    })?;
    Ok(Htlc {
        incoming,
        amount_sat: to_u64(h.required_integer("amount", Bounds::SAT, notes)?),
        hash_lock: hash_lock(&h, notes)?,
        expiration_height: h
            .integer("expiration_height", Bounds::U32, notes)?
            .map_or(0, to_u32),
        htlc_index: count(&h, "htlc_index", notes)?,
        forwarding_channel: count(&h, "forwarding_channel", notes)?,
        forwarding_htlc_index: count(&h, "forwarding_htlc_index", notes)?,
        // Added in LND 0.19 (true once the HTLC is on the peer's commitment too). Older LND
        // does not say; its `pending_htlcs` are those of our current commitment, which is
        // where dust is computed, so they are taken as locked in.
        locked_in: h.boolean("locked_in")?.unwrap_or(true),
    })
}

/// `hash_lock` as a [`PaymentHash`]: `lncli` prints hex; jsonpb-era `lncli` and REST print
/// base64. Absent or empty is `None`; anything else that is not 32 bytes in one of those
/// forms is `None` with a note: the hash is not needed for dust, so the HTLC is kept.
fn hash_lock(h: &Obj<'_>, notes: &mut Vec<Note>) -> Result<Option<PaymentHash>, FieldError> {
    let Some(text) = h.string("hash_lock")? else {
        return Ok(None);
    };
    if text.is_empty() {
        return Ok(None);
    }
    if let Some(hash) = PaymentHash::from_hex(text) {
        return Ok(Some(hash));
    }
    let engines = [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::URL_SAFE,
    ];
    if let Some(hash) = engines
        .iter()
        .find_map(|e| e.decode(text).ok())
        .and_then(|bytes| PaymentHash::from_slice(&bytes))
    {
        return Ok(Some(hash));
    }
    notes.push(Note {
        path: h.path().key("hash_lock"),
        message: format!(
            "= {} is neither hex nor base64 of a 32-byte hash; left empty",
            describe(&Value::String(text.to_owned()))
        ),
    });
    Ok(None)
}

/// An optional satoshi amount (proto3 default 0).
pub(super) fn sat(obj: &Obj<'_>, key: &str, notes: &mut Vec<Note>) -> Result<u64, FieldError> {
    Ok(obj.integer(key, Bounds::SAT, notes)?.map_or(0, to_u64))
}

/// A satoshi amount every LND version prints; its absence means the file was cut or edited.
pub(super) fn required_sat(
    obj: &Obj<'_>,
    key: &str,
    notes: &mut Vec<Note>,
) -> Result<u64, FieldError> {
    Ok(to_u64(obj.required_integer(key, Bounds::SAT, notes)?))
}

fn msat(obj: &Obj<'_>, key: &str, notes: &mut Vec<Note>) -> Result<u64, FieldError> {
    Ok(obj.integer(key, Bounds::MSAT, notes)?.map_or(0, to_u64))
}

/// A non-negative counter or index (proto3 default 0).
fn count(obj: &Obj<'_>, key: &str, notes: &mut Vec<Note>) -> Result<u64, FieldError> {
    Ok(obj.integer(key, Bounds::U64, notes)?.map_or(0, to_u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
    fn scid_string_packs_block_tx_output() {
        assert_eq!(parse_scid_str("754x1x0"), Some(829_031_767_408_640));
        assert_eq!(parse_scid_str("754:1:0"), Some(829_031_767_408_640));
        assert_eq!(parse_scid_str("16777216x0x0"), None, "block needs 24 bits");
        assert_eq!(parse_scid_str("1x2"), None);
        assert_eq!(parse_scid_str("1x2x3x4"), None);
        assert_eq!(parse_scid_str("axbxc"), None);
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
}
