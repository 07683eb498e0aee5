//! Forwarding flow end to end over TLS: the client pages the simulated LND's
//! ForwardingHistory, keeps the long window between cycles, fetches only what is new, prunes
//! what falls out of the window, and says "unknown" when the call fails. The simulator's flow
//! is checked against what it forwarded.
//!
//! The client reads the simulator's clock (as the demo does), so every time here is simulated
//! time moved by ticks or by a test clock; nothing sleeps.

use std::sync::Arc;
use std::time::Duration;

use dustwatch::lnd::client::{ClientOptions, LndClient};
use dustwatch::lnd::flow_store::LATE_EVENT_SECS;
use dustwatch::lnd::source::NodeSource;
use dustwatch::model::flow::LONG_FLOW_WINDOW_SECS;
use dustwatch::model::{funding_block_height, FlowWindow, ForwardingEvent, ForwardingFlow};
use dustwatch::settings::LndSettings;
use dustwatch::sim::forwards::{FlowRole, ForwardingQuery};
use dustwatch::sim::SimHandle;

mod common;

use common::start_sim;

const DAY: i64 = 86_400;
const WINDOW: Duration = Duration::from_secs(7 * 86_400);

fn client(node: &SimHandle, page_size: u32) -> LndClient {
    let settings = LndSettings {
        host: "localhost".into(),
        port: node.addr().port(),
        tls_cert_path: node.cert_path().to_path_buf(),
        macaroon_path: node.macaroon_path().to_path_buf(),
        request_timeout: Duration::from_secs(20),
        ..LndSettings::default()
    };
    let options = ClientOptions {
        flow_window: WINDOW,
        flow_page_size: page_size,
        ..ClientOptions::default()
    };
    let mut client = LndClient::with_options(&settings, options).expect("client");
    client.set_clock(node.clock());
    client
}

/// Every forward the simulated node has recorded.
fn sim_forwards(node: &SimHandle) -> Vec<ForwardingEvent> {
    node.with_state(|n| n.forwards.iter().map(|r| r.event).collect())
}

fn in_long_window(events: &[ForwardingEvent], now: i64) -> usize {
    let start_ns = (now - LONG_FLOW_WINDOW_SECS as i64) as u64 * 1_000_000_000;
    let end_ns = now as u64 * 1_000_000_000;
    events
        .iter()
        .filter(|e| e.timestamp_ns >= start_ns && e.timestamp_ns <= end_ns)
        .count()
}

#[tokio::test]
async fn flow_is_what_the_simulator_forwarded_read_in_pages() {
    let (node, _dir) = start_sim(30, 11).await;
    let mut client = client(&node, 500);
    let snapshot = client.fetch_snapshot().await.expect("snapshot");
    let now = snapshot.taken_at_unix;
    let forwards = sim_forwards(&node);
    let flow = snapshot.flow.expect("flow known");
    assert_eq!(
        flow,
        ForwardingFlow::from_events(&forwards, now, WINDOW.as_secs())
    );
    assert!(flow.window.channels.len() > 5, "{:?}", flow.window);
    let expected = in_long_window(&forwards, now);
    assert_eq!(client.stored_forwards(), expected);

    // Paged like LND expects: one time range, offsets chained through last_offset_index, full
    // pages until a short one.
    let queries = node.forwarding_queries();
    let pages = expected / 500 + 1;
    assert!(pages >= 3, "{expected} forwards make several pages");
    assert_eq!(queries.len(), pages);
    for (i, q) in queries.iter().enumerate() {
        assert_eq!(q.start_time, (now - LONG_FLOW_WINDOW_SECS as i64) as u64);
        assert_eq!(q.end_time, now as u64);
        assert_eq!(q.index_offset, 500 * i as u32);
        assert_eq!(q.num_max_events, 500);
    }
}

#[tokio::test]
async fn later_cycles_fetch_only_new_forwards_and_count_each_once() {
    let (node, _dir) = start_sim(30, 12).await;
    let mut client = client(&node, 200);
    let first = client.fetch_snapshot().await.expect("first snapshot");
    let first_end = first.taken_at_unix as u64;
    let asked_first = node.forwarding_queries().len();
    for _ in 0..30 {
        node.tick();
    }
    let second = client.fetch_snapshot().await.expect("second snapshot");
    let now = second.taken_at_unix;
    assert_eq!(now - first.taken_at_unix, 30 * 60);
    let forwards = sim_forwards(&node);
    let new = forwards
        .iter()
        .filter(|e| e.timestamp_ns > first_end * 1_000_000_000)
        .count();
    assert!(new > 0, "the ticks forwarded something");

    // The second cycle asked only from a minute before the first one's end.
    let queries = node.forwarding_queries();
    let second_queries: Vec<ForwardingQuery> = queries[asked_first..].to_vec();
    assert_eq!(second_queries.len(), 1, "{second_queries:?}");
    assert_eq!(second_queries[0].start_time, first_end - LATE_EVENT_SECS);
    assert_eq!(second_queries[0].end_time, now as u64);

    // Nothing counted twice, nothing missed: the store is the simulator's window.
    assert_eq!(client.stored_forwards(), in_long_window(&forwards, now));
    assert_eq!(
        second.flow.expect("flow known"),
        ForwardingFlow::from_events(&forwards, now, WINDOW.as_secs())
    );

    // A restarted dustwatch (a new client) refetches the whole long window.
    let mut restarted = self::client(&node, 200);
    let third = restarted.fetch_snapshot().await.expect("snapshot");
    let last = node.forwarding_queries()[queries.len()];
    assert_eq!(
        last.start_time,
        (third.taken_at_unix - LONG_FLOW_WINDOW_SECS as i64) as u64
    );
    assert_eq!(restarted.stored_forwards(), client.stored_forwards());
}

#[tokio::test]
async fn forwards_older_than_the_long_window_are_pruned() {
    let (node, _dir) = start_sim(30, 13).await;
    let mut client = client(&node, 10_000);
    client.fetch_snapshot().await.expect("snapshot");
    let sim_now = node.clock()();
    let forwards = sim_forwards(&node);
    let all = client.stored_forwards();
    // Ten days later (a test clock), with no new forwards: a third of the window is gone.
    let later = sim_now + 10 * DAY;
    client.set_clock(Arc::new(move || later));
    let snapshot = client.fetch_snapshot().await.expect("snapshot");
    let kept = in_long_window(&forwards, later);
    assert!(kept < all, "{kept} of {all}");
    assert_eq!(client.stored_forwards(), kept);
    let flow = snapshot.flow.expect("flow known");
    let long = FlowWindow::aggregate(&forwards, later - LONG_FLOW_WINDOW_SECS as i64, later);
    assert_eq!(flow.long_window, long);
}

#[tokio::test]
async fn a_failing_forwarding_history_leaves_flow_unknown_and_the_rest_intact() {
    let (node, _dir) = start_sim(12, 14).await;
    let mut client = client(&node, 10_000);
    let good = client.fetch_snapshot().await.expect("snapshot");
    assert!(good.flow.is_some());
    node.set_forwarding_history_unimplemented(true);
    let bad = client
        .fetch_snapshot()
        .await
        .expect("the snapshot still succeeds");
    assert_eq!(bad.flow, None);
    let notes: Vec<&str> = bad
        .warnings
        .iter()
        .map(|w| w.message.as_str())
        .filter(|m| m.contains("forwarding flow unknown"))
        .collect();
    assert_eq!(notes.len(), 1, "{:?}", bad.warnings);
    assert!(notes[0].contains("ForwardingHistory"), "{}", notes[0]);
    assert_eq!(bad.channels, good.channels);
    assert_eq!(bad.node, good.node);
    // Back to normal: flow is known again, from the kept history.
    node.set_forwarding_history_unimplemented(false);
    let again = client.fetch_snapshot().await.expect("snapshot");
    assert!(again.flow.is_some());
}

#[tokio::test]
async fn the_simulated_history_has_busy_idle_draining_and_young_channels() {
    // Roles follow a hash of the channel ids, which depend on when the node starts: at 200
    // channels every role is common enough to check whenever the test runs.
    let (node, _dir) = start_sim(200, 15).await;
    let mut client = client(&node, 10_000);
    let snapshot = client.fetch_snapshot().await.expect("snapshot");
    let now = snapshot.taken_at_unix;
    let flow = snapshot.flow.expect("flow known");
    let height = snapshot.node.block_height.expect("GetInfo height");
    let forwards = sim_forwards(&node);
    let role = |id| FlowRole::of(id);

    let mut idle_with_past_flow = 0;
    let mut sinks = 0;
    // Sinks drain on the whole; one sink may see more in than out while live ticks (whose
    // count depends on how fast this machine runs the test) add forwards either way.
    let (mut sinks_out_msat, mut sinks_in_msat) = (0u64, 0u64);
    for ch in &snapshot.channels {
        let window = flow.window.of(ch.chan_id);
        let long = flow.long_window.of(ch.chan_id);
        let funded = funding_block_height(ch.chan_id).expect("a real scid");
        assert!(funded < height, "funding height below the tip");
        // No forward before the channel existed (ten-minute blocks on the simulated clock).
        let funded_at_ns = (now - i64::from(height - funded) * 600).max(0) as u64 * 1_000_000_000;
        assert!(forwards
            .iter()
            .filter(|e| e.chan_id_in == ch.chan_id || e.chan_id_out == ch.chan_id)
            .all(|e| e.timestamp_ns >= funded_at_ns));
        match role(ch.chan_id) {
            FlowRole::Idle | FlowRole::CheapIdle => {
                assert!(window.is_idle(), "{} idle in the window", ch.chan_id);
                idle_with_past_flow += usize::from(!long.is_idle());
                if role(ch.chan_id) == FlowRole::CheapIdle {
                    let ppm = ch.local_policy.expect("policy").fee_rate_ppm;
                    assert!(ppm <= 10, "cheap: {ppm}");
                }
            }
            // Judged over the long window: the generated past forwards at a real node's pace,
            // so a small sink may see none in a given week.
            FlowRole::Sink if long.forwards_out > 0 => {
                sinks += 1;
                assert!(ch.local_policy.expect("policy").fee_rate_ppm >= 1_500);
                sinks_out_msat += long.routed_out_msat;
                sinks_in_msat += long.routed_in_msat;
            }
            _ => {}
        }
    }
    assert!(
        idle_with_past_flow >= 3,
        "idle channels that had flow earlier"
    );
    assert!(sinks >= 2, "busy sinks");
    assert!(
        sinks_out_msat > 2 * sinks_in_msat,
        "sinks drain: out {sinks_out_msat} msat, in {sinks_in_msat} msat"
    );
    let young = snapshot
        .channels
        .iter()
        .filter(|c| funding_block_height(c.chan_id).is_some_and(|h| height - h < 7 * 144))
        .count();
    assert!(young >= 1, "channels younger than the window");
}
