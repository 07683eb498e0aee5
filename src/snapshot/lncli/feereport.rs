//! `lncli feereport` → each channel's `local_policy`.
//!
//! Rows are matched to channels by short channel id (`chan_id`, printed as a decimal by every
//! `lncli` that has it), else by `channel_point` (old `feereport` had no `chan_id`). FeeReport
//! says nothing about HTLC limits or time-lock delta, so those stay `None`.

use std::collections::HashMap;

use serde::de::IgnoredAny;
use serde::Deserialize;

use super::fields::{present, At, Field, Json, Place};
use super::scid::{short_channel_id, ScidFields};
use super::{parse_document, root, warning, LncliError, LncliText};
use crate::model::{ChanId, Channel, RoutingPolicy, SnapshotWarning};
use crate::snapshot::json::{to_i32, to_i64, Bounds, FieldError, JsonPath, Note, Obj};

/// BOLT 7 carries `fee_base_msat` and `fee_proportional_millionths` as u32.
const OUTBOUND_FEE: Bounds = Bounds {
    min: 0,
    max: u32::MAX as i128,
    max_reason: "the u32 fee fields of a BOLT 7 channel_update",
};

struct Row {
    chan_id: Option<ChanId>,
    channel_point: Option<String>,
    policy: RoutingPolicy,
}

/// The fields of a fee row that dustwatch reads; the others are skipped.
#[derive(Deserialize)]
struct RawRow<'a> {
    #[serde(borrow)]
    chan_id: Field<'a>,
    #[serde(borrow)]
    scid: Field<'a>,
    #[serde(borrow)]
    scid_str: Field<'a>,
    #[serde(borrow)]
    channel_point: Field<'a>,
    #[serde(borrow)]
    base_fee_msat: Field<'a>,
    #[serde(borrow)]
    fee_per_mil: Field<'a>,
    #[serde(borrow)]
    inbound_base_fee_msat: Field<'a>,
    #[serde(borrow)]
    inbound_fee_per_mil: Field<'a>,
}

impl<'a> RawRow<'a> {
    /// The same fields of a row in a parsed document.
    fn of_obj(obj: &Obj<'a>) -> Self {
        let field = |key| obj.field(key).map(Json::of_value);
        RawRow {
            chan_id: field("chan_id"),
            scid: field("scid"),
            scid_str: field("scid_str"),
            channel_point: field("channel_point"),
            base_fee_msat: field("base_fee_msat"),
            fee_per_mil: field("fee_per_mil"),
            inbound_base_fee_msat: field("inbound_base_fee_msat"),
            inbound_fee_per_mil: field("inbound_fee_per_mil"),
        }
    }
}

/// A well-formed document read by type: the top-level object and its `channel_fees`.
#[derive(Deserialize)]
struct RawReport<'a> {
    #[serde(borrow)]
    channel_fees: Field<'a, IgnoredAny, Vec<Json<'a, RawRow<'a>>>>,
}

pub(super) fn apply(
    text: &LncliText<'_>,
    channels: &mut [Channel],
    warnings: &mut Vec<SnapshotWarning>,
) -> Result<(), LncliError> {
    let mut table = FeeTable::default();
    let list = JsonPath::root().key("channel_fees");
    // The rows are read by type straight from the text; anything else (a syntax error, a top
    // level that is not an object, `channel_fees` missing or not an array, a key repeated
    // within a row) is read again as one tree, whose errors name the path.
    match serde_json::from_str::<Json<'_, RawReport<'_>>>(text.json) {
        Ok(Json::Object(RawReport {
            channel_fees: Some(Json::Array(rows)),
        })) => {
            for (index, item) in rows.iter().enumerate() {
                let path = list.index(index);
                let raw = match item {
                    Json::Object(raw) => Ok(raw),
                    other => Err(FieldError::new(
                        path.clone(),
                        "a fee row object",
                        other.describe(),
                    )),
                };
                table.add(text.name, raw, path, warnings);
            }
        }
        _ => {
            let value = parse_document(text)?;
            let top = root(text, &value)?;
            let items = top
                .array("channel_fees")
                .and_then(|items| {
                    items.ok_or_else(|| FieldError::missing(list.clone(), "an array of fee rows"))
                })
                .map_err(|e| LncliError::shape(text.name, e))?;
            for (index, item) in items.iter().enumerate() {
                let path = list.index(index);
                let raw =
                    Obj::new(item, path.clone(), "a fee row object").map(|o| RawRow::of_obj(&o));
                table.add(
                    text.name,
                    raw.as_ref().map_err(Clone::clone),
                    path,
                    warnings,
                );
            }
        }
    }

    for channel in channels.iter_mut() {
        let policy = table
            .by_id
            .get(&channel.chan_id)
            .or_else(|| table.by_point.get(&*channel.channel_point));
        match policy {
            Some(policy) => channel.local_policy = Some(*policy),
            None => warnings.push(warning(
                Some(channel.chan_id),
                text.name,
                format!(
                    "has no fee row for channel {} ({}); its routing policy is unknown",
                    channel.chan_id, channel.channel_point
                ),
            )),
        }
    }
    Ok(())
}

/// The policies read so far, by short channel id and by channel point (the first row wins).
#[derive(Default)]
struct FeeTable {
    by_id: HashMap<ChanId, RoutingPolicy>,
    by_point: HashMap<String, RoutingPolicy>,
}

impl FeeTable {
    /// Reads the row at `path` into the table, or names why it was skipped.
    fn add(
        &mut self,
        name: &str,
        raw: Result<&RawRow<'_>, FieldError>,
        path: JsonPath,
        warnings: &mut Vec<SnapshotWarning>,
    ) {
        let mut notes = Vec::new();
        match raw.and_then(|raw| row(raw, &path, &mut notes)) {
            Ok(row) => {
                for note in notes {
                    warnings.push(warning(row.chan_id, name, note));
                }
                if let Some(id) = row.chan_id {
                    self.by_id.entry(id).or_insert(row.policy);
                }
                if let Some(point) = row.channel_point {
                    self.by_point.entry(point).or_insert(row.policy);
                }
            }
            Err(error) => warnings.push(warning(None, name, format!("`{path}` skipped: {error}"))),
        }
    }
}

fn row(raw: &RawRow<'_>, path: &JsonPath, notes: &mut Vec<Note>) -> Result<Row, FieldError> {
    let at = At(Place::Path(path));
    let ids = ScidFields {
        scid: &raw.scid,
        chan_id: &raw.chan_id,
        scid_str: &raw.scid_str,
    };
    let chan_id = if [ids.chan_id, ids.scid, ids.scid_str]
        .into_iter()
        .any(|f| present(f).is_some())
    {
        Some(short_channel_id(&at, &ids)?)
    } else {
        None
    };
    let channel_point = at
        .string("channel_point", &raw.channel_point)?
        .map(str::to_owned);
    if chan_id.is_none() && channel_point.is_none() {
        return Err(FieldError::missing(
            at.key("chan_id"),
            "a chan_id or a channel_point to match the row to a channel",
        ));
    }
    let required = |key, field, notes: &mut Vec<Note>| {
        at.required_integer(key, field, OUTBOUND_FEE, notes)
            .map(to_i64)
    };
    let policy = RoutingPolicy {
        fee_base_msat: required("base_fee_msat", &raw.base_fee_msat, notes)?,
        fee_rate_ppm: required("fee_per_mil", &raw.fee_per_mil, notes)?,
        inbound_fee_base_msat: at
            .integer(
                "inbound_base_fee_msat",
                &raw.inbound_base_fee_msat,
                Bounds::I32,
                notes,
            )?
            .map_or(0, to_i32),
        inbound_fee_rate_ppm: at
            .integer(
                "inbound_fee_per_mil",
                &raw.inbound_fee_per_mil,
                Bounds::I32,
                notes,
            )?
            .map_or(0, to_i32),
        min_htlc_msat: None,
        max_htlc_msat: None,
        time_lock_delta: None,
        disabled: false,
    };
    Ok(Row {
        chan_id,
        channel_point,
        policy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CommitmentType, Initiator};

    fn channel(id: ChanId, point: &str) -> Channel {
        Channel {
            chan_id: id,
            channel_point: point.to_owned().into(),
            remote_pubkey: String::new().into(),
            peer_alias: String::new().into(),
            active: true,
            private: false,
            initiator: Initiator::Local,
            commitment_type: CommitmentType::Anchors,
            capacity_sat: 1,
            local_balance_sat: 0,
            remote_balance_sat: 0,
            commit_fee_sat: 0,
            commit_weight: 0,
            fee_per_kw: 0,
            unsettled_balance_sat: 0,
            total_satoshis_sent: 0,
            total_satoshis_received: 0,
            num_updates: 0,
            lifetime_secs: 0,
            uptime_secs: 0,
            local_chan_reserve_sat: 0,
            remote_chan_reserve_sat: 0,
            push_amount_sat: 0,
            local_constraints: None,
            remote_constraints: None,
            pending_htlcs: Vec::new(),
            local_policy: None,
            remote_policy: None,
        }
    }

    fn apply_to(json: &str, channels: &mut [Channel]) -> Result<Vec<SnapshotWarning>, LncliError> {
        let mut warnings = Vec::new();
        let text = LncliText {
            name: "fr.json",
            json,
        };
        apply(&text, channels, &mut warnings).map(|()| warnings)
    }

    #[test]
    fn matches_by_chan_id_then_channel_point() {
        let mut channels = [channel(1, "a:0"), channel(2, "b:1"), channel(3, "c:0")];
        let warnings = apply_to(
            r#"{"channel_fees": [
                {"chan_id": "1", "channel_point": "zzz:9", "base_fee_msat": "1000", "fee_per_mil": "100",
                 "fee_rate": 0.0001, "inbound_base_fee_msat": -200, "inbound_fee_per_mil": -50},
                {"channel_point": "b:1", "base_fee_msat": "0", "fee_per_mil": "2500", "fee_rate": 0.0025}
            ]}"#,
            &mut channels,
        )
        .unwrap();
        let p1 = channels[0].local_policy.unwrap();
        assert_eq!((p1.fee_base_msat, p1.fee_rate_ppm), (1000, 100));
        assert_eq!(
            (p1.inbound_fee_base_msat, p1.inbound_fee_rate_ppm),
            (-200, -50)
        );
        assert_eq!(p1.min_htlc_msat, None);
        assert_eq!(channels[1].local_policy.unwrap().fee_rate_ppm, 2500);
        assert_eq!(channels[2].local_policy, None);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].chan_id, Some(3));
    }

    #[test]
    fn bad_rows_are_skipped_negative_fees_clamped() {
        let mut channels = [channel(1, "a:0"), channel(2, "b:0")];
        let warnings = apply_to(
            r#"{"channel_fees": [
                {"chan_id": "1", "base_fee_msat": "-5", "fee_per_mil": "10"},
                {"chan_id": "2", "base_fee_msat": [], "fee_per_mil": "10"},
                {"base_fee_msat": "1", "fee_per_mil": "1"}
            ]}"#,
            &mut channels,
        )
        .unwrap();
        assert_eq!(channels[0].local_policy.unwrap().fee_base_msat, 0);
        assert_eq!(channels[1].local_policy, None);
        let text: Vec<&str> = warnings.iter().map(|w| w.message.as_str()).collect();
        assert!(
            text.iter()
                .any(|m| m.contains("channel_fees[0].base_fee_msat")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|m| m.contains("channel_fees[1].base_fee_msat")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|m| m.contains("channel_fees[2].chan_id")),
            "{text:?}"
        );
    }

    #[test]
    fn typed_and_whole_readings_agree() {
        let rows = r#"[{"chan_id": "1", "base_fee_msat": "-5", "fee_per_mil": "10"}, 3,
            {"chan_id": "2", "base_fee_msat": [], "fee_per_mil": "10"},
            {"base_fee_msat": "1", "fee_per_mil": "1"},
            {"channel_point": "b:0", "base_fee_msat": "1", "fee_per_mil": "1",
             "inbound_fee_per_mil": -9999999999}]"#;
        let mut typed = [channel(1, "a:0"), channel(2, "b:0"), channel(3, "c:0")];
        let mut whole = typed.clone();
        let typed_warnings = apply_to(&format!(r#"{{"channel_fees": {rows}}}"#), &mut typed);
        // A key repeated within a row is read as one tree (the same value here).
        let repeated = rows.replacen(
            r#""fee_per_mil": "10""#,
            r#""fee_per_mil": "10", "fee_per_mil": "10""#,
            1,
        );
        let whole_warnings = apply_to(&format!(r#"{{"channel_fees": {repeated}}}"#), &mut whole);
        let text = |w: Vec<SnapshotWarning>| w.into_iter().map(|w| w.message).collect::<Vec<_>>();
        let typed_warnings = text(typed_warnings.unwrap());
        assert_eq!(typed_warnings, text(whole_warnings.unwrap()));
        assert_eq!(typed_warnings.len(), 6, "{typed_warnings:?}");
        assert_eq!(typed, whole);
    }

    #[test]
    fn missing_list_is_an_error() {
        let err = apply_to("{}", &mut []).unwrap_err();
        assert!(
            err.to_string().starts_with("fr.json: at `channel_fees`"),
            "{err}"
        );
    }
}
