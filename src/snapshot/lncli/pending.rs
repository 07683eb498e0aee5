//! `lncli pendingchannels` → [`PendingChannel`]s.
//!
//! Each of the response's lists must be an array when present; one entry that cannot be read
//! is skipped with a warning naming its JSON path.

use serde_json::Value;

use super::{parse_document, root, warning, LncliError, LncliText};
use crate::model::{PendingChannel, PendingKind, SnapshotWarning};
use crate::snapshot::json::{to_i32, to_u64, Bounds, FieldError, JsonPath, Note, Obj};

/// The lists of a `PendingChannelsResponse` and what each holds.
const LISTS: [(&str, List); 4] = [
    ("pending_open_channels", List::Opening),
    ("waiting_close_channels", List::WaitingClose),
    ("pending_force_closing_channels", List::ForceClosing),
    ("pending_closing_channels", List::DeprecatedClosing),
];

#[derive(Debug, Clone, Copy)]
enum List {
    Opening,
    WaitingClose,
    ForceClosing,
    /// Cooperative closes with one confirmation, reported by LND < 0.12 (the list is
    /// deprecated and always empty since). Their funds are not back yet: waiting close, with
    /// our balance in limbo.
    DeprecatedClosing,
}

pub(super) fn read(
    text: &LncliText<'_>,
    warnings: &mut Vec<SnapshotWarning>,
) -> Result<Vec<PendingChannel>, LncliError> {
    let value = parse_document(text)?;
    let top = root(text, &value)?;
    let mut pending = Vec::new();
    for (key, list) in LISTS {
        let Some(items) = top
            .array(key)
            .map_err(|e| LncliError::shape(text.name, e))?
        else {
            continue;
        };
        for (index, item) in items.iter().enumerate() {
            let path = top.path().key(key).index(index);
            let mut notes = Vec::new();
            match entry(item, path.clone(), list, &mut notes) {
                Ok(channel) => {
                    for note in notes {
                        warnings.push(warning(
                            None,
                            text.name,
                            format!("pending channel {}: {note}", channel.channel_point),
                        ));
                    }
                    pending.push(channel);
                }
                Err(error) => warnings.push(warning(
                    None,
                    text.name,
                    format!("`{path}` skipped: {error}"),
                )),
            }
        }
    }
    Ok(pending)
}

fn entry(
    value: &Value,
    path: JsonPath,
    list: List,
    notes: &mut Vec<Note>,
) -> Result<PendingChannel, FieldError> {
    let outer = Obj::new(value, path, "a pending channel object")?;
    let channel = outer.object("channel")?.ok_or_else(|| {
        FieldError::missing(
            outer.path().key("channel"),
            "the pending channel's `channel` object",
        )
    })?;
    let channel_point = channel
        .string("channel_point")?
        .ok_or_else(|| FieldError::missing(channel.path().key("channel_point"), "a string"))?
        .to_owned();
    let local_balance_sat = sat(&channel, "local_balance", notes)?;
    let (kind, limbo_balance_sat, blocks_til_maturity) = match list {
        List::Opening => (PendingKind::Opening, 0, None),
        List::WaitingClose => (
            PendingKind::WaitingClose,
            sat(&outer, "limbo_balance", notes)?,
            None,
        ),
        List::ForceClosing => (
            PendingKind::ForceClosing,
            required_sat(&outer, "limbo_balance", notes)?,
            Some(
                outer
                    .integer("blocks_til_maturity", Bounds::I32, notes)?
                    .map_or(0, to_i32),
            ),
        ),
        List::DeprecatedClosing => (PendingKind::WaitingClose, local_balance_sat, None),
    };
    Ok(PendingChannel {
        kind,
        channel_point,
        remote_pubkey: channel
            .string("remote_node_pub")?
            .unwrap_or_default()
            .to_owned(),
        capacity_sat: sat(&channel, "capacity", notes)?,
        local_balance_sat,
        limbo_balance_sat,
        blocks_til_maturity,
    })
}

/// An optional satoshi amount (proto3 default 0).
fn sat(obj: &Obj<'_>, key: &str, notes: &mut Vec<Note>) -> Result<u64, FieldError> {
    Ok(obj.integer(key, Bounds::SAT, notes)?.map_or(0, to_u64))
}

/// A satoshi amount every LND version prints; its absence means the file was cut or edited.
fn required_sat(obj: &Obj<'_>, key: &str, notes: &mut Vec<Note>) -> Result<u64, FieldError> {
    Ok(to_u64(obj.required_integer(key, Bounds::SAT, notes)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(json: &str) -> Result<(Vec<PendingChannel>, Vec<SnapshotWarning>), LncliError> {
        let mut warnings = Vec::new();
        let text = LncliText {
            name: "pc.json",
            json,
        };
        read(&text, &mut warnings).map(|p| (p, warnings))
    }

    #[test]
    fn each_list_maps_to_its_kind() {
        let (p, w) = pending(
            r#"{
              "pending_open_channels": [{"channel": {"channel_point": "a:0", "capacity": "10", "local_balance": "7"}}],
              "waiting_close_channels": [{"channel": {"channel_point": "b:0"}, "limbo_balance": "5"}],
              "pending_force_closing_channels": [{"channel": {"channel_point": "c:1"}, "limbo_balance": "9", "blocks_til_maturity": -3}],
              "pending_closing_channels": [{"channel": {"channel_point": "d:0", "local_balance": "4"}}]
            }"#,
        )
        .unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(p.len(), 4);
        assert_eq!(p[0].kind, PendingKind::Opening);
        assert_eq!(
            (
                p[0].capacity_sat,
                p[0].local_balance_sat,
                p[0].limbo_balance_sat
            ),
            (10, 7, 0)
        );
        assert_eq!(
            (p[1].kind, p[1].limbo_balance_sat),
            (PendingKind::WaitingClose, 5)
        );
        assert_eq!(p[2].blocks_til_maturity, Some(-3));
        assert_eq!(
            (p[3].kind, p[3].limbo_balance_sat),
            (PendingKind::WaitingClose, 4)
        );
    }

    #[test]
    fn bad_entry_is_skipped_bad_list_is_an_error() {
        let (p, w) = pending(
            r#"{"pending_open_channels": [{"channel": 3}, {"channel": {"channel_point": "x:0"}}]}"#,
        )
        .unwrap();
        assert_eq!(p.len(), 1);
        assert!(
            w[0].message.contains("pending_open_channels[0].channel"),
            "{w:?}"
        );

        let err = pending(r#"{"waiting_close_channels": "none"}"#).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("pc.json: at `waiting_close_channels`: expected an array"));
    }
}
