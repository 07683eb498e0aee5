//! `dustwatch analyze` on `lncli` JSON: a golden plan for the fixtures (written in LND's exact
//! output format: pending HTLCs, anchors, static-remote-key and taproot channels), and the
//! command line end to end (table, `--json`, `--out`, missing `--getinfo`, bad input).

use std::path::Path;

use dustwatch::analyze::analyze;
use dustwatch::plan::read_plan;
use dustwatch::settings::AnalysisSettings;
use dustwatch::snapshot::lncli::{snapshot_from_files, LncliFiles};

mod common;

use common::dustwatch;

const T0: i64 = 1_790_000_000;
const FIXTURES: &str = "tests/fixtures/lncli";

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

#[test]
fn golden_plan_for_the_lncli_fixtures() {
    let files = LncliFiles {
        listchannels: fixture("listchannels.json").into(),
        getinfo: Some(fixture("getinfo.json").into()),
        pendingchannels: Some(fixture("pendingchannels.json").into()),
        feereport: Some(fixture("feereport.json").into()),
    };
    let snapshot = snapshot_from_files(&files, T0).expect("fixtures read");
    let plan = analyze(&snapshot, &AnalysisSettings::default(), None);
    insta::assert_json_snapshot!("lncli_fixture_plan", plan);
}

#[test]
fn analyze_prints_a_table_or_the_plan_and_writes_plan_files() {
    let out_dir = tempfile::tempdir().expect("tempdir");
    let out_path = out_dir.path().to_str().expect("utf-8");
    let lc = fixture("listchannels.json");
    let gi = fixture("getinfo.json");
    let json = dustwatch(&[
        "analyze",
        "--listchannels",
        &lc,
        "--getinfo",
        &gi,
        "--json",
        "--out",
        out_path,
    ]);
    assert_eq!(json.status.code(), Some(0), "{json:?}");
    let plan = read_plan(&String::from_utf8_lossy(&json.stdout)).expect("stdout is a v1 plan");
    assert_eq!(plan.channels.len(), 5);
    assert!(plan
        .channels
        .iter()
        .flat_map(|c| &c.htlcs)
        .all(|h| h.blocks_to_expiry.is_some()));
    let written = std::fs::read_to_string(out_dir.path().join("latest.json")).expect("latest");
    assert_eq!(read_plan(&written).expect("latest is a plan"), plan);

    let table = dustwatch(&["analyze", "--listchannels", &lc]);
    assert_eq!(table.status.code(), Some(0), "{table:?}");
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("SUMMARY") && text.contains("TOP ACTIONS"),
        "{text}"
    );
}

#[test]
fn without_getinfo_expiry_is_unknown() {
    let out = dustwatch(&[
        "analyze",
        "--listchannels",
        &fixture("listchannels.json"),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let plan = read_plan(&String::from_utf8_lossy(&out.stdout)).expect("plan");
    let htlcs: Vec<_> = plan.channels.iter().flat_map(|c| &c.htlcs).collect();
    assert!(!htlcs.is_empty());
    assert!(htlcs.iter().all(|h| h.blocks_to_expiry.is_none()));
}

#[test]
fn old_and_new_lncli_versions_are_read() {
    for file in [
        "listchannels-v0.4.json",
        "listchannels-v0.10.json",
        "listchannels-v0.21.json",
    ] {
        let out = dustwatch(&["analyze", "--listchannels", &fixture(file), "--json"]);
        assert_eq!(out.status.code(), Some(0), "{file}: {out:?}");
        let plan = read_plan(&String::from_utf8_lossy(&out.stdout)).expect("plan");
        assert!(!plan.channels.is_empty(), "{file}");
    }
}

#[test]
fn a_malformed_file_names_the_file_and_the_json_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("listchannels.json");
    std::fs::write(&bad, r#"{"channels": {"not": "an array"}}"#).expect("write");
    let out = dustwatch(&["analyze", "--listchannels", bad.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(65), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("listchannels.json"), "{err}");
    assert!(err.contains("channels"), "names the JSON path: {err}");
    assert!(err.contains("array"), "says what was expected: {err}");
    assert!(!Path::new(&dir.path().join("latest.json")).exists());
}

#[test]
fn analyze_reads_forwarding_history_from_fwdinghistory() {
    let dir = "tests/fixtures/advice/busy_sink_800ppm";
    let args = |history: bool| {
        let mut args = vec![
            "analyze".to_string(),
            "--listchannels".to_string(),
            format!("{dir}/listchannels.json"),
            "--getinfo".to_string(),
            format!("{dir}/getinfo.json"),
            "--json".to_string(),
        ];
        if history {
            args.extend([
                "--fwdinghistory".to_string(),
                format!("{dir}/fwdinghistory.json"),
            ]);
        }
        args
    };
    let run = |history: bool| {
        let args = args(history);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = dustwatch(&refs);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        read_plan(&String::from_utf8_lossy(&out.stdout)).expect("a plan")
    };
    let with = run(true);
    assert!(with.summary.flow_unknown.is_none());
    assert!(with.channels.iter().all(|c| c.flow.is_some()));
    assert!(
        with.source.detail.ends_with("fwdinghistory.json"),
        "{}",
        with.source.detail
    );
    // The analysis runs at the current time, long after the fixture's forwards: the window is
    // empty, but the flow is known (and zero), not unknown.
    let without = run(false);
    assert!(without.summary.flow_unknown.is_some());
    assert!(without.channels.iter().all(|c| c.flow.is_none()));

    let bad = dustwatch(&[
        "analyze",
        "--listchannels",
        &format!("{dir}/listchannels.json"),
        "--fwdinghistory",
        &format!("{dir}/listchannels.json"),
    ]);
    assert_ne!(bad.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("forwarding_events"), "{stderr}");
}
