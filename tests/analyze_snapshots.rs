//! Snapshot tests of whole plans for hand-built nodes, plus the check that
//! `docs/plan-schema.md` documents every field a plan has (and nothing it does not).
//!
//! Nodes are built so their numbers add up as LND's do: for every channel
//! `capacity = local + remote + Σ HTLCs + base fee + 660 anchor sat (anchor types)`, and
//! `commit_fee = capacity − Σ outputs of our commitment` (the dust engine's own cross-check
//! confirms it; one channel of the dusty node is deliberately off by a few sat to exercise
//! the `commit_fee_mismatch` alert).
//!
//! To accept changed snapshots: `INSTA_UPDATE=always cargo test --test analyze_snapshots`,
//! then review the `.snap` files and run the test again without it.

use std::collections::BTreeSet;

use dustwatch::analyze::analyze;
use dustwatch::dust::{commitment_dust, DustParams, Side};
use dustwatch::model::{
    Channel, CommitmentType, ExposureLimitSource, ForwardingEvent, ForwardingFlow, Htlc, Initiator,
    NodeExposureLimit, NodeInfo, NodeSnapshot, PaymentHash, PendingChannel, PendingKind,
    RoutingPolicy, SnapshotSource, SnapshotWarning, WalletBalance,
};
use dustwatch::plan::{
    read_plan, render_table, Action, ActionKind, ActionText, Alert, AlertCode, Complexity,
    ExpiryStatus, HtlcReport, LndSupport, Plan, PlanDigest, Severity, Wording,
};
use dustwatch::settings::AnalysisSettings;
use dustwatch::testkit;

const BLOCK: u32 = 850_000;
const TAKEN_AT: i64 = 1_750_000_000;
const DAY: u64 = 86_400;

/// A short channel id as LND packs it: block << 40 | tx index << 16 | output.
fn scid(block: u64, tx: u64, out: u64) -> u64 {
    (block << 40) | (tx << 16) | out
}

/// Everything that distinguishes one test channel from another.
#[derive(Clone)]
struct Spec {
    chan_id: u64,
    alias: &'static str,
    capacity: u64,
    local: u64,
    commitment_type: CommitmentType,
    initiator: Initiator,
    fee_per_kw: u64,
    /// (incoming, amount_sat, blocks until expiry)
    htlcs: Vec<(bool, u64, u32)>,
    active: bool,
    sent: u64,
    received: u64,
    lifetime_days: u64,
    uptime_share: f64,
    /// (base msat, ppm, min_htlc msat); `None` when only lncli JSON without policies was read.
    policy: Option<(i64, i64, u64)>,
    /// Added to the consistent `commit_fee` (only to exercise the mismatch alert).
    commit_fee_skew: u64,
    /// Fee rate its outbound forwards earned, when not its policy's (or without one).
    earned_ppm: Option<u64>,
}

impl Spec {
    fn new(chan_id: u64, alias: &'static str, capacity: u64, local: u64) -> Spec {
        Spec {
            chan_id,
            alias,
            capacity,
            local,
            commitment_type: CommitmentType::Anchors,
            initiator: Initiator::Local,
            fee_per_kw: 253,
            htlcs: Vec::new(),
            active: true,
            sent: 0,
            received: 0,
            lifetime_days: 30,
            uptime_share: 1.0,
            policy: Some((1_000, 200, 1_000)),
            commit_fee_skew: 0,
            earned_ppm: None,
        }
    }

    /// Flow that gives `utilization` of the 0.1/day target over the lifetime, half each way.
    fn flow(mut self, utilization: f64) -> Spec {
        let total = (utilization * 0.1 * self.capacity as f64 * self.lifetime_days as f64) as u64;
        self.sent = total / 2;
        self.received = total - total / 2;
        self
    }

    /// Our fee rate (and so what the channel's forwards earn).
    fn ppm(mut self, ppm: i64) -> Spec {
        self.policy = Some((1_000, ppm, 1_000));
        self
    }

    fn build(&self) -> Channel {
        let pending_htlcs = self
            .htlcs
            .iter()
            .enumerate()
            .map(|(i, &(incoming, amount_sat, blocks))| Htlc {
                hash_lock: PaymentHash::from_hex(&format!(
                    "{:064x}",
                    self.chan_id.wrapping_mul(31).wrapping_add(i as u64)
                )),
                ..testkit::htlc(i as u64, incoming, amount_sat, BLOCK + blocks)
            })
            .collect();
        let lifetime_secs = self.lifetime_days * DAY;
        let mut ch = Channel {
            channel_point: format!(
                "{:064x}:{}",
                self.chan_id.wrapping_mul(7_919),
                self.chan_id & 0xffff
            )
            .into(),
            remote_pubkey: format!("02{:064x}", self.chan_id.wrapping_mul(104_729)).into(),
            peer_alias: self.alias.to_string().into(),
            active: self.active,
            initiator: self.initiator,
            commitment_type: self.commitment_type,
            fee_per_kw: self.fee_per_kw,
            unsettled_balance_sat: self.htlcs.iter().map(|h| h.1).sum(),
            total_satoshis_sent: self.sent,
            total_satoshis_received: self.received,
            num_updates: 1_000,
            lifetime_secs,
            uptime_secs: (lifetime_secs as f64 * self.uptime_share) as u64,
            pending_htlcs,
            local_policy: self.policy.map(|(base, ppm, min)| RoutingPolicy {
                fee_base_msat: base,
                fee_rate_ppm: ppm,
                min_htlc_msat: Some(min),
                max_htlc_msat: Some(self.capacity * 990),
                time_lock_delta: Some(80),
                ..RoutingPolicy::default()
            }),
            ..testkit::channel(self.chan_id, self.capacity, self.local)
        };
        // Both balances are net: the initiator's of the base fee and the anchors.
        let params = DustParams::default();
        let anchors = if self.commitment_type.has_anchors() {
            660
        } else {
            0
        };
        let htlc_sum: u64 = self.htlcs.iter().map(|h| h.1).sum();
        ch.remote_balance_sat = 1; // provisional: the base fee depends only on untrimmed HTLCs
        let local = commitment_dust(&ch, Side::Local, ch.fee_per_kw, &params);
        ch.remote_balance_sat =
            self.capacity - self.local - htlc_sum - local.base_fee_sat - anchors;
        let local = commitment_dust(&ch, Side::Local, ch.fee_per_kw, &params);
        ch.commit_weight = local.weight;
        ch.commit_fee_sat = local.fees_to_miners_sat + self.commit_fee_skew;
        ch
    }
}

fn snapshot(alias: &str, specs: &[Spec]) -> NodeSnapshot {
    let mut snap = NodeSnapshot::empty(
        TAKEN_AT,
        SnapshotSource {
            kind: "test".to_string(),
            detail: format!("tests/analyze_snapshots.rs ({alias})"),
        },
    );
    snap.node = NodeInfo {
        identity_pubkey: format!("03{:064x}", alias.len() as u64 * 1_000_003),
        alias: alias.to_string(),
        version: "0.19.2-beta commit=v0.19.2-beta".to_string(),
        block_height: Some(BLOCK),
        synced_to_chain: true,
        network: "mainnet".to_string(),
    };
    snap.wallet = Some(WalletBalance {
        confirmed_sat: 5_000_000,
        ..WalletBalance::default()
    });
    snap.channels = specs.iter().map(Spec::build).collect();
    snap.flow = Some(forwarding_flow(specs));
    snap.normalize();
    snap
}

/// A channel that exists only in the forwarding history (the other end of every forward).
const ELSEWHERE: u64 = 1;

/// Forwarding history at the pace each spec's lifetime totals give: over the 7-day window,
/// `sent × 7 / lifetime_days` out of the channel at its fee rate and `received × 7 /
/// lifetime_days` into it, an hour before the snapshot.
fn forwarding_flow(specs: &[Spec]) -> ForwardingFlow {
    let window_days = 7;
    let at_ns = u64::try_from(TAKEN_AT).unwrap() * 1_000_000_000 - 3_600 * 1_000_000_000;
    let mut events = Vec::new();
    for spec in specs {
        let per_window = |total: u64| total * window_days / spec.lifetime_days.max(1);
        let (out, inbound) = (per_window(spec.sent), per_window(spec.received));
        let ppm = spec
            .earned_ppm
            .unwrap_or_else(|| spec.policy.map_or(200, |(_, ppm, _)| ppm as u64));
        if out > 0 {
            let fee_msat = out * 1000 * ppm / 1_000_000;
            events.push(ForwardingEvent {
                timestamp_ns: at_ns,
                chan_id_in: ELSEWHERE,
                chan_id_out: spec.chan_id,
                amt_in_msat: out * 1000 + fee_msat,
                amt_out_msat: out * 1000,
                fee_msat,
            });
        }
        if inbound > 0 {
            events.push(ForwardingEvent {
                timestamp_ns: at_ns,
                chan_id_in: spec.chan_id,
                chan_id_out: ELSEWHERE,
                amt_in_msat: inbound * 1000 + 200,
                amt_out_msat: inbound * 1000,
                fee_msat: 200,
            });
        }
    }
    ForwardingFlow::from_events(&events, TAKEN_AT, window_days * DAY)
}

/// Three well-run channels: balanced, moderately used, no dust. A quiet plan.
fn balanced() -> NodeSnapshot {
    snapshot(
        "balanced",
        &[
            Spec::new(scid(800_000, 12, 0), "acinq", 5_000_000, 2_499_528).flow(0.6),
            Spec::new(scid(801_234, 7, 1), "kraken", 2_000_000, 1_050_000).flow(0.5),
            Spec::new(scid(812_000, 301, 0), "bitrefill", 3_000_000, 1_400_000).flow(0.7),
        ],
    )
}

/// Dust in several forms: recurring outgoing dust on an anchors channel (one HTLC close to
/// expiry), a static-remote-key channel at a high feerate where 2–3k sat HTLCs are dust, and an
/// offline peer with dust pending. One channel's `commit_fee` is off by 3 sat.
fn dusty() -> NodeSnapshot {
    let mut anchors = Spec::new(scid(790_000, 55, 1), "dust-magnet", 1_000_000, 480_000).flow(0.4);
    anchors.htlcs = vec![
        (false, 300, 400),
        (false, 320, 390),
        (false, 250, 100),
        (true, 200, 500),
        (false, 150_000, 600),
    ];
    let mut legacy = Spec::new(scid(700_100, 3, 0), "old-friend", 2_000_000, 900_000).flow(0.3);
    legacy.commitment_type = CommitmentType::StaticRemoteKey;
    legacy.initiator = Initiator::Remote;
    legacy.fee_per_kw = 5_000;
    legacy.htlcs = vec![
        (false, 2_500, 300),
        (true, 3_000, 310),
        (false, 2_800, 320),
        (true, 90_000, 330),
    ];
    legacy.commit_fee_skew = 3;
    let mut offline = Spec::new(scid(805_000, 9, 0), "sleepy", 1_500_000, 700_000).flow(0.2);
    offline.active = false;
    offline.uptime_share = 0.7;
    offline.htlcs = vec![(true, 330, 30), (false, 340, 200)];
    snapshot("dusty", &[anchors, legacy, offline])
}

/// LND reported `channel-max-fee-exposure = 100,000`: one static-remote-key channel at
/// 12,500 sat/kw sits at 81% of it, another is over it; an anchors channel is fine.
fn near_exposure_limit() -> NodeSnapshot {
    let mut near = Spec::new(scid(760_000, 40, 0), "fee-spiker", 3_000_000, 1_500_000).flow(0.5);
    near.commitment_type = CommitmentType::StaticRemoteKey;
    near.fee_per_kw = 12_500;
    near.htlcs = (0..9).map(|i| (i % 3 == 0, 8_000, 500 + i)).collect();
    let mut over = Spec::new(scid(761_000, 41, 1), "htlc-firehose", 4_000_000, 2_000_000).flow(0.9);
    over.commitment_type = CommitmentType::StaticRemoteKey;
    over.fee_per_kw = 12_500;
    over.htlcs = (0..14).map(|i| (false, 8_000, 600 + i)).collect();
    let fine = Spec::new(scid(830_000, 2, 0), "steady", 2_000_000, 999_528).flow(0.5);
    let mut snap = snapshot("near-limit", &[near, over, fine]);
    snap.node_exposure_limit = Some(NodeExposureLimit {
        sat: 100_000,
        source: ExposureLimitSource::LndChannelMaxFeeExposure,
    });
    snap
}

/// Three channels full of local balance, two nearly empty (one without a known policy), one
/// balanced: more surplus than deficit, so some surplus is left for fee changes. `shift` moves
/// balance from `full-a` to `drain-a` (the next cycle after a rebalance).
fn imbalanced_pairs(shift: u64) -> NodeSnapshot {
    let mut no_policy = Spec::new(scid(820_000, 8, 0), "drain-b", 3_000_000, 300_000).flow(0.6);
    no_policy.policy = None;
    no_policy.earned_ppm = Some(1_200);
    snapshot(
        "imbalanced",
        &[
            Spec::new(scid(810_000, 1, 0), "full-a", 4_000_000, 3_600_000 - shift).flow(0.4),
            Spec::new(scid(810_500, 2, 1), "full-b", 2_000_000, 1_700_000).flow(0.5),
            Spec::new(scid(815_000, 3, 0), "drain-a", 4_000_000, 200_000 + shift)
                .flow(0.8)
                .ppm(1_000),
            no_policy,
            Spec::new(scid(825_000, 4, 0), "middle", 2_000_000, 999_528).flow(0.5),
            Spec::new(scid(826_000, 5, 0), "full-c", 6_000_000, 5_600_000).flow(0.3),
        ],
    )
}

/// A sink no source can refill (its fee rises: `fee_up`, whose target the plan remembers) next
/// to a balanced channel whose fee rate is `middle_ppm` (changed between two plans, the plan
/// remembers when).
fn fee_changes(middle_ppm: i64) -> NodeSnapshot {
    snapshot(
        "fee_changes",
        &[
            Spec::new(scid(815_000, 3, 0), "drain-a", 4_000_000, 200_000)
                .flow(0.8)
                .ppm(1_000),
            Spec::new(scid(825_000, 4, 0), "middle", 2_000_000, 999_528)
                .flow(0.5)
                .ppm(middle_ppm),
        ],
    )
}

/// Dead weight and capacity mismatches: an idle large channel, a large barely used one, a peer
/// that is mostly offline, a busy small channel, and a tiny local balance at a high feerate.
/// Also pending channels, a remote-initiated channel and a warning from the snapshot producer.
fn idle() -> NodeSnapshot {
    let dead = Spec::new(scid(700_000, 10, 0), "ghost", 10_000_000, 9_000_000);
    let mut lazy = Spec::new(scid(705_000, 11, 0), "lazy-whale", 8_000_000, 7_000_000);
    lazy.sent = 300_000;
    lazy.lifetime_days = 90;
    let mut flaky = Spec::new(scid(790_500, 12, 1), "flaky", 2_000_000, 1_000_000).flow(0.5);
    flaky.uptime_share = 0.3;
    let mut busy = Spec::new(scid(840_000, 13, 0), "busy-bee", 1_000_000, 400_000)
        .flow(12.0)
        .ppm(1_000);
    // A few small dust HTLCs far from the exposure limit: no min_htlc raise (it would protect
    // nothing and turn small forwards away).
    busy.htlcs = vec![(false, 150, 600), (false, 120, 610), (false, 100, 620)];
    let mut tiny = Spec::new(scid(780_000, 14, 0), "crumbs", 1_000_000, 3_000);
    tiny.initiator = Initiator::Remote;
    tiny.fee_per_kw = 2_500;
    tiny.received = 60_000;
    tiny.lifetime_days = 60;
    let mut snap = snapshot("idle", &[dead, lazy, flaky, busy, tiny]);
    snap.pending_channels = vec![
        PendingChannel {
            limbo_balance_sat: 199_000,
            blocks_til_maturity: Some(120),
            ..testkit::pending_channel(PendingKind::ForceClosing, 42, 500_000, 200_000)
        },
        PendingChannel {
            channel_point: format!("{:064x}:1", 43),
            ..testkit::pending_channel(PendingKind::Opening, 43, 1_000_000, 999_000)
        },
    ];
    snap.warnings.push(SnapshotWarning {
        chan_id: Some(scid(700_000, 10, 0)),
        message: "unsettled_balance was negative (-5), clamped to 0".to_string(),
    });
    snap
}

fn plan_of(snap: &NodeSnapshot, previous: Option<&Plan>) -> Plan {
    let previous = previous.map(PlanDigest::of);
    analyze(snap, &AnalysisSettings::default(), previous.as_ref())
}

/// Every node, with the plan the analyzer gives for it.
fn all_plans() -> Vec<(&'static str, Plan)> {
    let first = plan_of(&imbalanced_pairs(0), None);
    let mut later = imbalanced_pairs(1_200_000);
    later.taken_at_unix += 600;
    let second = plan_of(&later, Some(&first));
    let mut no_history = imbalanced_pairs(0);
    no_history.flow = None;
    let fees_before = plan_of(&fee_changes(200), None);
    let mut fees_now = fee_changes(300);
    fees_now.taken_at_unix += 600;
    let limited = AnalysisSettings {
        max_rebalance_actions: 1,
        ..AnalysisSettings::default()
    };
    vec![
        ("no_history", plan_of(&no_history, None)),
        (
            "rebalances_limited",
            analyze(&imbalanced_pairs(0), &limited, None),
        ),
        ("balanced", plan_of(&balanced(), None)),
        ("dusty", plan_of(&dusty(), None)),
        ("near_exposure_limit", plan_of(&near_exposure_limit(), None)),
        ("imbalanced_pairs", first),
        ("imbalanced_pairs_next_cycle", second),
        ("idle", plan_of(&idle(), None)),
        ("fee_changes", plan_of(&fees_now, Some(&fees_before))),
    ]
}

#[test]
fn plans_match_snapshots() {
    for (name, plan) in all_plans() {
        insta::assert_json_snapshot!(name, plan);
        insta::assert_snapshot!(format!("{name}_table"), render_table(&plan));
    }
}

#[test]
fn fixtures_are_consistent_with_lnd_accounting() {
    for snap in [
        balanced(),
        dusty(),
        near_exposure_limit(),
        imbalanced_pairs(0),
        idle(),
    ] {
        for ch in &snap.channels {
            let local = commitment_dust(ch, Side::Local, ch.fee_per_kw, &DustParams::default());
            let anchors = u64::from(local.anchor_outputs) * 330;
            let untrimmed: u64 = ch
                .pending_htlcs
                .iter()
                .filter(|h| !local.trims(h))
                .map(|h| h.amount_sat)
                .sum();
            let skew = if &*ch.peer_alias == "old-friend" {
                3
            } else {
                0
            };
            assert_eq!(
                ch.local_balance_sat
                    + ch.remote_balance_sat
                    + untrimmed
                    + anchors
                    + ch.commit_fee_sat
                    - skew,
                ch.capacity_sat,
                "channel {} ({}) does not add up",
                ch.chan_id,
                ch.peer_alias
            );
        }
    }
    // The engine's cross-check agrees: only the deliberately skewed channel is flagged.
    let plan = plan_of(&dusty(), None);
    let flagged: Vec<&str> = plan
        .channels
        .iter()
        .filter(|c| c.dust.commit_fee_mismatch.is_some())
        .map(|c| c.peer_alias.as_ref())
        .collect();
    assert_eq!(flagged, vec!["old-friend"]);
}

#[test]
fn plans_read_back_identically() {
    for (name, plan) in all_plans() {
        let text = serde_json::to_string_pretty(&plan).unwrap();
        let back = read_plan(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        // The file leaves out HTLC and fee-spike rows with nothing to say; every figure it
        // leaves out because it follows from others is filled back exactly.
        let mut want = plan.clone();
        for channel in &mut want.channels {
            channel.htlcs.retain(|h| h.has_something_to_say());
            channel.dust.fee_spike.retain(|s| s.exceeds_limit);
        }
        assert_eq!(back, want, "{name}");
        assert_eq!(serde_json::to_string_pretty(&back).unwrap(), text, "{name}");
    }
}

/// Generated nodes with a busy HTLC load (every commitment type, trimmed and untrimmed HTLCs
/// both ways, every expiry level, offline peers, fee spikes): whole plans read back equal,
/// though a v3 file leaves out every figure the rest of the plan gives.
#[test]
fn generated_busy_plans_read_back_identically() {
    use dustwatch::sim::{answers, HtlcLoad, ScenarioConfig, Simulation};
    for (seed, mean_per_channel) in [(1, 10.0), (7, 3.0)] {
        let mut sim = Simulation::generate(&ScenarioConfig {
            channels: 300,
            seed,
            start_unix: TAKEN_AT,
            max_fee_exposure_sat: dustwatch::sim::DEFAULT_MAX_FEE_EXPOSURE_SAT,
        });
        sim.add_htlc_load(&HtlcLoad {
            mean_per_channel,
            saturated_share: 0.02,
        });
        let snap = answers::snapshot(&sim.node, false);
        let plan = analyze(&snap, &AnalysisSettings::default(), None);
        assert!(!plan.alerts.is_empty() && !plan.all_actions().is_empty());
        let text = serde_json::to_string(&plan).unwrap();
        let back = read_plan(&text).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let mut want = plan.clone();
        // Words are written for the top ten actions only (commands for all).
        let top: Vec<_> = plan.priority_actions.iter().map(|a| a.id.clone()).collect();
        for channel in &mut want.channels {
            channel.htlcs.retain(|h| h.has_something_to_say());
            channel.dust.fee_spike.retain(|s| s.exceeds_limit);
            for action in &mut channel.recommendations.actions {
                if !top.contains(&action.id) {
                    action.wording = Wording::written(ActionText {
                        commands: action.text().commands.clone(),
                        ..ActionText::default()
                    });
                }
            }
        }
        for (b, w) in back.channels.iter().zip(&want.channels) {
            assert_eq!(b, w, "seed {seed}: channel {}", w.chan_id);
        }
        for (b, w) in back.all_actions().iter().zip(want.all_actions()) {
            assert_eq!(*b, w, "seed {seed}");
        }
        for (b, w) in back.alerts.iter().zip(&want.alerts) {
            assert_eq!(b, w, "seed {seed}");
        }
        assert!(back == want, "seed {seed}: the plan read back differs");
        assert_eq!(serde_json::to_string(&back).unwrap(), text, "seed {seed}");
        // Most of what v3 may leave out is left out here.
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let written = |list: &str, field: &str| {
            value[list]
                .as_array()
                .unwrap()
                .iter()
                .filter(|item| item.get(field).is_some())
                .count()
        };
        // `channel_inactive` words say why (HTLCs pending, low uptime): they are written.
        let messages_written = value["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["code"] != "channel_inactive" && a.get("message").is_some())
            .count();
        assert_eq!(messages_written, 0, "seed {seed}: {}", value["alerts"]);
        assert_eq!(written("actions", "kind"), 0, "seed {seed}");
        assert_eq!(written("channels", "commit_fee_sat"), 0, "seed {seed}");
    }
}

/// Where a figure v3 may leave out differs from what the rest of the plan gives, it is written,
/// and the plan still reads back equal: an HTLC alert's figures (a `null` among them) and its
/// words, rows whose flags and expiry do not follow the thresholds, a commit fee, priorities
/// and an action's usual fields that differ.
#[test]
fn figures_that_do_not_follow_are_written_and_read_back() {
    let mut plan = plan_of(&dusty(), None);
    let chan_id = plan.channels[0].chan_id;
    let channel = &mut plan.channels[0];
    channel.commit_fee_sat += 1;
    channel.recommendations.implementation_priority = 1;
    channel.dust.local_commitment.offered_trim_threshold_sat += 1;
    channel.dust.remote_commitment.received_trim_threshold_sat += 1;
    for h in &mut channel.htlcs {
        h.trimmed_on_local = !h.trimmed_on_local;
        h.expiry = ExpiryStatus::Critical;
    }
    let action = &mut channel.recommendations.actions[0];
    action.kind = ActionKind::Close;
    action.implementation_priority = 2;
    action.dust_impact_sat = -5;
    action.complexity = Complexity::High;
    action.lnd_support = LndSupport::Native;
    let changed = action.clone();
    for a in &mut plan.priority_actions {
        if a.id == changed.id {
            *a = changed.clone();
        }
    }
    for (message, blocks) in [("written", Some(1)), ("no blocks", None)] {
        plan.alerts.push(Alert {
            code: AlertCode::HtlcExpirySoon,
            severity: Severity::Warn,
            chan_id: Some(chan_id),
            message: message.into(),
            amount_sat: Some(1),
            limit_sat: None,
            htlc_index: Some(1),
            blocks_to_expiry: blocks,
        });
    }
    let text = serde_json::to_string(&plan).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let last = &value["alerts"][plan.alerts.len() - 1];
    assert_eq!(last["blocks_to_expiry"], serde_json::Value::Null);
    assert!(last.get("blocks_to_expiry").is_some(), "{last}");
    assert_eq!(
        value["channels"][0]["commit_fee_sat"],
        channel_commit_fee(&plan)
    );
    let back = read_plan(&text).unwrap();
    let mut want = plan.clone();
    for channel in &mut want.channels {
        channel.htlcs.retain(|h| h.has_something_to_say());
        channel.dust.fee_spike.retain(|s| s.exceeds_limit);
    }
    assert_eq!(back.channels, want.channels);
    assert_eq!(back.alerts, want.alerts);
    assert_eq!(back, want);
}

fn channel_commit_fee(plan: &Plan) -> serde_json::Value {
    serde_json::json!(plan.channels[0].commit_fee_sat)
}

/// The daemon streams the previous plan from `latest.json` into a digest: on every node, the
/// digest read from the written file is the digest of the plan, and gives the same next plan.
#[test]
fn plans_read_back_as_their_digest() {
    let mut seen = (false, false, false);
    for (name, plan) in all_plans() {
        let want = PlanDigest::of(&plan);
        let text = serde_json::to_string_pretty(&plan).unwrap();
        let read =
            PlanDigest::from_reader(text.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(read, want, "{name}");
        assert_eq!(read.generated_at(), plan.generated_at, "{name}");
        seen.0 |= !read.action_ids().is_empty();
        seen.1 |= !read.outgoing_dust_channels().is_empty();
        seen.2 |= !read.alerts().is_empty();
    }
    assert_eq!(
        seen,
        (true, true, true),
        "some node has actions, outgoing dust and alerts"
    );

    let first = plan_of(&imbalanced_pairs(0), None);
    let mut later = imbalanced_pairs(1_200_000);
    later.taken_at_unix += 600;
    let text = serde_json::to_string_pretty(&first).unwrap();
    let read = PlanDigest::from_reader(text.as_bytes()).expect("digest");
    assert_eq!(
        analyze(&later, &AnalysisSettings::default(), Some(&read)),
        plan_of(&later, Some(&first))
    );
}

#[test]
fn plan_with_another_schema_version_is_refused() {
    let (_, plan) = all_plans().remove(0);
    let mut value = serde_json::to_value(&plan).unwrap();
    value["schema_version"] = serde_json::json!(4);
    let err = read_plan(&value.to_string()).unwrap_err();
    assert!(err.to_string().contains("schema_version 4"), "{err}");
}

#[test]
fn expected_recommendations_appear() {
    let plans: std::collections::BTreeMap<&str, Plan> = all_plans().into_iter().collect();
    let ids = |name: &str| -> BTreeSet<String> {
        plans[name]
            .all_actions()
            .into_iter()
            .map(|a| a.id.to_string())
            .collect()
    };
    assert!(ids("balanced").is_empty(), "{:?}", ids("balanced"));
    assert_eq!(plans["balanced"].summary.channels_by_status.healthy, 3);

    let dusty = ids("dusty");
    let anchors = scid(790_000, 55, 1);
    // Recurring outgoing dust, but far from the exposure limit: the dust is not a saving and
    // raising min_htlc would turn small forwards away.
    assert!(
        !dusty.contains(&format!("raise_min_htlc:{anchors}")),
        "{dusty:?}"
    );
    assert!(
        dusty.contains(&format!("hold_off_force_close:{}", scid(805_000, 9, 0))),
        "{dusty:?}"
    );
    let codes: BTreeSet<&str> = plans["dusty"]
        .alerts
        .iter()
        .map(|a| a.code.as_str())
        .collect();
    // One alert per channel per cause: the dust a force close would burn is part of the
    // expiry alert on the same channel.
    for alert in &plans["dusty"].alerts {
        let same_channel = |code: &str| {
            plans["dusty"]
                .alerts
                .iter()
                .filter(|a| a.chan_id == alert.chan_id && a.code.as_str() == code)
                .count()
        };
        assert!(same_channel(alert.code.as_str()) == 1, "{alert:?}");
        if alert.code.as_str() == "dust_pending_force_close_risk" {
            assert_eq!(
                same_channel("htlc_expiry_critical") + same_channel("htlc_expiry_soon"),
                0
            );
        }
    }
    for code in [
        "commit_fee_mismatch",
        "htlc_expiry_critical",
        "htlc_expiry_soon",
        "channel_inactive",
    ] {
        assert!(codes.contains(code), "{code} missing from {codes:?}");
    }

    let near = &plans["near_exposure_limit"];
    assert_eq!(near.source.exposure_limit.max_fee_exposure_sat, 100_000);
    assert!(ids("near_exposure_limit").contains("set_max_fee_exposure:node:raise"));
    let codes: BTreeSet<&str> = near.alerts.iter().map(|a| a.code.as_str()).collect();
    for code in [
        "fee_exposure_over_limit",
        "fee_exposure_near_limit",
        "fee_spike_over_limit",
    ] {
        assert!(codes.contains(code), "{code} missing from {codes:?}");
    }
    assert_eq!(
        &*near.priority_actions[0].id,
        "set_max_fee_exposure:node:raise"
    );

    let pairs = ids("imbalanced_pairs");
    assert_eq!(
        pairs
            .iter()
            .filter(|id| id.starts_with("rebalance:"))
            .count(),
        2,
        "{pairs:?}"
    );
    let limited = &plans["rebalances_limited"];
    assert_eq!(limited.summary.rebalance_actions_left_out, 1);
    let no_history = &plans["no_history"];
    assert!(no_history.summary.flow_unknown.is_some());
    assert!(ids("no_history").is_empty(), "{:?}", ids("no_history"));
    let next = &plans["imbalanced_pairs_next_cycle"];
    assert!(next.changes.previous_generated_at.is_some());
    // drain-a got its rebalance (the shift): that pair is resolved.
    let drain_a = scid(815_000, 3, 0);
    assert!(
        next.changes
            .resolved
            .iter()
            .any(|id| id.ends_with(&format!(">{drain_a}"))),
        "{:?}",
        next.changes
    );
    assert!(!next.changes.resolved.is_empty(), "{:?}", next.changes);

    let idle = ids("idle");
    for id in [
        format!("close:{}", scid(700_000, 10, 0)),
        format!("splice_in:{}", scid(840_000, 13, 0)),
    ] {
        assert!(idle.contains(&id), "{id} missing from {idle:?}");
    }
    // flaky's peer is often offline, but it routes more than half the node: not closed on
    // uptime alone. lazy-whale's idle capital is a note, not a Loop Out. crumbs' 3,000 sat
    // would earn a few sat redeployed: its close does not pay, and is left out and counted.
    for id in [
        format!("close:{}", scid(790_500, 12, 1)),
        format!("splice_out:{}", scid(705_000, 11, 0)),
        format!("close:{}", scid(780_000, 14, 0)),
    ] {
        assert!(!idle.contains(&id), "{id} in {idle:?}");
    }
    assert!(plans["idle"].summary.actions_below_min_benefit >= 1);
    let lazy = plans["idle"]
        .channels
        .iter()
        .find(|c| c.chan_id == scid(705_000, 11, 0))
        .unwrap();
    assert!(
        lazy.notes.iter().any(|n| n.contains("nearly idle")),
        "{:?}",
        lazy.notes
    );
}

// ---------------------------------------------------------------------------------------------
// docs/plan-schema.md must document every field of the plan, and only fields that exist.

/// Paths are written as in the document: `a.b`, `list[].field`; the objects that appear in
/// several places are documented once under a type name (`action.…`, `commitment.…`).
fn type_root(path: &str) -> Option<&'static str> {
    match path {
        "actions[]" => Some("action"),
        "channels[].dust.local_commitment" | "channels[].dust.remote_commitment" => {
            Some("commitment")
        }
        _ => None,
    }
}

fn walk(value: &serde_json::Value, path: &str, out: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, child) in map {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                out.insert(child_path.clone());
                let next = type_root(&child_path).map_or(child_path, str::to_string);
                walk(child, &next, out);
            }
        }
        serde_json::Value::Array(items) => {
            let item_path = format!("{path}[]");
            let next = type_root(&item_path).map_or(item_path, str::to_string);
            for item in items {
                walk(item, &next, out);
            }
        }
        _ => {}
    }
}

/// The field paths the document defines: the first cell of each row of a table whose header is
/// `| field | type | meaning |` (other tables, such as the alert codes, do not count).
fn documented_paths(doc: &str) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    let mut in_field_table = false;
    for line in doc.lines() {
        if !line.starts_with('|') {
            in_field_table = false;
        } else if line.starts_with("| field | type | meaning |") {
            in_field_table = true;
        } else if in_field_table {
            if let Some((path, _)) = line
                .strip_prefix("| `")
                .and_then(|rest| rest.split_once('`'))
            {
                paths.insert(path.to_string());
            }
        }
    }
    paths
}

#[test]
fn schema_document_covers_every_field_and_only_real_ones() {
    let doc_path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/plan-schema.md");
    let doc = std::fs::read_to_string(doc_path).expect("docs/plan-schema.md exists");
    let documented = documented_paths(&doc);
    let mut seen = BTreeSet::new();
    let mut plans: Vec<Plan> = all_plans().into_iter().map(|(_, plan)| plan).collect();
    // The file leaves out `false`, 0 and empty lists: one channel with the fields the example
    // nodes never set, so that they are checked too.
    let mut odd = plans[0].clone();
    let channel = &mut odd.channels[0];
    channel.private = true;
    channel.warnings.push("assumed".into());
    for commitment in [
        &mut channel.dust.local_commitment,
        &mut channel.dust.remote_commitment,
    ] {
        commitment.to_local_trimmed = true;
        commitment.to_remote_trimmed = true;
        commitment.absent_anchor_sat = 1;
    }
    for spike in &mut channel.dust.fee_spike {
        spike.capped = true;
        spike.exceeds_limit = true;
    }
    plans.push(odd);
    // v3 leaves out what the rest of the plan gives: a plan where each such figure differs
    // from it, so that it is written and checked too.
    let mut odd = plans
        .iter()
        .max_by_key(|p| p.all_actions().len())
        .expect("plans")
        .clone();
    let at = odd
        .channels
        .iter()
        .position(|c| !c.recommendations.actions.is_empty())
        .expect("a channel with actions");
    let channel = &mut odd.channels[at];
    let chan_id = channel.chan_id;
    channel.commit_fee_sat += 1;
    channel.force_close.coop_close_fee_sat += 1;
    let local = &mut channel.dust.local_commitment;
    local.offered_trim_threshold_sat += 1;
    local.received_trim_threshold_sat += 1;
    local.base_fee_sat += 1;
    local.trimmed_htlc_count += 1;
    local.trimmed_htlc_sat += 1;
    channel.htlcs.push(HtlcReport {
        htlc_index: 99,
        incoming: true,
        amount_sat: 1,
        expiration_height: 1,
        blocks_to_expiry: None,
        expiry: ExpiryStatus::Unknown,
        trimmed_on_local: false,
        trimmed_on_remote: false,
    });
    let rec = &mut channel.recommendations;
    rec.implementation_priority = 1;
    rec.dust_recoverable_sat += 1;
    let action = &mut rec.actions[0];
    action.kind = if action.kind == ActionKind::Close {
        ActionKind::Rebalance
    } else {
        ActionKind::Close
    };
    action.chan_ids.push(1);
    action.implementation_priority = 0;
    action.expected_cost_sat = 1;
    action.expected_benefit_sat = 1;
    action.dust_impact_sat = -1;
    action.complexity = Complexity::High;
    action.lnd_support = LndSupport::NotSupported;
    // An action that does not name the channel: its `action_ids` no longer follow.
    let extra = Action {
        id: "close:1".into(),
        ..action.clone()
    };
    rec.actions.push(extra);
    odd.alerts.push(Alert {
        code: AlertCode::HtlcExpirySoon,
        severity: Severity::Warn,
        chan_id: Some(chan_id),
        message: "written".into(),
        amount_sat: Some(1),
        limit_sat: Some(1),
        htlc_index: Some(1),
        blocks_to_expiry: Some(1),
    });
    plans.push(odd);
    for plan in &plans {
        walk(&serde_json::to_value(plan).unwrap(), "", &mut seen);
    }
    let undocumented: Vec<&String> = seen.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "fields missing from docs/plan-schema.md: {undocumented:#?}"
    );
    let stale: Vec<&String> = documented.difference(&seen).collect();
    assert!(
        stale.is_empty(),
        "docs/plan-schema.md documents fields no plan has: {stale:#?}"
    );
}
