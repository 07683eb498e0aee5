//! `dustwatch plan show` and `plan diff` on plan files: readable output pinned by snapshot
//! tests, and clear errors for files that are not schema-v1 plans.
//!
//! The plans come from the `lncli` fixtures through the real analyzer, at fixed timestamps, so
//! the output is deterministic. Plan B is the same node ten minutes later, after the pending
//! HTLCs of its busiest channel resolved.

use std::path::{Path, PathBuf};

use dustwatch::analyze::analyze;
use dustwatch::commands::plans;
use dustwatch::commands::AppError;
use dustwatch::dust::{channel_dust, DustParams};
use dustwatch::model::NodeSnapshot;
use dustwatch::plan::{Plan, PlanDigest};
use dustwatch::settings::{AnalysisSettings, Settings};
use dustwatch::snapshot::lncli::{snapshot_from_files, LncliFiles};

const T0: i64 = 1_790_000_000;

/// Relative to the package root (cargo runs tests there), so the file names the plan records
/// as its source are the same on every checkout.
fn fixture(name: &str) -> PathBuf {
    Path::new("tests/fixtures/lncli").join(name)
}

fn snapshot(taken_at: i64) -> NodeSnapshot {
    snapshot_from_files(
        &LncliFiles {
            listchannels: fixture("listchannels.json"),
            getinfo: Some(fixture("getinfo.json")),
            pendingchannels: Some(fixture("pendingchannels.json")),
            feereport: Some(fixture("feereport.json")),
        },
        taken_at,
    )
    .expect("fixtures read")
}

/// Plan A now, plan B ten minutes later after the dust HTLCs (those trimmed from our
/// commitment) of the busiest channel failed back to their senders.
fn plans() -> (Plan, Plan) {
    let settings = AnalysisSettings::default();
    let a = analyze(&snapshot(T0), &settings, None);
    let mut later = snapshot(T0 + 600);
    let params = DustParams::from_settings(&settings, None);
    let block_height = later.node.block_height;
    let busiest = later
        .channels
        .iter_mut()
        .max_by_key(|c| c.pending_htlcs.len())
        .expect("fixture has channels");
    let trimmed: Vec<bool> = channel_dust(busiest, block_height, &params)
        .htlcs
        .iter()
        .map(|h| h.trimmed_on_local)
        .collect();
    assert!(
        trimmed.iter().any(|t| *t),
        "the busiest channel carries dust"
    );
    // A trimmed HTLC's value sits in LND's commit_fee; failing it back returns it to the
    // sender's balance. The untrimmed outputs, and so the base fee, stay as they were.
    let mut kept = Vec::new();
    for (htlc, was_trimmed) in busiest.pending_htlcs.drain(..).zip(trimmed) {
        if !was_trimmed {
            kept.push(htlc);
            continue;
        }
        busiest.commit_fee_sat -= htlc.amount_sat;
        if htlc.incoming {
            busiest.remote_balance_sat += htlc.amount_sat;
        } else {
            busiest.local_balance_sat += htlc.amount_sat;
        }
    }
    busiest.pending_htlcs = kept;
    let b = analyze(&later, &settings, Some(&PlanDigest::of(&a)));
    (a, b)
}

fn write_plan(dir: &Path, name: &str, plan: &Plan) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(plan).expect("json")).expect("write");
    path
}

fn output(run: impl FnOnce(&mut Vec<u8>) -> Result<(), AppError>) -> String {
    let mut out = Vec::new();
    run(&mut out).expect("command succeeds");
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn plan_show_prints_a_readable_table() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, _) = plans();
    let file = write_plan(dir.path(), "a.json", &a);
    let text = output(|out| plans::show(Some(&file), None, &Settings::default(), out));
    insta::assert_snapshot!("plan_show", text);
}

#[test]
fn plan_show_channel_prints_one_channels_full_view() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, _) = plans();
    let file = write_plan(dir.path(), "a.json", &a);
    // The busiest channel: its dust, HTLC rows, force close, actions and alerts.
    let busiest = a
        .channels
        .iter()
        .max_by_key(|c| c.htlcs.len())
        .expect("fixture has channels");
    let chan_id = busiest.chan_id;
    let text = output(|out| plans::show(Some(&file), Some(chan_id), &Settings::default(), out));
    insta::assert_snapshot!("plan_show_channel", text);

    let mut out = Vec::new();
    let err = plans::show(Some(&file), Some(1), &Settings::default(), &mut out)
        .expect_err("no channel 1 in the plan");
    assert!(err.to_string().contains("no channel 1"), "{err}");
}

#[test]
fn plan_show_on_a_directory_reads_latest_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = plans();
    write_plan(dir.path(), "plan-old.json", &a);
    let latest = write_plan(dir.path(), "latest.json", &b);
    let from_dir = output(|out| plans::show(Some(dir.path()), None, &Settings::default(), out));
    let from_file = output(|out| plans::show(Some(&latest), None, &Settings::default(), out));
    assert_eq!(from_dir, from_file);

    // Without a target: the configured plan directory.
    let mut settings = Settings::default();
    settings.output.plan_dir = dir.path().to_path_buf();
    let configured = output(|out| plans::show(None, None, &settings, out));
    assert_eq!(configured, from_file);
}

#[test]
fn plan_diff_shows_resolved_actions_and_exposure_deltas() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = plans();
    assert!(
        !b.changes.resolved.is_empty(),
        "settling the HTLCs resolves something"
    );
    let fa = write_plan(dir.path(), "a.json", &a);
    let fb = write_plan(dir.path(), "b.json", &b);
    let text = output(|out| plans::diff_files(&fa, &fb, out));
    for id in &b.changes.resolved {
        assert!(text.contains(&**id), "resolved action {id} listed");
    }
    insta::assert_snapshot!("plan_diff", text);
}

#[test]
fn anything_but_a_schema_v1_or_v2_plan_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, _) = plans();
    let mut v4 = serde_json::to_value(&a).expect("json");
    v4["schema_version"] = serde_json::json!(4);
    let cases = [
        ("v4.json", v4.to_string(), "schema_version 4"),
        (
            "lncli.json",
            "{\"channels\": []}".to_string(),
            "schema_version",
        ),
        ("broken.json", "{ not json".to_string(), "not valid JSON"),
    ];
    for (name, text, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        let err = plans::show(Some(&path), None, &Settings::default(), &mut Vec::new())
            .expect_err("not a v1 or v2 plan");
        let message = err.to_string();
        assert!(matches!(err, AppError::Input(_)), "{name}: {err:?}");
        assert_eq!(err.exit_code(), 65);
        assert!(message.contains(name), "{name}: names the file: {message}");
        assert!(
            dustwatch::commands::error_report(&err).contains(expected),
            "{name}: says why: {}",
            dustwatch::commands::error_report(&err)
        );
    }
    let missing = dir.path().join("missing.json");
    let err = plans::diff_files(&missing, &missing, &mut Vec::new()).expect_err("missing");
    assert!(err.to_string().contains("missing.json"), "{err}");
}

/// A plan file written by an older dustwatch (schema v1: every action in full in each channel
/// section) still shows, diffs against a v2 plan, and shows one channel.
#[test]
fn a_schema_v1_plan_file_still_shows_and_diffs() {
    let v1 = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plan_v1/dusty.json");
    let plan = plans::load(&v1).expect("a v1 plan");
    assert_eq!(plan.schema_version, 1);
    assert!(!plan.all_actions().is_empty(), "the fixture has actions");
    let shown = output(|out| plans::show(Some(&v1), None, &Settings::default(), out));
    assert!(shown.contains("TOP ACTIONS"), "{shown}");
    for action in &plan.priority_actions {
        assert!(shown.contains(&*action.id), "{} in {shown}", action.id);
    }
    // Written again it is a v3 plan that reads back to the same actions and channels.
    let dir = tempfile::tempdir().expect("tempdir");
    let v2 = write_plan(dir.path(), "v2.json", &plan);
    let text = std::fs::read_to_string(&v2).expect("read");
    assert!(text.contains("\"schema_version\": 3"), "{text}");
    let again = plans::load(&v2).expect("a v2 plan");
    assert_eq!(again.all_actions().len(), plan.all_actions().len());
    let ids = |p: &dustwatch::plan::Plan| -> Vec<String> {
        p.all_actions().iter().map(|a| a.id.to_string()).collect()
    };
    assert_eq!(ids(&again), ids(&plan));
    for (a, b) in plan.channels.iter().zip(&again.channels) {
        assert_eq!(a.dust.local_commitment, b.dust.local_commitment);
        assert_eq!(
            a.recommendations.actions.len(),
            b.recommendations.actions.len()
        );
    }
    let diffed = output(|out| plans::diff_files(&v1, &v2, out));
    assert!(!diffed.is_empty());
    let chan = plan.channels[0].chan_id;
    let one = output(|out| plans::show(Some(&v1), Some(chan), &Settings::default(), out));
    assert!(one.starts_with(&format!("channel {chan} ")), "{one}");
    assert!(one.contains("FORCE CLOSE"), "{one}");
    let err = plans::show(Some(&v1), Some(1), &Settings::default(), &mut Vec::new())
        .expect_err("no such channel");
    assert!(err.to_string().contains("no channel 1"), "{err}");
}

/// A plan file of schema v2 (every alert message and action field written, absent figures 0)
/// still shows, shows one channel and diffs; written again as v3 it reads back equal, and
/// its start-up digest is the plan's.
#[test]
fn a_schema_v2_plan_file_still_shows_and_reads_back_through_v3() {
    let v2 = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plan_v2/dusty.json");
    let plan = plans::load(&v2).expect("a v2 plan");
    assert_eq!(plan.schema_version, 2);
    assert!(plan.source.htlc_expiry.is_none(), "v2 did not write it");
    assert!(!plan.alerts.is_empty() && !plan.all_actions().is_empty());
    let shown = output(|out| plans::show(Some(&v2), None, &Settings::default(), out));
    for alert in plan.alerts.iter().take(3) {
        assert!(
            shown.contains(alert.code.as_str()),
            "{} in {shown}",
            alert.code.as_str()
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let v3 = write_plan(dir.path(), "v3.json", &plan);
    let text = std::fs::read_to_string(&v3).expect("read");
    assert!(text.contains("\"schema_version\": 3"), "{text}");
    let mut again = plans::load(&v3).expect("a v3 plan");
    assert_eq!(again.schema_version, 3);
    again.schema_version = 2;
    assert_eq!(again, plan);
    let digest = PlanDigest::from_reader(text.as_bytes()).expect("digest");
    assert_eq!(digest, PlanDigest::of(&plan));
    let diffed = output(|out| plans::diff_files(&v2, &v3, out));
    assert!(!diffed.is_empty());
    let chan = plan.channels[0].chan_id;
    let one = output(|out| plans::show(Some(&v2), Some(chan), &Settings::default(), out));
    assert!(one.contains("FORCE CLOSE"), "{one}");
}
