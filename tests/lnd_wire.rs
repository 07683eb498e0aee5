//! Wire conformance of our own `proto/lightning.proto` against bytes serialized by LND itself.
//!
//! `../shared/data/lnd-wire/NAME.bin` is one `lnrpc.NAME` message encoded by LND's official
//! schema (v0.21) with a distinctive non-default value in every field; `NAME.json` is the same
//! message as canonical protojson (proto field names, 64-bit integers as strings, enums by name,
//! bytes as base64).
//!
//! For every `.bin` the test
//! 1. decodes it with our generated prost type (`dustwatch::lnd::pb::NAME`) and re-encodes it,
//!    which drops whatever our proto does not declare;
//! 2. reads the re-encoded bytes field by field through the descriptor of our proto
//!    (`pb::FILE_DESCRIPTOR_SET`) and renders every value canonically;
//! 3. walks `NAME.json` recursively and compares every field, reporting each difference with
//!    its path. A field LND sets that our proto lacks fails the test unless it is listed in
//!    [`OMITTED_ON_PURPOSE`] with a reason.
//!
//! A wrong field number moves a value to another name (or drops it), a wrong scalar type
//! (int64 vs uint64 vs sint64 vs fixed64) changes the decoded value or breaks decoding, and a
//! wrong enum number renders another name: all of them show up as differences. The
//! `mutated_*` tests below prove it by breaking a copy of our descriptor on purpose.
//!
//! `enums.json` lists LND's enum numbers; our enums must match it exactly.
//!
//! Without the fixture folder (a plain clone) every test prints why it skips and passes.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use dustwatch::lnd::pb;
use prost::Message;
use prost_reflect::prost_types::{field_descriptor_proto::Type, FileDescriptorSet};
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MapKey, ReflectMessage, Value,
};
use serde_json::Value as Json;

/// Fields LND v0.21 sends that our trimmed proto leaves out on purpose:
/// (message full name, field name, why).
const OMITTED_ON_PURPOSE: &[(&str, &str, &str)] = &[(
    "lnrpc.GetInfoResponse",
    "graph_cache_status",
    "new v0.21 enum whose value list is not published in the sources we could check; \
     dustwatch does not read the graph cache state",
)];

/// Decodes `bytes` as the generated type `T` and encodes it again. What survives is exactly what
/// our proto declares.
fn through_generated<T: Message + Default>(bytes: &[u8]) -> Result<Vec<u8>, prost::DecodeError> {
    Ok(T::decode(bytes)?.encode_to_vec())
}

type Roundtrip = fn(&[u8]) -> Result<Vec<u8>, prost::DecodeError>;

/// The generated type and protobuf message name of each fixture file stem.
fn generated_type_for(stem: &str) -> Option<(Roundtrip, &'static str)> {
    Some(match stem {
        "Channel" => (through_generated::<pb::Channel>, "lnrpc.Channel"),
        "ChannelBalanceResponse" => (
            through_generated::<pb::ChannelBalanceResponse>,
            "lnrpc.ChannelBalanceResponse",
        ),
        "ChannelConstraints" => (
            through_generated::<pb::ChannelConstraints>,
            "lnrpc.ChannelConstraints",
        ),
        "ChannelEdge" => (through_generated::<pb::ChannelEdge>, "lnrpc.ChannelEdge"),
        "ChannelEventUpdate" => (
            through_generated::<pb::ChannelEventUpdate>,
            "lnrpc.ChannelEventUpdate",
        ),
        "FeeReportResponse" => (
            through_generated::<pb::FeeReportResponse>,
            "lnrpc.FeeReportResponse",
        ),
        "GetInfoResponse" => (
            through_generated::<pb::GetInfoResponse>,
            "lnrpc.GetInfoResponse",
        ),
        "HTLC" => (through_generated::<pb::Htlc>, "lnrpc.HTLC"),
        "ListChannelsResponse" => (
            through_generated::<pb::ListChannelsResponse>,
            "lnrpc.ListChannelsResponse",
        ),
        "PendingChannelsResponse" => (
            through_generated::<pb::PendingChannelsResponse>,
            "lnrpc.PendingChannelsResponse",
        ),
        "RoutingPolicy" => (
            through_generated::<pb::RoutingPolicy>,
            "lnrpc.RoutingPolicy",
        ),
        "WalletBalanceResponse" => (
            through_generated::<pb::WalletBalanceResponse>,
            "lnrpc.WalletBalanceResponse",
        ),
        _ => return None,
    })
}

fn fixture_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/lnd-wire");
    if dir.is_dir() {
        Some(dir)
    } else {
        // Straight to stderr, past libtest's output capture, so the skip is visible in CI logs.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: LND wire fixtures not found at {} (they live outside the repository)",
            dir.display()
        );
        None
    }
}

fn our_pool() -> DescriptorPool {
    DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).expect("our descriptor set decodes")
}

fn read_json(path: &Path) -> Json {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Every `(stem, .bin bytes, .json value)` of the fixture folder, sorted by stem.
fn fixtures(dir: &Path) -> Vec<(String, Vec<u8>, Json)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("fixture dir is readable") {
        let path = entry.expect("dir entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("bin") {
            continue;
        }
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 file name")
            .to_string();
        let bytes = std::fs::read(&path).expect("fixture .bin is readable");
        let json = read_json(&path.with_extension("json"));
        out.push((stem, bytes, json));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

// ------------------------------------------------------------------ canonical rendering

/// Renders a non-message value the way canonical protojson does.
fn render_scalar(value: &Value, kind: &Kind) -> Json {
    match value {
        Value::Bool(b) => Json::Bool(*b),
        Value::I32(n) => Json::from(*n),
        Value::U32(n) => Json::from(*n),
        Value::I64(n) => Json::String(n.to_string()),
        Value::U64(n) => Json::String(n.to_string()),
        Value::F32(f) => {
            serde_json::Number::from_f64(f64::from(*f)).map_or(Json::Null, Json::Number)
        }
        Value::F64(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::String(s) => Json::String(s.clone()),
        Value::Bytes(b) => Json::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Value::EnumNumber(n) => match kind.as_enum().and_then(|e| e.get_value(*n)) {
            Some(v) => Json::String(v.name().to_string()),
            // Canonical JSON prints an enum number nobody named as the number.
            None => Json::from(*n),
        },
        Value::Message(_) | Value::List(_) | Value::Map(_) => {
            unreachable!("render_scalar is only called for scalars")
        }
    }
}

fn render_map_key(key: &MapKey) -> String {
    match key {
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(n) => n.to_string(),
        MapKey::I64(n) => n.to_string(),
        MapKey::U32(n) => n.to_string(),
        MapKey::U64(n) => n.to_string(),
        MapKey::String(s) => s.clone(),
    }
}

fn same_json_scalar(expected: &Json, got: &Json) -> bool {
    match (expected, got) {
        (Json::Number(a), Json::Number(b)) => a.as_f64() == b.as_f64(),
        _ => expected == got,
    }
}

// ------------------------------------------------------------------ recursive comparison

/// Compares LND's JSON for one message with what we decoded, appending every difference.
fn compare_message(expected: &Json, actual: &DynamicMessage, path: &str, diffs: &mut Vec<String>) {
    let desc = actual.descriptor();
    let Some(object) = expected.as_object() else {
        diffs.push(format!(
            "{path}: LND's JSON is not an object for {}",
            desc.full_name()
        ));
        return;
    };
    for (name, want) in object {
        let here = format!("{path}.{name}");
        let Some(field) = desc.get_field_by_name(name) else {
            if !OMITTED_ON_PURPOSE
                .iter()
                .any(|(msg, field, _)| *msg == desc.full_name() && field == name)
            {
                diffs.push(format!(
                    "{here}: LND sets `{name}` but {} in our proto has no such field",
                    desc.full_name()
                ));
            }
            continue;
        };
        if !actual.has_field(&field) {
            diffs.push(format!(
                "{here}: LND sent {want}, we decoded nothing (field number {} is wrong?)",
                field.number()
            ));
            continue;
        }
        compare_field(want, &actual.get_field(&field), &field, &here, diffs);
    }
    for (field, value) in actual.fields() {
        if !object.contains_key(field.name()) {
            diffs.push(format!(
                "{path}.{}: we decoded {value:?} but LND did not set this field (field number {} is wrong?)",
                field.name(),
                field.number()
            ));
        }
    }
}

fn compare_field(
    want: &Json,
    got: &Value,
    field: &FieldDescriptor,
    path: &str,
    diffs: &mut Vec<String>,
) {
    if field.is_map() {
        let (Some(want), Value::Map(got)) = (want.as_object(), got) else {
            diffs.push(format!("{path}: expected a map, LND sent {want}"));
            return;
        };
        let entry = field.kind();
        let value_field = entry
            .as_message()
            .expect("a map field's kind is its entry message")
            .map_entry_value_field();
        let got: BTreeMap<String, &Value> =
            got.iter().map(|(k, v)| (render_map_key(k), v)).collect();
        if got.len() != want.len() {
            diffs.push(format!(
                "{path}: LND sent {} map entries, we decoded {}",
                want.len(),
                got.len()
            ));
        }
        for (key, want_value) in want {
            match got.get(key) {
                Some(value) => compare_single(
                    want_value,
                    value,
                    &value_field.kind(),
                    &format!("{path}[{key}]"),
                    diffs,
                ),
                None => diffs.push(format!("{path}[{key}]: key missing after decoding")),
            }
        }
    } else if field.is_list() {
        let (Some(want), Value::List(got)) = (want.as_array(), got) else {
            diffs.push(format!("{path}: expected a list, LND sent {want}"));
            return;
        };
        if got.len() != want.len() {
            diffs.push(format!(
                "{path}: LND sent {} entries, we decoded {}",
                want.len(),
                got.len()
            ));
        }
        for (i, (want_item, got_item)) in want.iter().zip(got).enumerate() {
            compare_single(
                want_item,
                got_item,
                &field.kind(),
                &format!("{path}[{i}]"),
                diffs,
            );
        }
    } else {
        compare_single(want, got, &field.kind(), path, diffs);
    }
}

fn compare_single(want: &Json, got: &Value, kind: &Kind, path: &str, diffs: &mut Vec<String>) {
    match got {
        Value::Message(message) => compare_message(want, message, path, diffs),
        scalar => {
            let rendered = render_scalar(scalar, kind);
            if !same_json_scalar(want, &rendered) {
                diffs.push(format!("{path}: LND sent {want}, we decoded {rendered}"));
            }
        }
    }
}

/// Interprets `bytes` as `message_name` with `pool` and lists every difference from `json`.
fn differences(
    pool: &DescriptorPool,
    message_name: &str,
    bytes: &[u8],
    json: &Json,
) -> Vec<String> {
    let Some(desc) = pool.get_message_by_name(message_name) else {
        return vec![format!("{message_name}: not declared in our proto")];
    };
    match DynamicMessage::decode(desc, bytes) {
        Ok(message) => {
            let mut diffs = Vec::new();
            compare_message(json, &message, message_name, &mut diffs);
            diffs
        }
        Err(e) => vec![format!(
            "{message_name}: does not decode with our proto: {e}"
        )],
    }
}

// ------------------------------------------------------------------ the conformance tests

#[test]
fn every_fixture_decodes_to_lnds_values() {
    let Some(dir) = fixture_dir() else { return };
    let pool = our_pool();
    let fixtures = fixtures(&dir);
    assert!(
        !fixtures.is_empty(),
        "no .bin fixtures in {}",
        dir.display()
    );

    let mut report = Vec::new();
    for (stem, bytes, json) in &fixtures {
        let Some((roundtrip, message_name)) = generated_type_for(stem) else {
            report.push(format!(
                "{stem}.bin: no generated type mapped in this test; add it"
            ));
            continue;
        };
        match roundtrip(bytes) {
            Ok(reencoded) => report.extend(differences(&pool, message_name, &reencoded, json)),
            Err(e) => report.push(format!(
                "{stem}.bin: our generated type rejects LND's bytes: {e}"
            )),
        }
    }
    assert!(
        report.is_empty(),
        "{} difference(s) between LND's wire fixtures and our proto:\n{}",
        report.len(),
        report.join("\n")
    );
    println!(
        "checked {} fixtures; omitted on purpose: {:?}",
        fixtures.len(),
        OMITTED_ON_PURPOSE
    );
}

/// The omissions list must stay honest: each entry names a field LND really sends and that our
/// proto really lacks.
#[test]
fn omitted_fields_are_real_and_really_omitted() {
    let Some(dir) = fixture_dir() else { return };
    let pool = our_pool();
    for (message, field, _why) in OMITTED_ON_PURPOSE {
        let desc = pool
            .get_message_by_name(message)
            .unwrap_or_else(|| panic!("{message} is not in our proto"));
        assert!(
            desc.get_field_by_name(field).is_none(),
            "{message}.{field} is declared now: remove it from OMITTED_ON_PURPOSE"
        );
        let stem = message.trim_start_matches("lnrpc.");
        let json = read_json(&dir.join(format!("{stem}.json")));
        assert!(
            json.get(field).is_some(),
            "{message}.{field} does not appear in {stem}.json"
        );
    }
}

#[test]
fn enums_match_lnds_numbering() {
    let Some(dir) = fixture_dir() else { return };
    let pool = our_pool();
    let lnd_enums = read_json(&dir.join("enums.json"));
    let lnd_enums = lnd_enums.as_object().expect("enums.json is an object");
    assert!(!lnd_enums.is_empty());
    for (enum_name, values) in lnd_enums {
        let ours = pool
            .get_enum_by_name(&format!("lnrpc.{enum_name}"))
            .unwrap_or_else(|| panic!("enum {enum_name} is not in our proto"));
        let values = values.as_object().expect("enum values object");
        for (name, number) in values {
            let number = number.as_i64().expect("enum number") as i32;
            let value = ours
                .get_value_by_name(name)
                .unwrap_or_else(|| panic!("{enum_name}.{name} is missing from our proto"));
            assert_eq!(value.number(), number, "{enum_name}.{name}");
        }
        for value in ours.values() {
            assert!(
                values.contains_key(value.name()),
                "our {enum_name}.{} = {} is not in LND's list",
                value.name(),
                value.number()
            );
        }
    }

    // The generated Rust enums agree with the descriptor (aliases have no Rust variant of their
    // own: prost keeps the first name of a number, so SIMPLE_TAPROOT_FINAL decodes as Taproot).
    assert_eq!(
        pb::CommitmentType::try_from(7),
        Ok(pb::CommitmentType::Taproot)
    );
    assert_eq!(
        pb::CommitmentType::try_from(6),
        Ok(pb::CommitmentType::SimpleTaprootOverlay)
    );
    assert_eq!(
        pb::CommitmentType::try_from(5),
        Ok(pb::CommitmentType::SimpleTaproot)
    );
    assert_eq!(
        pb::CommitmentType::try_from(4),
        Ok(pb::CommitmentType::ScriptEnforcedLease)
    );
    assert_eq!(pb::Initiator::try_from(3), Ok(pb::Initiator::Both));
}

/// What a newer LND may send — an extra field, an enum number we do not know — still decodes,
/// and everything we do know keeps its value.
#[test]
fn newer_lnd_additions_are_tolerated() {
    let Some(dir) = fixture_dir() else { return };
    let original = std::fs::read(dir.join("Channel.bin")).expect("Channel.bin");
    let known = pb::Channel::decode(original.as_slice()).expect("Channel.bin decodes");

    let mut newer = original.clone();
    // field 99, varint 5 (an unknown future field)
    newer.extend_from_slice(&[0x98, 0x06, 0x05]);
    // field 26 (commitment_type), varint 42: an enum number we do not know; last one wins
    newer.extend_from_slice(&[0xd0, 0x01, 42]);
    let decoded = pb::Channel::decode(newer.as_slice()).expect("newer Channel still decodes");
    assert_eq!(decoded.commitment_type, 42);
    assert!(pb::CommitmentType::try_from(decoded.commitment_type).is_err());
    assert_eq!(
        pb::Channel {
            commitment_type: known.commitment_type,
            ..decoded
        },
        known
    );
}

// ------------------------------------------------------------------ the checker can fail

/// Our descriptor set with one change applied, as a pool.
fn mutated_pool(mutate: impl FnOnce(&mut FileDescriptorSet)) -> DescriptorPool {
    let mut set = FileDescriptorSet::decode(pb::FILE_DESCRIPTOR_SET).expect("descriptor set");
    mutate(&mut set);
    DescriptorPool::from_file_descriptor_set(set).expect("mutated descriptor set is still valid")
}

fn with_channel_field(
    set: &mut FileDescriptorSet,
    name: &str,
    change: impl FnOnce(&mut prost_reflect::prost_types::FieldDescriptorProto),
) {
    let channel = set
        .file
        .iter_mut()
        .flat_map(|f| f.message_type.iter_mut())
        .find(|m| m.name() == "Channel")
        .expect("Channel message");
    let field = channel
        .field
        .iter_mut()
        .find(|f| f.name() == name)
        .expect("Channel field");
    change(field);
}

fn channel_fixture(dir: &Path) -> (Vec<u8>, Json) {
    (
        std::fs::read(dir.join("Channel.bin")).expect("Channel.bin"),
        read_json(&dir.join("Channel.json")),
    )
}

#[test]
fn mutated_unchanged_control_passes() {
    let Some(dir) = fixture_dir() else { return };
    let (bytes, json) = channel_fixture(&dir);
    let diffs = differences(&mutated_pool(|_| {}), "lnrpc.Channel", &bytes, &json);
    assert!(diffs.is_empty(), "{diffs:#?}");
}

#[test]
fn mutated_field_number_is_caught() {
    let Some(dir) = fixture_dir() else { return };
    let (bytes, json) = channel_fixture(&dir);
    let pool = mutated_pool(|set| {
        with_channel_field(set, "capacity", |f| f.number = Some(6));
        with_channel_field(set, "local_balance", |f| f.number = Some(5));
    });
    let diffs = differences(&pool, "lnrpc.Channel", &bytes, &json);
    assert!(
        diffs
            .iter()
            .any(|d| d.starts_with("lnrpc.Channel.capacity:")),
        "{diffs:#?}"
    );
    assert!(
        diffs
            .iter()
            .any(|d| d.starts_with("lnrpc.Channel.local_balance:")),
        "{diffs:#?}"
    );

    // A field moved to a number LND does not use loses its value.
    let pool = mutated_pool(|set| with_channel_field(set, "memo", |f| f.number = Some(60)));
    let diffs = differences(&pool, "lnrpc.Channel", &bytes, &json);
    assert!(
        diffs.iter().any(|d| d.starts_with("lnrpc.Channel.memo:")),
        "{diffs:#?}"
    );
}

#[test]
fn mutated_scalar_type_is_caught() {
    let Some(dir) = fixture_dir() else { return };
    let (bytes, json) = channel_fixture(&dir);
    for (field, wrong) in [
        ("capacity", Type::Uint64),
        ("commit_weight", Type::Sint64),
        ("remote_balance", Type::Int32),
        ("num_updates", Type::Sint64),
        ("total_satoshis_received", Type::Uint64),
    ] {
        let pool = mutated_pool(|set| with_channel_field(set, field, |f| f.set_type(wrong)));
        let diffs = differences(&pool, "lnrpc.Channel", &bytes, &json);
        assert!(
            diffs
                .iter()
                .any(|d| d.starts_with(&format!("lnrpc.Channel.{field}:"))),
            "{field} as {wrong:?} not caught: {diffs:#?}"
        );
    }
    // A fixed-width type does not even decode LND's varint.
    let pool =
        mutated_pool(|set| with_channel_field(set, "fee_per_kw", |f| f.set_type(Type::Sfixed64)));
    let diffs = differences(&pool, "lnrpc.Channel", &bytes, &json);
    assert!(!diffs.is_empty());
}

#[test]
fn mutated_enum_number_is_caught() {
    let Some(dir) = fixture_dir() else { return };
    let (bytes, json) = channel_fixture(&dir);
    let pool = mutated_pool(|set| {
        let commitment_type = set
            .file
            .iter_mut()
            .flat_map(|f| f.enum_type.iter_mut())
            .find(|e| e.name() == "CommitmentType")
            .expect("CommitmentType enum");
        for value in &mut commitment_type.value {
            match value.name() {
                "SIMPLE_TAPROOT" => value.number = Some(6),
                "SIMPLE_TAPROOT_OVERLAY" => value.number = Some(5),
                _ => {}
            }
        }
    });
    let diffs = differences(&pool, "lnrpc.Channel", &bytes, &json);
    assert!(
        diffs
            .iter()
            .any(|d| d.starts_with("lnrpc.Channel.commitment_type:")),
        "{diffs:#?}"
    );
}

// ------------------------------------------------------------------ LND's bytes into the model

/// LND's own (deliberately odd) answers go through `convert::snapshot` without a panic: every
/// channel is kept, negative amounts become 0 with a warning naming the channel.
#[test]
fn fixtures_convert_into_a_snapshot() {
    use dustwatch::lnd::convert::{snapshot, SnapshotParts};
    use dustwatch::model::{CommitmentType, PendingKind, SnapshotSource};

    let Some(dir) = fixture_dir() else { return };
    fn load<T: Message + Default>(dir: &Path, stem: &str) -> T {
        let bytes = std::fs::read(dir.join(format!("{stem}.bin"))).expect("fixture");
        T::decode(bytes.as_slice()).expect("fixture decodes")
    }
    let channels: pb::ListChannelsResponse = load(&dir, "ListChannelsResponse");
    let edge: pb::ChannelEdge = load(&dir, "ChannelEdge");
    let first_id = channels.channels[0].chan_id;

    let snap = snapshot(SnapshotParts {
        taken_at_unix: 1_700_000_000,
        source: SnapshotSource {
            kind: "lnd_grpc".into(),
            detail: "fixtures".into(),
        },
        info: load(&dir, "GetInfoResponse"),
        channels: channels.clone(),
        pending: Some(load(&dir, "PendingChannelsResponse")),
        fee_report: Some(load(&dir, "FeeReportResponse")),
        wallet: Some(load(&dir, "WalletBalanceResponse")),
        debug_info: None,
        edges: BTreeMap::from([(first_id, edge)]),
    });

    assert_eq!(snap.channels.len(), channels.channels.len());
    assert_eq!(snap.node.identity_pubkey, "identity_pubkey-0");
    assert_eq!(snap.node.block_height, Some(6001));
    let mut raw_sorted = channels.channels.clone();
    raw_sorted.sort_by_key(|c| c.chan_id);
    for (converted, raw) in snap.channels.iter().zip(&raw_sorted) {
        assert_eq!(converted.chan_id, raw.chan_id);
        assert_eq!(
            converted.commitment_type,
            CommitmentType::SimpleTaprootOverlay
        );
        assert_eq!(converted.capacity_sat, 0, "negative capacity is clamped");
        assert_eq!(converted.pending_htlcs.len(), 2);
        // The fixture's hash_lock is 4 bytes (03030303), which no SHA-256 is: the HTLC is kept
        // without a hash, and the warning names it.
        assert_eq!(raw.pending_htlcs[0].hash_lock[..], [3, 3, 3, 3]);
        assert_eq!(converted.pending_htlcs[0].hash_lock, None);
        assert!(snap.warnings.iter().any(|w| w.chan_id == Some(raw.chan_id)
            && w.message.contains("hash_lock is 4 bytes, not 32")));
        // The fixture's FeeReport ids differ from the channels', so the policy is found by
        // channel point; the edge does not list our node, so it gives no policy.
        assert!(converted.local_policy.is_some(), "channel {}", raw.chan_id);
        assert_eq!(converted.remote_policy, None);
        assert!(snap
            .warnings
            .iter()
            .any(|w| w.chan_id == Some(raw.chan_id) && w.message.contains("capacity is negative")));
    }
    assert!(snap
        .warnings
        .iter()
        .any(|w| w.chan_id == Some(first_id) && w.message.contains("neither is our node")));
    assert_eq!(snap.pending_channels.len(), 8);
    assert_eq!(
        snap.pending_channels
            .iter()
            .filter(|p| p.kind == PendingKind::ForceClosing)
            .count(),
        2
    );
    assert_eq!(snap.wallet.map(|w| w.confirmed_sat), Some(2_001_006_003));
}
