//! Unit tests of the wire answers: ListChannels and its filters, hash buffers, GetInfo.

use prost::bytes::Bytes;

use super::channels::{channel, CHANNELS_PER_TASK, HASH_BUFFER_BYTES};
use super::*;
use crate::model::{Channel, PaymentHash};
use crate::sim::{ScenarioConfig, Simulation, DEFAULT_MAX_FEE_EXPOSURE_SAT};

fn node() -> NodeState {
    let mut node = Simulation::generate(&ScenarioConfig {
        channels: 60,
        seed: 11,
        start_unix: 1_750_000_000,
        max_fee_exposure_sat: DEFAULT_MAX_FEE_EXPOSURE_SAT,
    })
    .node;
    // Make every filter pick a proper, non-empty subset.
    for (i, c) in node.channels.iter_mut().enumerate() {
        c.active = i % 3 != 0;
        c.private = i % 4 == 0;
    }
    node
}

fn ids(answer: &pb::ListChannelsResponse) -> Vec<u64> {
    answer.channels.iter().map(|c| c.chan_id).collect()
}

fn ids_where(node: &NodeState, keep: impl Fn(&Channel) -> bool) -> Vec<u64> {
    node.channels
        .iter()
        .filter(|c| keep(c))
        .map(|c| c.chan_id)
        .collect()
}

/// ListChannels with aliases, checked against every channel built on its own, in order.
fn every_channel_with_aliases(node: &NodeState) -> pb::ListChannelsResponse {
    let all = list_channels(
        node,
        &pb::ListChannelsRequest {
            peer_alias_lookup: true,
            ..Default::default()
        },
    );
    let expected: Vec<pb::Channel> = node.channels.iter().map(channel).collect();
    assert_eq!(all.channels, expected);
    all
}

/// Every HTLC's `hash_lock` in the answer, in order.
fn hash_locks(answer: &pb::ListChannelsResponse) -> Vec<&Bytes> {
    answer
        .channels
        .iter()
        .flat_map(|c| &c.pending_htlcs)
        .map(|h| &h.hash_lock)
        .collect()
}

#[test]
fn list_channels_is_every_channel_as_lnd_sends_it() {
    let node = node();
    let all = every_channel_with_aliases(&node);
    assert!(all.channels.iter().any(|c| !c.pending_htlcs.is_empty()));
    for (wire, model) in all.channels.iter().zip(&node.channels) {
        for (w, m) in wire.pending_htlcs.iter().zip(&model.pending_htlcs) {
            let hash = m.hash_lock.expect("the simulator gives every HTLC a hash");
            assert_eq!(&w.hash_lock[..], &hash.as_bytes()[..]);
        }
    }

    // Without the alias lookup, LND leaves the alias empty; nothing else changes.
    let plain = list_channels(&node, &pb::ListChannelsRequest::default());
    assert!(plain.channels.iter().all(|c| c.peer_alias.is_empty()));
    assert!(all.channels.iter().any(|c| !c.peer_alias.is_empty()));
    let with_aliases: Vec<pb::Channel> = plain
        .channels
        .into_iter()
        .zip(&node.channels)
        .map(|(mut c, m)| {
            c.peer_alias = m.peer_alias.to_string();
            c
        })
        .collect();
    assert_eq!(with_aliases, all.channels);
}

/// A node big enough for many parallel tasks, every channel with a few HTLCs.
#[test]
fn a_big_answer_is_built_in_order_on_every_core() {
    let mut sim = Simulation::generate(&ScenarioConfig {
        channels: 2_000,
        seed: 12,
        start_unix: 1_750_000_000,
        max_fee_exposure_sat: DEFAULT_MAX_FEE_EXPOSURE_SAT,
    });
    sim.add_htlc_load(&crate::sim::HtlcLoad {
        mean_per_channel: 4.0,
        saturated_share: 0.0,
    });
    let node = sim.node;
    let all = every_channel_with_aliases(&node);

    // Hashes share buffers: a new buffer starts only when a task starts or one is full,
    // never once per channel.
    let wire = hash_locks(&all);
    let buffers = 1 + wire
        .windows(2)
        .filter(|pair| pair[0].as_ptr().wrapping_add(PaymentHash::LEN) != pair[1].as_ptr())
        .count();
    let tasks = node.channels.len().div_ceil(CHANNELS_PER_TASK);
    let full = wire.len() * PaymentHash::LEN / HASH_BUFFER_BYTES;
    assert!(wire.len() > 4_000, "{} HTLCs", wire.len());
    assert!(
        buffers <= tasks + full + 1,
        "{buffers} buffers for {tasks} tasks and {} HTLCs",
        wire.len()
    );
}

#[test]
fn hash_locks_of_a_small_answer_are_slices_of_one_buffer() {
    let node = node();
    let all = list_channels(&node, &pb::ListChannelsRequest::default());
    let wire = hash_locks(&all);
    assert!(wire.len() > 10, "{} HTLCs", wire.len());
    for pair in wire.windows(2) {
        assert_eq!(
            pair[0].as_ptr().wrapping_add(PaymentHash::LEN),
            pair[1].as_ptr(),
            "consecutive slices of one buffer"
        );
    }

    for (wire, model) in all.channels.iter().zip(&node.channels) {
        for (w, m) in wire.pending_htlcs.iter().zip(&model.pending_htlcs) {
            assert_eq!(
                Some(&w.hash_lock[..]),
                m.hash_lock.as_ref().map(|h| &h.0[..])
            );
        }
    }

    // An HTLC without a hash goes out with empty bytes; the others keep theirs.
    let mut ch = node
        .channels
        .iter()
        .find(|c| c.pending_htlcs.len() >= 3)
        .expect("a channel with three HTLCs")
        .clone();
    ch.pending_htlcs[1].hash_lock = None;
    let wire = channel(&ch);
    let sent: Vec<Option<PaymentHash>> = wire
        .pending_htlcs
        .iter()
        .map(|h| PaymentHash::from_slice(&h.hash_lock))
        .collect();
    let held: Vec<Option<PaymentHash>> = ch.pending_htlcs.iter().map(|h| h.hash_lock).collect();
    assert_eq!(sent, held);
    assert!(wire.pending_htlcs[1].hash_lock.is_empty());
}

#[test]
fn get_info_counts_distinct_connected_peers() {
    let mut node = node();
    // Two more channels with an active channel's peer, one with an inactive one's.
    let shared = node.channels[1].remote_pubkey.clone();
    node.channels[2].remote_pubkey = shared.clone();
    node.channels[4].remote_pubkey = shared;
    node.channels[7].remote_pubkey = node.channels[3].remote_pubkey.clone();
    let mut expected: std::collections::BTreeSet<&str> = node
        .channels
        .iter()
        .filter(|c| c.active)
        .map(|c| &*c.remote_pubkey)
        .collect();
    let active = node.channels.iter().filter(|c| c.active).count();
    assert_eq!(
        expected.len(),
        active - 2,
        "two active channels share a peer"
    );
    let opening = node
        .pending
        .iter()
        .filter(|p| matches!(p.stage, PendingStage::Opening { .. }));
    expected.extend(opening.map(|p| p.remote_pubkey.as_str()));
    assert_eq!(
        get_info(&node, "127.0.0.1:10009").num_peers as usize,
        expected.len()
    );
}

#[test]
fn list_channels_applies_each_filter() {
    let node = node();
    let ask = |req: pb::ListChannelsRequest| ids(&list_channels(&node, &req));
    let active = ask(pb::ListChannelsRequest {
        active_only: true,
        ..Default::default()
    });
    assert_eq!(active, ids_where(&node, |c| c.active));
    let inactive = ask(pb::ListChannelsRequest {
        inactive_only: true,
        ..Default::default()
    });
    assert_eq!(inactive, ids_where(&node, |c| !c.active));
    let public = ask(pb::ListChannelsRequest {
        public_only: true,
        ..Default::default()
    });
    assert_eq!(public, ids_where(&node, |c| !c.private));
    let private_active = ask(pb::ListChannelsRequest {
        private_only: true,
        active_only: true,
        ..Default::default()
    });
    assert_eq!(private_active, ids_where(&node, |c| c.private && c.active));
    assert!(!private_active.is_empty() && private_active.len() < active.len());

    let peer = node.channels[5].remote_pubkey.clone();
    let by_peer = ask(pb::ListChannelsRequest {
        peer: hex::decode(&*peer).unwrap(),
        ..Default::default()
    });
    assert_eq!(by_peer, ids_where(&node, |c| c.remote_pubkey == peer));
    assert!(by_peer.contains(&node.channels[5].chan_id));
    let nobody = ask(pb::ListChannelsRequest {
        peer: vec![2; 33],
        ..Default::default()
    });
    assert!(nobody.is_empty());
}
