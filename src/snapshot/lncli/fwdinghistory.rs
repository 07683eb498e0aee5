//! `lncli fwdinghistory` → the node's settled forwards ([`ForwardingEvent`]s).
//!
//! The output is LND's `ForwardingHistoryResponse` in protojson: a `forwarding_events` array
//! and `last_offset_index` (a `uint32`, so a JSON number). Each event's `uint64` fields are
//! decimal strings: `timestamp`, `timestamp_ns`, `chan_id_in`, `chan_id_out`, `amt_in`,
//! `amt_out`, `fee`, `fee_msat`, `amt_in_msat`, `amt_out_msat`, the HTLC ids. LND before 0.11
//! printed no `_msat` amounts and before 0.12 no `timestamp_ns`: those fall back to
//! sat × 1000 and seconds. Aliases and HTLC ids are not needed and are ignored.
//!
//! `lncli fwdinghistory` prints at most `--max_events` (default 100) events from
//! `--start_time` (default: one day ago): the file should cover the whole flow window
//! (`lncli fwdinghistory --start_time -30d --max_events 50000`).

use serde_json::Value;

use super::{parse_document, root, warning, LncliError, LncliText};
use crate::model::{ForwardingEvent, SnapshotWarning};
use crate::snapshot::json::{to_u64, Bounds, FieldError, JsonPath, Note, Obj};

/// Reads every forward of the file; an unreadable event is skipped with a warning naming its
/// JSON path, the others are kept.
pub fn read(
    text: &LncliText<'_>,
    warnings: &mut Vec<SnapshotWarning>,
) -> Result<Vec<ForwardingEvent>, LncliError> {
    let value = parse_document(text)?;
    let top = root(text, &value)?;
    let items = top
        .array("forwarding_events")
        .and_then(|items| {
            items.ok_or_else(|| {
                FieldError::missing(
                    top.path().key("forwarding_events"),
                    "an array of forwarding events (the output of lncli fwdinghistory)",
                )
            })
        })
        .map_err(|e| LncliError::shape(text.name, e))?;
    let mut events = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let path = top.path().key("forwarding_events").index(index);
        let mut notes = Vec::new();
        match event(item, path.clone(), &mut notes) {
            Ok(event) => {
                for note in notes {
                    warnings.push(warning(None, text.name, note));
                }
                events.push(event);
            }
            Err(error) => warnings.push(warning(
                None,
                text.name,
                format!("`{path}` skipped: {error}"),
            )),
        }
    }
    Ok(events)
}

fn event(
    value: &Value,
    path: JsonPath,
    notes: &mut Vec<Note>,
) -> Result<ForwardingEvent, FieldError> {
    let obj = Obj::new(value, path, "a forwarding event object")?;
    let timestamp_ns = match obj.integer("timestamp_ns", Bounds::U64, notes)? {
        Some(ns) if ns > 0 => to_u64(ns),
        _ => to_u64(obj.required_integer("timestamp", Bounds::U64, notes)?)
            .saturating_mul(1_000_000_000),
    };
    let chan_id_in = to_u64(obj.required_integer("chan_id_in", Bounds::U64, notes)?);
    let chan_id_out = to_u64(obj.required_integer("chan_id_out", Bounds::U64, notes)?);
    let amt_in_msat = msat(&obj, "amt_in_msat", "amt_in", notes)?;
    let amt_out_msat = msat(&obj, "amt_out_msat", "amt_out", notes)?;
    // The fee is what the forward kept: LND's `fee_msat` is exactly `amt_in − amt_out`.
    let fee_msat = match obj.integer("fee_msat", Bounds::MSAT, notes)? {
        Some(fee) => to_u64(fee),
        None => amt_in_msat.saturating_sub(amt_out_msat),
    };
    Ok(ForwardingEvent {
        timestamp_ns,
        chan_id_in,
        chan_id_out,
        amt_in_msat,
        amt_out_msat,
        fee_msat,
    })
}

/// The `_msat` field, or the sat field × 1000 when an older LND printed only that.
fn msat(
    obj: &Obj<'_>,
    msat_key: &str,
    sat_key: &str,
    notes: &mut Vec<Note>,
) -> Result<u64, FieldError> {
    match obj.integer(msat_key, Bounds::MSAT, notes)? {
        Some(msat) => Ok(to_u64(msat)),
        None => Ok(to_u64(obj.required_integer(sat_key, Bounds::SAT, notes)?).saturating_mul(1000)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(
        json: &str,
    ) -> (
        Result<Vec<ForwardingEvent>, LncliError>,
        Vec<SnapshotWarning>,
    ) {
        let mut warnings = Vec::new();
        let text = LncliText {
            name: "fh.json",
            json,
        };
        (read(&text, &mut warnings), warnings)
    }

    #[test]
    fn reads_the_current_shape() {
        let (events, warnings) = read_str(
            r#"{"forwarding_events": [{"timestamp": "1789593579", "chan_id_in": "222101348876289",
              "chan_id_out": "236395000102913", "amt_in": "100002", "amt_out": "100001", "fee": "1",
              "fee_msat": "1100", "amt_in_msat": "100002200", "amt_out_msat": "100001100",
              "timestamp_ns": "1789593579960099781", "peer_alias_in": "alice", "peer_alias_out": "erin",
              "incoming_htlc_id": "0", "outgoing_htlc_id": "0"}], "last_offset_index": 1}"#,
        );
        let events = events.unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            events,
            vec![ForwardingEvent {
                timestamp_ns: 1_789_593_579_960_099_781,
                chan_id_in: 222_101_348_876_289,
                chan_id_out: 236_395_000_102_913,
                amt_in_msat: 100_002_200,
                amt_out_msat: 100_001_100,
                fee_msat: 1_100,
            }]
        );
    }

    #[test]
    fn older_lnd_without_msat_or_ns_falls_back_to_sat_and_seconds() {
        let (events, _) = read_str(
            r#"{"forwarding_events": [{"timestamp": "1600000000", "chan_id_in": "1",
              "chan_id_out": "2", "amt_in": "1005", "amt_out": "1000", "fee": "5"}],
              "last_offset_index": 1}"#,
        );
        let e = events.unwrap()[0];
        assert_eq!(e.timestamp_ns, 1_600_000_000_000_000_000);
        assert_eq!(
            (e.amt_in_msat, e.amt_out_msat, e.fee_msat),
            (1_005_000, 1_000_000, 5_000)
        );
    }

    #[test]
    fn a_bad_event_is_skipped_and_named_a_bad_file_is_an_error() {
        let (events, warnings) = read_str(
            r#"{"forwarding_events": [{"timestamp": "1", "chan_id_in": "x", "chan_id_out": "2",
              "amt_in": "1", "amt_out": "1"}, {"timestamp": "2", "chan_id_in": "1",
              "chan_id_out": "2", "amt_in_msat": "-5", "amt_out_msat": "1000"}]}"#,
        );
        let events = events.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].amt_in_msat, 0);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0]
            .message
            .starts_with("fh.json: `forwarding_events[0]` skipped: "));
        assert!(
            warnings[0].message.contains("chan_id_in"),
            "{}",
            warnings[0].message
        );
        assert!(
            warnings[1].message.contains("negative"),
            "{}",
            warnings[1].message
        );

        let (err, _) = read_str(r#"{"channels": []}"#);
        let err = err.unwrap_err().to_string();
        assert!(err.starts_with("fh.json: at `forwarding_events`"), "{err}");
        let (err, _) = read_str(r#"{"forwarding_events": 3}"#);
        assert!(err.unwrap_err().to_string().contains("expected an array"));
    }
}
