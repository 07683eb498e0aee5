//! Unit tests of the digest: read back whatever the field order, v1 files, refusals, wrong shapes.

use super::*;
use crate::analyze::analyze;
use crate::analyze::testkit::{channel, htlc, settle_balances, snapshot};
use crate::plan::read_plan;
use crate::settings::AnalysisSettings;
use serde_json::Value;

/// A plan with every part a digest keeps: a rebalance shared by two channels (one id in two
/// sections), outgoing and incoming dust, and alerts (an inactive peer, an HTLC near expiry).
fn plan() -> Plan {
    let mut outgoing = channel(3, 2_000_000, 1_000_000);
    for i in 0..2 {
        outgoing.pending_htlcs.push(htlc(i, false, 300, 800_010));
    }
    settle_balances(&mut outgoing);
    let mut incoming = channel(4, 2_000_000, 1_000_000);
    incoming.pending_htlcs.push(htlc(0, true, 300, 801_000));
    incoming.active = false;
    settle_balances(&mut incoming);
    let mut snap = snapshot(
        vec![
            channel(9, 2_000_000, 1_900_000),
            channel(1, 2_000_000, 50_000),
            outgoing,
            incoming,
        ],
        Some(800_000),
    );
    // Channel 1 routes out 100k sat/day at 1,500 ppm: a sink worth refilling.
    snap.flow = Some(crate::analyze::testkit::flow_of(&[
        crate::analyze::testkit::forward(86_400, 77, 1, 700_000, 1_500),
    ]));
    analyze(&snap, &AnalysisSettings::default(), None)
}

/// `value` as JSON text with every object's keys in the order `order` puts them.
fn with_key_order(value: &Value, order: fn(&mut Vec<&String>)) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            order(&mut keys);
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        Value::from(k.as_str()),
                        with_key_order(&map[k], order)
                    )
                })
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(|v| with_key_order(v, order)).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

fn alphabetical(keys: &mut Vec<&String>) {
    keys.sort();
}

fn reverse_alphabetical(keys: &mut Vec<&String>) {
    keys.sort();
    keys.reverse();
}

fn read(text: &str) -> Result<PlanDigest, PlanError> {
    PlanDigest::from_reader(text.as_bytes())
}

#[test]
fn a_plan_reads_back_as_its_digest_whatever_the_field_order() {
    let plan = plan();
    let want = PlanDigest::of(&plan);
    // The plan has what the test is about.
    let ids: Vec<&str> = plan.all_actions().iter().map(|a| &*a.id).collect();
    let digested: Vec<&str> = want.action_ids().iter().map(|id| &**id).collect();
    assert_eq!(digested, ids);
    assert!(ids.contains(&"rebalance:9>1"), "{ids:?}");
    assert_eq!(want.outgoing_dust_channels(), ["3"]);
    assert!(want.alerts().len() >= 2, "{:?}", want.alerts());
    assert_eq!(want.alerts(), plan.alerts);
    assert_eq!(want.generated_at(), plan.generated_at);

    let value = serde_json::to_value(&plan).unwrap();
    let texts = [
        (
            "pretty, as written",
            serde_json::to_string_pretty(&plan).unwrap(),
        ),
        ("compact", serde_json::to_string(&plan).unwrap()),
        // schema_version after channels, alerts and generated_at.
        ("alphabetical", with_key_order(&value, alphabetical)),
        (
            "reverse alphabetical",
            with_key_order(&value, reverse_alphabetical),
        ),
    ];
    for (name, text) in texts {
        assert_eq!(
            read(&text).unwrap_or_else(|e| panic!("{name}: {e}")),
            want,
            "{name}"
        );
    }
}

#[test]
fn latest_json_carries_the_fee_rate_memory() {
    use crate::analyze::testkit::{flow_of, forward, NOW};
    let id = crate::analyze::testkit::scid(800_000, 2);
    let node = |fee_ppm: i64, later: i64| {
        let mut sink = channel(id, 2_000_000, 100_000);
        sink.local_policy.as_mut().unwrap().fee_rate_ppm = fee_ppm;
        let mut snap = snapshot(vec![sink, channel(5, 1_000_000, 500_000)], Some(806_000));
        snap.flow = Some(flow_of(&[forward(86_400, 9, id, 4_900_000, 1_000)]));
        snap.taken_at_unix = NOW + later;
        snap
    };
    let settings = AnalysisSettings::default();
    // A fee_up on the sink (target remembered), then a fee change seen a day later.
    let first = analyze(&node(1_000, 0), &settings, None);
    let text = serde_json::to_string_pretty(&first).unwrap();
    let digest = read(&text).unwrap();
    assert_eq!(digest, PlanDigest::of(&first));
    let sink = digest.fee_rate(id).copied().expect("the sink's fee rate");
    assert_eq!((sink.ppm, sink.target_ppm), (1_000, Some(1_250)));
    assert_eq!(digest.fee_rate(5).map(|m| m.target_ppm), Some(None));
    assert_eq!(digest.fee_rate(6), None);

    let second = analyze(&node(1_100, 86_400), &settings, Some(&digest));
    let text = serde_json::to_string(&second).unwrap();
    assert!(
        text.contains(&format!(r#""changed_at_unix":{}"#, NOW + 86_400)),
        "{text}"
    );
    let digest = read(&text).unwrap();
    assert_eq!(digest, PlanDigest::of(&second));
    let sink = digest.fee_rate(id).copied().unwrap();
    assert_eq!(sink.ppm, 1_100);
    assert_eq!(sink.changed_at_unix, Some(NOW + 86_400));
    assert_eq!(sink.target_ppm, None, "cooling down: no fee_up");
    // The channel whose rate stayed has no change time: the field is left out.
    assert_eq!(digest.fee_rate(5).unwrap().changed_at_unix, None);
}

#[test]
fn refusals_are_those_of_read_plan() {
    let plan = serde_json::to_string(&plan()).unwrap();
    let v4_last = {
        let mut value = serde_json::to_value(self::plan()).unwrap();
        value["schema_version"] = serde_json::json!(4);
        // A v4 plan might have channels of another shape; its version still decides.
        value["channels"] = serde_json::json!({"1": {"htlcs": 3}});
        with_key_order(&value, alphabetical)
    };
    let cases: Vec<(&str, String)> = vec![
        ("version 4", r#"{"schema_version": 4}"#.into()),
        ("version 0", r#"{"schema_version": 0}"#.into()),
        ("version as text", r#"{"schema_version": "1"}"#.into()),
        ("version 1.0", r#"{"schema_version": 1.0}"#.into()),
        ("no version", r#"{"generated_at": "x"}"#.into()),
        ("null version", r#"{"schema_version": null}"#.into()),
        (
            "wrong shapes, version 4 last",
            r#"{"channels": 3, "schema_version": 4}"#.into(),
        ),
        ("a v4 plan, version last", v4_last),
        ("not JSON", "not json".into()),
        ("not an object", "[1, 2]".into()),
        ("truncated", plan[..plan.len() / 2].to_string()),
        ("trailing text", format!("{plan} x")),
        (
            "v2, channels not an array",
            r#"{"schema_version": 2, "channels": 3}"#.into(),
        ),
        ("v1, nothing else", r#"{"schema_version": 1}"#.into()),
    ];
    for (name, text) in &cases {
        let got = read(text).expect_err(name);
        let want = read_plan(text).expect_err(name);
        assert_eq!(
            std::mem::discriminant(&got),
            std::mem::discriminant(&want),
            "{name}: digest says `{got}`, read_plan says `{want}`"
        );
        if let PlanError::UnsupportedSchemaVersion { .. } = want {
            assert_eq!(got.to_string(), want.to_string(), "{name}");
        }
    }
}

#[test]
fn a_v1_plan_file_reads_as_its_digest() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/plan_v1/dusty.json"
    ))
    .expect("the v1 plan fixture");
    let digest = read(&text).expect("a v1 plan");
    let plan = read_plan(&text).expect("a v1 plan");
    assert_eq!(plan.schema_version, 1);
    assert_eq!(digest, PlanDigest::of(&plan));
    assert!(!digest.action_ids().is_empty());
    assert!(!digest.alerts().is_empty());
}

#[test]
fn wrong_shapes_are_invalid_and_say_where() {
    let doc = |channels: &str| {
        format!(
            r#"{{"schema_version": 2, "generated_at": "2024-01-01T00:00:00Z", "alerts": [],
            "channels": {channels}}}"#
        )
    };
    let ok = r#"[{"chan_id": "7", "htlcs": [{"trimmed_on_local": true}], "recommendations": {"action_ids": ["b", "a"]}}]"#;
    let digest = read(&doc(ok)).expect("a minimal v2 plan");
    let ids: Vec<&str> = digest.action_ids().iter().map(|id| &**id).collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(digest.outgoing_dust_channels(), ["7"]);

    let cases = [
        doc(&ok.replace(r#""trimmed_on_local": true"#, r#""incoming": "no""#)),
        doc(&ok.replace(r#"["b", "a"]"#, "[5]")),
        doc(&ok.replace(r#""chan_id": "7","#, r#""chan_id": "7", "fee_rate": {"ppm": -1},"#)),
        doc("[7]"),
        r#"{"schema_version": 2, "generated_at": "x", "channels": [], "alerts": [{"code": "nope"}]}"#
            .into(),
        r#"{"schema_version": 2, "generated_at": "x", "channels": []}"#.into(),
    ];
    for text in cases {
        let err = read(&text).expect_err(&text);
        assert!(matches!(err, PlanError::Invalid { .. }), "{text}: {err:?}");
        assert!(err.to_string().contains(" line "), "{err}");
    }
}

#[test]
fn invalid_json_says_where() {
    let err = read("{\"schema_version\": 1,\n \"channels\": [}").unwrap_err();
    assert!(matches!(err, PlanError::Json(_)), "{err:?}");
    assert!(err.to_string().contains("line 2 column"), "{err}");
}

/// Yields `prefix`, then fails every read.
struct FailingAfter<'a> {
    prefix: &'a [u8],
}

impl Read for FailingAfter<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.prefix.is_empty() {
            return Err(std::io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.prefix.len());
        buf[..n].copy_from_slice(&self.prefix[..n]);
        self.prefix = &self.prefix[n..];
        Ok(n)
    }
}

#[test]
fn a_failing_read_is_a_read_error() {
    let reader = FailingAfter {
        prefix: br#"{"schema_version": 2, "channels": ["#,
    };
    let err = PlanDigest::from_reader(reader).unwrap_err();
    assert!(matches!(err, PlanError::Read(_)), "{err:?}");
    assert!(err.to_string().contains("disk on fire"), "{err}");
}
