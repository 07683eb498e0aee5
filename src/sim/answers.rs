//! The simulated node's answers to one polling cycle, without the network.
//!
//! [`snapshot_parts`] builds the same `lnrpc` answers the gRPC service sends (GetInfo,
//! ListChannels with peer aliases, PendingChannels, FeeReport, WalletBalance, GetDebugInfo and,
//! when asked, GetChanInfo per channel), so that benchmarks can time decoding, conversion and
//! analysis of exactly what a client would receive, and [`snapshot`] converts them with
//! [`crate::lnd::convert`] into the [`NodeSnapshot`] the daemon would analyse.

use std::collections::BTreeMap;

use super::state::NodeState;
use super::wire;
use crate::lnd::convert::{self, SnapshotParts};
use crate::lnd::pb;
use crate::model::{ForwardingEvent, ForwardingFlow, NodeSnapshot, SnapshotSource};
use crate::settings::AnalysisSettings;

/// `source.kind` of snapshots built here.
pub const SOURCE_KIND: &str = "simulator";

/// What a client asking every question of one cycle would get from `node`. `with_edges` adds
/// GetChanInfo for every channel (the client asks it only on small nodes).
pub fn snapshot_parts(node: &NodeState, with_edges: bool) -> SnapshotParts {
    let listen = node
        .config
        .get("rpclisten")
        .map_or("127.0.0.1:10009", String::as_str);
    let edges = if with_edges {
        node.channels
            .iter()
            .map(|ch| (ch.chan_id, wire::channel_edge(node, ch)))
            .collect()
    } else {
        BTreeMap::new()
    };
    SnapshotParts {
        taken_at_unix: node.now_unix,
        source: SnapshotSource {
            kind: SOURCE_KIND.to_string(),
            detail: listen.to_string(),
        },
        info: wire::get_info(node, listen),
        channels: wire::list_channels(
            node,
            &pb::ListChannelsRequest {
                peer_alias_lookup: true,
                ..Default::default()
            },
        ),
        pending: Some(wire::pending_channels(node)),
        fee_report: Some(wire::fee_report(node)),
        wallet: Some(wire::wallet_balance(node)),
        debug_info: Some(wire::debug_info(node)),
        edges,
    }
}

/// The snapshot the daemon would analyse after reading `node` over gRPC, its flow over the
/// default `analysis.flow_window` included (from every forward the node has logged).
pub fn snapshot(node: &NodeState, with_edges: bool) -> NodeSnapshot {
    let mut snapshot = convert::snapshot(snapshot_parts(node, with_edges));
    let events: Vec<ForwardingEvent> = node.forwards.iter().map(|r| r.event).collect();
    let window = AnalysisSettings::default().flow_window.as_secs();
    snapshot.flow = Some(ForwardingFlow::from_events(&events, node.now_unix, window));
    snapshot
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{ScenarioConfig, Simulation, DEFAULT_MAX_FEE_EXPOSURE_SAT};

    #[test]
    fn the_converted_answers_are_the_simulated_node() {
        let sim = Simulation::generate(&ScenarioConfig {
            channels: 25,
            seed: 4,
            start_unix: 1_750_000_000,
            max_fee_exposure_sat: DEFAULT_MAX_FEE_EXPOSURE_SAT,
        });
        let snap = snapshot(&sim.node, true);
        assert!(snap.warnings.is_empty(), "{:?}", snap.warnings);
        assert_eq!(snap.source.kind, SOURCE_KIND);
        assert_eq!(snap.taken_at_unix, sim.node.now_unix);
        assert_eq!(snap.node.block_height, Some(sim.node.block_height));
        assert_eq!(snap.channels, sim.node.channels);
        assert_eq!(snap.pending_channels.len(), sim.node.pending.len());
        assert_eq!(
            snap.node_exposure_limit.map(|l| l.sat),
            Some(DEFAULT_MAX_FEE_EXPOSURE_SAT)
        );

        // Without GetChanInfo, our fees come from FeeReport and the peer's policy is unknown.
        let plain = snapshot(&sim.node, false);
        for (ch, sim_ch) in plain.channels.iter().zip(&sim.node.channels) {
            assert_eq!(ch.remote_policy, None);
            let ours = ch.local_policy.expect("FeeReport row");
            let want = sim_ch.local_policy.unwrap();
            assert_eq!(ours.fee_base_msat, want.fee_base_msat);
            assert_eq!(ours.fee_rate_ppm, want.fee_rate_ppm);
            assert_eq!(ch.pending_htlcs, sim_ch.pending_htlcs);
        }
    }
}
