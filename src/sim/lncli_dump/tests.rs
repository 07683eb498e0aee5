//! Unit tests of the dump: it reads back as the node, looks like `lncli`, BOLT 2 ids.

use super::*;
use crate::model::NodeSnapshot;
use crate::sim::{answers, DEFAULT_MAX_FEE_EXPOSURE_SAT};
use crate::snapshot::lncli::snapshot_from_files;

fn busy_node() -> Simulation {
    let mut sim = Simulation::generate(&ScenarioConfig {
        channels: 40,
        seed: 11,
        start_unix: 1_750_000_000,
        max_fee_exposure_sat: DEFAULT_MAX_FEE_EXPOSURE_SAT,
    });
    sim.add_htlc_load(&HtlcLoad {
        mean_per_channel: 4.0,
        saturated_share: 0.05,
    });
    sim
}

fn read_back(files: &DumpedFiles, taken_at: i64) -> NodeSnapshot {
    snapshot_from_files(&files.lncli_files(), taken_at).expect("the dump reads back")
}

#[test]
fn the_dump_reads_back_as_the_simulated_node() {
    let sim = busy_node();
    let dir = tempfile::tempdir().unwrap();
    let files = sim.dump_lncli(dir.path()).unwrap();
    let snap = read_back(&files, sim.node.now_unix);
    assert!(snap.warnings.is_empty(), "{:?}", snap.warnings);
    assert_eq!(snap.node.identity_pubkey, sim.node.identity_pubkey);
    assert_eq!(snap.node.block_height, Some(sim.node.block_height));
    assert_eq!(snap.pending_channels.len(), sim.node.pending.len());
    assert_eq!(snap.channels.len(), sim.node.channels.len());
    assert!(sim
        .node
        .channels
        .iter()
        .any(|c| c.pending_htlcs.len() == 483));
    for (read, want) in snap.channels.iter().zip(&sim.node.channels) {
        // FeeReport carries our fees only: no HTLC limits, no peer policy.
        let ours = read.local_policy.expect("fee row");
        let policy = want.local_policy.unwrap();
        assert_eq!(
            (ours.fee_base_msat, ours.fee_rate_ppm),
            (policy.fee_base_msat, policy.fee_rate_ppm)
        );
        assert_eq!(
            (ours.inbound_fee_base_msat, ours.inbound_fee_rate_ppm),
            (policy.inbound_fee_base_msat, policy.inbound_fee_rate_ppm)
        );
        let without_policies = |c: &crate::model::Channel| crate::model::Channel {
            local_policy: None,
            remote_policy: None,
            ..c.clone()
        };
        assert_eq!(without_policies(read), without_policies(want));
    }
    // The offline path and the gRPC path agree on every channel.
    let grpc = answers::snapshot(&sim.node, false);
    assert_eq!(snap.channels, grpc.channels);
    assert_eq!(snap.pending_channels, grpc.pending_channels);
}

#[test]
fn the_files_look_like_lncli_output() {
    let sim = busy_node();
    let dir = tempfile::tempdir().unwrap();
    let files = sim.dump_lncli(dir.path()).unwrap();
    let text = std::fs::read_to_string(&files.listchannels).unwrap();
    assert!(text.starts_with("{\n    \"channels\": [\n        {\n"));
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let first = &doc["channels"][0];
    let ch = &sim.node.channels[0];
    assert_eq!(first["scid"], ch.chan_id.to_string());
    assert_eq!(first["capacity"], ch.capacity_sat.to_string());
    assert_eq!(first["csv_delay"], ch.local_constraints.unwrap().csv_delay);
    assert!(first["commitment_type"]
        .as_str()
        .unwrap()
        .chars()
        .all(|c| c.is_ascii_uppercase() || c == '_'));
    let chan_id = first["chan_id"].as_str().unwrap();
    assert_eq!(chan_id.len(), 64);
    assert_ne!(chan_id, ch.chan_id.to_string());
    let fee_rows: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files.feereport).unwrap()).unwrap();
    assert_eq!(
        fee_rows["channel_fees"].as_array().unwrap().len(),
        sim.node.channels.len()
    );
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files.getinfo).unwrap()).unwrap();
    assert_eq!(info["block_height"], sim.node.block_height);
    assert_eq!(
        info["best_header_timestamp"],
        (sim.node.now_unix - 120).to_string()
    );
}

#[test]
fn fwdinghistory_is_lnclis_json_of_every_logged_forward() {
    let sim = busy_node();
    let dir = tempfile::tempdir().unwrap();
    let files = sim.dump_lncli(dir.path()).unwrap();
    let text = std::fs::read_to_string(&files.fwdinghistory).unwrap();
    assert!(text
        .starts_with("{\n    \"forwarding_events\": [\n        {\n            \"timestamp\": \""));
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let events = doc["forwarding_events"].as_array().unwrap();
    assert_eq!(events.len(), sim.node.forwards.len());
    assert!(events.len() > 1_000, "a month of forwards");
    assert_eq!(doc["last_offset_index"], events.len());
    let record = sim.node.forwards.iter().last().unwrap();
    let last = events.last().unwrap().as_object().unwrap();
    let keys: Vec<&str> = last.keys().map(String::as_str).collect();
    let mut lnd_order = vec![
        "timestamp",
        "chan_id_in",
        "chan_id_out",
        "amt_in",
        "amt_out",
        "fee",
        "fee_msat",
        "amt_in_msat",
        "amt_out_msat",
        "timestamp_ns",
        "peer_alias_in",
        "peer_alias_out",
        "incoming_htlc_id",
        "outgoing_htlc_id",
    ];
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    lnd_order.sort_unstable();
    assert_eq!(sorted, lnd_order);
    // uint64 fields are decimal strings.
    let e = &record.event;
    assert_eq!(last["timestamp_ns"], e.timestamp_ns.to_string());
    assert_eq!(
        last["timestamp"],
        (e.timestamp_ns / 1_000_000_000).to_string()
    );
    assert_eq!(last["chan_id_out"], e.chan_id_out.to_string());
    assert_eq!(last["amt_in_msat"], e.amt_in_msat.to_string());
    assert_eq!(last["amt_out"], (e.amt_out_msat / 1000).to_string());
    assert_eq!(last["fee_msat"], e.fee_msat.to_string());
    assert_eq!(
        last["outgoing_htlc_id"],
        record.outgoing_htlc_id.to_string()
    );
    let alias = sim
        .node
        .channel(e.chan_id_out)
        .map(|c| c.peer_alias.to_string());
    assert_eq!(last["peer_alias_out"].as_str().map(str::to_string), alias);
    // Declaration order, as protojson prints it.
    let order = [
        "\"timestamp\"",
        "\"chan_id_in\"",
        "\"chan_id_out\"",
        "\"amt_in\"",
        "\"fee_msat\"",
        "\"timestamp_ns\"",
        "\"peer_alias_out\"",
        "\"outgoing_htlc_id\"",
    ];
    let at: Vec<usize> = order.iter().map(|k| text.find(k).unwrap()).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");
}

#[test]
fn channel_ids_follow_bolt2() {
    // lncli 0.19 example: funding txid d0e9…6fe7, output 1.
    let point = "d0e9cb9c8fdd906cce3c0d1560df6aa426f28d9b9f7c7029dcd8d1d1bda26fe7:1";
    assert_eq!(
        bolt2_channel_id(point).unwrap(),
        "e76fa2bdd1d1d8dc29707c9f9b8df226a46adf60150d3cce6c90dd8f9ccbe9d1"
    );
    assert_eq!(bolt2_channel_id("nothex:0"), None);
    assert_eq!(scid_str(222_101_348_876_289), "202x1x1");
}

#[test]
fn a_dump_into_an_unwritable_place_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let err = busy_node().dump_lncli(&blocker.join("sub")).unwrap_err();
    assert!(err.to_string().contains("file"), "{err}");
}
