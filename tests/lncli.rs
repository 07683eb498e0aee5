//! Offline snapshots from `lncli` JSON: every fixture in `tests/fixtures/lncli` reads with the
//! right values, malformed input is reported with file and JSON path, and no mutation of a valid
//! file makes the reader panic.

use std::path::PathBuf;

use dustwatch::model::{Channel, CommitmentType, Initiator, NodeSnapshot, PendingKind};
use dustwatch::snapshot::json::MAX_MONEY_SAT;
use dustwatch::snapshot::lncli::{
    snapshot_from_files, snapshot_from_strs, LncliError, LncliFiles, LncliText, LncliTexts,
};
use proptest::prelude::*;
use serde_json::Value;

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lncli")
        .join(name)
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixture_path(name)).expect("fixture is readable")
}

/// The full main set (listchannels, getinfo, pendingchannels, feereport) read from disk.
fn main_snapshot() -> NodeSnapshot {
    let files = LncliFiles {
        listchannels: fixture_path("listchannels.json"),
        getinfo: Some(fixture_path("getinfo.json")),
        pendingchannels: Some(fixture_path("pendingchannels.json")),
        feereport: Some(fixture_path("feereport.json")),
    };
    snapshot_from_files(&files, 1_737_072_000).expect("main fixtures read")
}

fn only_listchannels(name: &str) -> NodeSnapshot {
    let json = fixture(name);
    let texts = LncliTexts {
        listchannels: LncliText { name, json: &json },
        getinfo: None,
        pendingchannels: None,
        feereport: None,
    };
    snapshot_from_strs(&texts, 0).expect("fixture reads")
}

fn channel(snap: &NodeSnapshot, chan_id: u64) -> &Channel {
    snap.channels
        .iter()
        .find(|c| c.chan_id == chan_id)
        .unwrap_or_else(|| panic!("channel {chan_id} present"))
}

const FALCON: u64 = 893_182_773_332_606_977;
const HARBOR: u64 = 769_793_379_403_300_864;
const TINKERER: u64 = 929_088_424_987_394_048;
const SLEEPY: u64 = 869_224_415_040_634_881;
const FRESH: u64 = 967_350_330_117_652_480;

#[test]
fn main_fixture_snapshot_source_node_and_order() {
    let snap = main_snapshot();
    assert!(snap.warnings.is_empty(), "{:#?}", snap.warnings);
    assert_eq!(snap.taken_at_unix, 1_737_072_000);
    assert_eq!(snap.source.kind, "lncli_json");
    for name in [
        "listchannels.json",
        "getinfo.json",
        "pendingchannels.json",
        "feereport.json",
    ] {
        assert!(snap.source.detail.contains(name), "{}", snap.source.detail);
    }

    assert_eq!(snap.node.block_height, Some(880_000));
    assert_eq!(snap.node.alias, "dustwatch-fixture");
    assert_eq!(snap.node.version, "0.18.5-beta commit=v0.18.5-beta");
    assert_eq!(snap.node.network, "mainnet");
    assert!(snap.node.synced_to_chain);
    assert_eq!(snap.node.identity_pubkey.len(), 66);
    assert!(snap.node.identity_pubkey.starts_with("03"));

    let ids: Vec<u64> = snap.channels.iter().map(|c| c.chan_id).collect();
    assert_eq!(
        ids,
        vec![HARBOR, SLEEPY, FALCON, TINKERER, FRESH],
        "sorted by chan_id"
    );
    assert!(snap.wallet.is_none());
    assert!(snap.node_exposure_limit.is_none());
}

#[test]
fn main_fixture_anchor_channel_with_htlcs() {
    let snap = main_snapshot();
    let c = channel(&snap, FALCON);
    assert_eq!(&*c.peer_alias, "Falcon Routing");
    assert!(c.channel_point.ends_with(":1"));
    assert!(c.active && !c.private);
    assert_eq!(c.initiator, Initiator::Local);
    assert_eq!(c.commitment_type, CommitmentType::Anchors);
    assert_eq!(
        (c.capacity_sat, c.local_balance_sat, c.remote_balance_sat),
        (5_000_000, 3_674_471, 1_234_567)
    );
    assert_eq!(
        (c.commit_fee_sat, c.commit_weight, c.fee_per_kw),
        (4_730, 1_640, 2_500)
    );
    assert_eq!(c.unsettled_balance_sat, 86_202);
    assert_eq!(
        (
            c.total_satoshis_sent,
            c.total_satoshis_received,
            c.num_updates
        ),
        (48_211_904, 46_990_337, 18_442)
    );
    assert_eq!((c.lifetime_secs, c.uptime_secs), (864_000, 863_100));
    assert_eq!(
        (c.local_chan_reserve_sat, c.remote_chan_reserve_sat),
        (50_000, 50_000)
    );
    assert_eq!(c.push_amount_sat, 0);

    let local = c.local_constraints.expect("local constraints");
    let remote = c.remote_constraints.expect("remote constraints");
    assert_eq!((local.dust_limit_sat, remote.dust_limit_sat), (354, 546));
    assert_eq!((local.csv_delay, remote.csv_delay), (144, 600));
    assert_eq!(
        (local.max_accepted_htlcs, remote.max_accepted_htlcs),
        (30, 483)
    );
    assert_eq!((local.min_htlc_msat, remote.min_htlc_msat), (1, 1_000));
    assert_eq!(local.max_pending_amt_msat, 4_950_000_000);
    assert_eq!(local.chan_reserve_sat, 50_000);

    // Sorted by (htlc_index, incoming): outgoing 988, 990, 991 then incoming 1207, 1209.
    let htlcs: Vec<(u64, bool, u64, u32, bool)> = c
        .pending_htlcs
        .iter()
        .map(|h| {
            (
                h.htlc_index,
                h.incoming,
                h.amount_sat,
                h.expiration_height,
                h.locked_in,
            )
        })
        .collect();
    assert_eq!(
        htlcs,
        vec![
            (988, false, 330, 880_007, true),
            (990, false, 25_000, 880_060, true),
            (991, false, 500, 880_139, true),
            (1207, true, 300, 880_040, true),
            (1209, true, 60_072, 880_224, true),
        ],
        "LND 0.18 has no locked_in: every HTLC of our commitment counts as locked in"
    );
    let forwarded = &c.pending_htlcs[4];
    assert_eq!(
        (
            forwarded.forwarding_channel,
            forwarded.forwarding_htlc_index
        ),
        (HARBOR, 4411)
    );
    assert_eq!(c.pending_htlcs[0].forwarding_channel, 0);
    assert!(
        c.pending_htlcs.iter().all(|h| h.hash_lock.is_some()),
        "every fixture HTLC has a 32-byte hash"
    );
    // The hex `lncli` printed comes back out unchanged (HTLC 988 is the first after sorting).
    assert_eq!(
        c.pending_htlcs[0]
            .hash_lock
            .map(|h| h.to_string())
            .as_deref(),
        Some("27e54e1f181970eb54f90a64c387df335da62fb8c075950ef07178842a9b07bd")
    );

    let policy = c.local_policy.expect("feereport row");
    assert_eq!((policy.fee_base_msat, policy.fee_rate_ppm), (1_000, 250));
    assert_eq!(
        (policy.inbound_fee_base_msat, policy.inbound_fee_rate_ppm),
        (0, 0)
    );
    assert_eq!(
        (
            policy.min_htlc_msat,
            policy.max_htlc_msat,
            policy.time_lock_delta
        ),
        (None, None, None)
    );
    assert!(c.remote_policy.is_none());
}

#[test]
fn main_fixture_static_remote_key_channel_at_trim_thresholds() {
    let snap = main_snapshot();
    let c = channel(&snap, HARBOR);
    assert_eq!(c.commitment_type, CommitmentType::StaticRemoteKey);
    assert_eq!(c.initiator, Initiator::Remote);
    assert_eq!(c.remote_pubkey.len(), 66);
    assert!(c.remote_pubkey.starts_with("03"));
    assert_eq!(
        (c.local_balance_sat, c.remote_balance_sat, c.commit_fee_sat),
        (812_345, 1_122_469, 3_735)
    );
    assert_eq!((c.fee_per_kw, c.commit_weight), (1_250, 1_068));
    let (local, remote) = (c.local_constraints.unwrap(), c.remote_constraints.unwrap());
    assert_eq!((local.dust_limit_sat, remote.dust_limit_sat), (573, 573));
    assert_eq!(local.csv_delay, 240);
    let amounts: Vec<(bool, u64, u32)> = c
        .pending_htlcs
        .iter()
        .map(|h| (h.incoming, h.amount_sat, h.expiration_height))
        .collect();
    assert_eq!(
        amounts,
        vec![
            (true, 1_451, 880_100),
            (true, 1_000, 880_003),
            (false, 1_400, 880_018),
            (false, 60_000, 880_144),
        ]
    );
    let out = c
        .pending_htlcs
        .iter()
        .find(|h| h.amount_sat == 60_000)
        .unwrap();
    assert_eq!(
        (out.forwarding_channel, out.forwarding_htlc_index),
        (FALCON, 1209)
    );

    let policy = c.local_policy.unwrap();
    assert_eq!((policy.fee_base_msat, policy.fee_rate_ppm), (0, 1_200));
    assert_eq!(
        (policy.inbound_fee_base_msat, policy.inbound_fee_rate_ppm),
        (-200, -100)
    );
}

#[test]
fn main_fixture_taproot_private_inactive_and_fresh_channels() {
    let snap = main_snapshot();

    let tap = channel(&snap, TINKERER);
    assert_eq!(tap.commitment_type, CommitmentType::SimpleTaproot);
    assert!(tap.private && tap.active);
    assert_eq!(tap.initiator, Initiator::Local);
    assert_eq!(tap.push_amount_sat, 100_000);
    assert_eq!(
        (
            tap.local_balance_sat,
            tap.remote_balance_sat,
            tap.commit_fee_sat,
            tap.commit_weight
        ),
        (880_920, 116_000, 2_420, 968)
    );
    assert!(tap.pending_htlcs.is_empty());
    assert_eq!(tap.local_policy.unwrap().fee_rate_ppm, 1);

    let sleepy = channel(&snap, SLEEPY);
    assert!(!sleepy.active && sleepy.private);
    assert_eq!(sleepy.initiator, Initiator::Remote);
    assert_eq!(sleepy.commitment_type, CommitmentType::Anchors);
    assert_eq!(
        (sleepy.lifetime_secs, sleepy.uptime_secs),
        (864_000, 432_000)
    );
    assert_eq!(
        (
            sleepy.local_balance_sat,
            sleepy.remote_balance_sat,
            sleepy.fee_per_kw
        ),
        (120_000, 378_216, 1_000)
    );
    assert_eq!(sleepy.local_policy.unwrap().fee_rate_ppm, 5_000);

    let fresh = channel(&snap, FRESH);
    assert_eq!(
        (fresh.local_balance_sat, fresh.remote_balance_sat),
        (2_996_530, 0)
    );
    assert_eq!(
        (fresh.commit_fee_sat, fresh.commit_weight),
        (3_140, 780),
        "the absent peer anchor's 330 sat are part of commit_fee"
    );
    assert_eq!(fresh.local_constraints.unwrap().csv_delay, 360);
    assert_eq!(fresh.local_policy.unwrap().fee_base_msat, 500);
}

#[test]
fn main_fixture_pending_channels() {
    let snap = main_snapshot();
    let p = &snap.pending_channels;
    assert_eq!(p.len(), 3);
    assert!(
        p.windows(2)
            .all(|w| w[0].channel_point <= w[1].channel_point),
        "sorted by channel_point"
    );
    let of = |kind| p.iter().find(|c| c.kind == kind).unwrap();

    let open = of(PendingKind::Opening);
    assert_eq!(
        (
            open.capacity_sat,
            open.local_balance_sat,
            open.limbo_balance_sat
        ),
        (2_000_000, 1_996_530, 0)
    );
    assert_eq!(open.blocks_til_maturity, None);

    let waiting = of(PendingKind::WaitingClose);
    assert_eq!(
        (
            waiting.capacity_sat,
            waiting.local_balance_sat,
            waiting.limbo_balance_sat
        ),
        (800_000, 250_000, 250_000)
    );
    assert!(waiting.remote_pubkey.starts_with("03"));

    let force = of(PendingKind::ForceClosing);
    assert_eq!(
        (
            force.capacity_sat,
            force.local_balance_sat,
            force.limbo_balance_sat
        ),
        (1_500_000, 700_000, 715_000)
    );
    assert_eq!(force.blocks_til_maturity, Some(140));
}

#[test]
fn without_getinfo_the_block_height_is_unknown() {
    let snap = only_listchannels("listchannels.json");
    assert_eq!(snap.node.block_height, None);
    assert_eq!(snap.source.detail, "listchannels.json");
    assert_eq!(snap.channels.len(), 5);
    assert!(snap.pending_channels.is_empty());
    assert!(snap.channels.iter().all(|c| c.local_policy.is_none()));
    assert!(snap.warnings.is_empty(), "{:#?}", snap.warnings);
}

#[test]
fn lncli_v0_21_fixture_uses_scid_and_ignores_new_fields() {
    let snap = only_listchannels("listchannels-v0.21.json");
    assert!(snap.warnings.is_empty(), "{:#?}", snap.warnings);
    let ids: Vec<u64> = snap.channels.iter().map(|c| c.chan_id).collect();
    assert_eq!(
        ids,
        vec![
            958_884_090_603_110_402,
            965_371_209_188_114_432,
            967_020_476_629_516_289
        ]
    );

    let hub = channel(&snap, 958_884_090_603_110_402);
    assert_eq!(hub.commitment_type, CommitmentType::Anchors);
    assert_eq!(
        (
            hub.capacity_sat,
            hub.local_balance_sat,
            hub.remote_balance_sat,
            hub.commit_fee_sat
        ),
        (10_000_000, 4_997_899, 4_000_000, 1_087)
    );
    assert_eq!(hub.fee_per_kw, 500);
    let amounts: Vec<(u64, bool, u64, bool)> = hub
        .pending_htlcs
        .iter()
        .map(|h| (h.htlc_index, h.incoming, h.amount_sat, h.locked_in))
        .collect();
    assert_eq!(
        amounts,
        vec![
            (55_120, true, 353, true),
            (55_121, true, 1_000_000, true),
            (60_233, false, 354, false),
        ]
    );

    let overlay = channel(&snap, 965_371_209_188_114_432);
    assert_eq!(
        overlay.commitment_type,
        CommitmentType::SimpleTaprootOverlay
    );
    assert!(overlay.private);
    assert_eq!(
        (
            overlay.capacity_sat,
            overlay.local_balance_sat,
            overlay.commit_fee_sat,
            overlay.commit_weight
        ),
        (100_000, 96_920, 2_750, 624),
        "custom_channel_data's own capacity/balances (asset units) must not leak in"
    );

    let fin = channel(&snap, 967_020_476_629_516_289);
    assert_eq!(fin.commitment_type, CommitmentType::SimpleTaprootFinal);
    assert_eq!(fin.initiator, Initiator::Remote);
    assert_eq!(fin.remote_balance_sat, 1_246_290);
    assert_eq!(fin.local_constraints.unwrap().dust_limit_sat, 354);
}

/// The fixture's hex `chan_id` is what lncli ≥ 0.19 computes from `channel_point`, and its
/// `scid_str` matches `scid`: the fixture is faithful, not just readable.
#[test]
fn lncli_v0_21_fixture_ids_are_derived_like_lncli_does() {
    let doc: Value = serde_json::from_str(&fixture("listchannels-v0.21.json")).unwrap();
    for c in doc["channels"].as_array().unwrap() {
        let point = c["channel_point"].as_str().unwrap();
        let (txid, index) = point.split_once(':').unwrap();
        let index: u16 = index.parse().unwrap();
        let mut id: Vec<u8> = hex::decode(txid).unwrap().into_iter().rev().collect();
        id[30] ^= (index >> 8) as u8;
        id[31] ^= index as u8;
        assert_eq!(c["chan_id"].as_str().unwrap(), hex::encode(id));

        let scid: u64 = c["scid"].as_str().unwrap().parse().unwrap();
        let parts: Vec<u64> = c["scid_str"]
            .as_str()
            .unwrap()
            .split('x')
            .map(|p| p.parse().unwrap())
            .collect();
        assert_eq!(scid, parts[0] << 40 | parts[1] << 16 | parts[2]);
        assert_eq!(
            parts[2],
            u64::from(index),
            "output index of the funding outpoint"
        );
    }
}

#[test]
fn lncli_v0_10_fixture_has_no_constraints_and_base64_hashes() {
    let snap = only_listchannels("listchannels-v0.10.json");
    assert!(snap.warnings.is_empty(), "{:#?}", snap.warnings);
    assert_eq!(snap.channels.len(), 3);

    let legacy = channel(&snap, 659_829_022_554_587_136);
    assert_eq!(legacy.commitment_type, CommitmentType::Legacy);
    assert_eq!(legacy.initiator, Initiator::Remote);
    assert_eq!(legacy.local_constraints, None);
    assert_eq!(legacy.remote_constraints, None);
    assert_eq!(&*legacy.peer_alias, "");
    assert_eq!(
        (
            legacy.local_chan_reserve_sat,
            legacy.remote_chan_reserve_sat
        ),
        (10_000, 10_000)
    );
    assert_eq!(
        (
            legacy.local_balance_sat,
            legacy.remote_balance_sat,
            legacy.commit_fee_sat
        ),
        (400_000, 545_416, 4_584)
    );
    assert_eq!(legacy.fee_per_kw, 4_000);
    assert_eq!(legacy.push_amount_sat, 0);
    // jsonpb printed hash_lock as base64; the model holds its bytes. No htlc_index yet: 0, and
    // everything LND listed was on our commitment, so locked in.
    let out = legacy.pending_htlcs.iter().find(|h| !h.incoming).unwrap();
    assert_eq!(out.amount_sat, 1_000);
    assert_eq!(out.expiration_height, 630_010);
    assert_eq!(
        out.hash_lock.map(|h| h.to_string()).as_deref(),
        Some("e34035323a1a1e814dc464fb89fb8cdf08bc6fffcc8e4dab82c0a7dfd53af83f")
    );
    assert_eq!((out.htlc_index, out.forwarding_channel), (0, 0));
    assert!(out.locked_in);

    let srk = channel(&snap, 682_246_965_037_170_689);
    assert_eq!(srk.commitment_type, CommitmentType::StaticRemoteKey);
    assert_eq!(srk.initiator, Initiator::Local);
    assert!(
        srk.pending_htlcs.is_empty(),
        "jsonpb's `[` newline `]` is an empty array"
    );

    let hidden = channel(&snap, 687_194_767_360_262_144);
    assert!(!hidden.active && hidden.private);
    assert_eq!(hidden.uptime_secs, 100_000);
}

#[test]
fn lncli_v0_4_fixture_lacks_initiator_and_commitment_type() {
    let snap = only_listchannels("listchannels-v0.4.json");
    assert!(snap.warnings.is_empty(), "{:#?}", snap.warnings);
    for c in &snap.channels {
        assert_eq!(c.commitment_type, CommitmentType::Legacy);
        assert_eq!(c.initiator, Initiator::Unknown);
        assert_eq!((c.local_constraints, c.remote_constraints), (None, None));
        assert_eq!(
            (c.lifetime_secs, c.uptime_secs, c.local_chan_reserve_sat),
            (0, 0, 0)
        );
    }
    let big = channel(&snap, 582_741_162_780_262_400);
    assert_eq!(
        (
            big.capacity_sat,
            big.local_balance_sat,
            big.commit_fee_sat,
            big.fee_per_kw
        ),
        (5_000_000, 3_468_800, 11_200, 12_500)
    );
    assert_eq!(big.pending_htlcs[0].amount_sat, 20_000);
    assert!(big.pending_htlcs[0].hash_lock.is_some());
    let small = channel(&snap, 584_060_576_675_397_633);
    assert_eq!((small.commit_weight, small.remote_balance_sat), (600, 0));
    assert!(!small.active && small.private);
}

/// Re-derives every fixture channel's balances and `commit_fee` from BOLT 3 (as LND applies it)
/// so the fixtures stay honest: capacity = local + remote + base fee + anchors + HTLCs, and
/// `commit_fee` = base fee + trimmed HTLCs + absent anchors.
#[test]
fn fixture_balances_follow_bolt3() {
    let mut checked = 0;
    for name in [
        "listchannels.json",
        "listchannels-v0.21.json",
        "listchannels-v0.10.json",
        "listchannels-v0.4.json",
    ] {
        for c in &only_listchannels(name).channels {
            let anchors = c.commitment_type.has_anchors();
            let base_weight: u64 = match c.commitment_type {
                CommitmentType::Legacy | CommitmentType::StaticRemoteKey => 724,
                CommitmentType::SimpleTaproot
                | CommitmentType::SimpleTaprootOverlay
                | CommitmentType::SimpleTaprootFinal => 968,
                _ => 1124,
            };
            // Files without constraints come from LND versions whose default dust limit was 573.
            let dust = c.local_constraints.map_or(573, |k| k.dust_limit_sat);
            let (timeout_fee, success_fee) = if anchors {
                (0, 0)
            } else {
                (c.fee_per_kw * 663 / 1000, c.fee_per_kw * 703 / 1000)
            };
            let (mut trimmed, mut untrimmed, mut all) = (0u64, 0u64, 0u64);
            for h in &c.pending_htlcs {
                let threshold = dust + if h.incoming { success_fee } else { timeout_fee };
                all += h.amount_sat;
                if h.amount_sat < threshold {
                    trimmed += h.amount_sat;
                } else {
                    untrimmed += 1;
                }
            }
            let base_fee = c.fee_per_kw * (base_weight + 172 * untrimmed) / 1000;
            let anchor_sat = if anchors { 660 } else { 0 };
            assert_eq!(
                c.local_balance_sat + c.remote_balance_sat + base_fee + anchor_sat + all,
                c.capacity_sat,
                "{name} {}",
                c.chan_id
            );
            let absent_anchors = if anchors && untrimmed == 0 {
                [c.local_balance_sat, c.remote_balance_sat]
                    .iter()
                    .filter(|&&b| b < dust)
                    .count() as u64
            } else {
                0
            };
            assert_eq!(
                c.commit_fee_sat,
                base_fee + trimmed + 330 * absent_anchors,
                "{name} {}",
                c.chan_id
            );
            assert_eq!(c.unsettled_balance_sat, all, "{name} {}", c.chan_id);
            checked += 1;
        }
    }
    assert_eq!(checked, 13);
}

#[test]
fn one_bad_channel_is_skipped_and_the_rest_analysed() {
    let mut doc: Value = serde_json::from_str(&fixture("listchannels.json")).unwrap();
    doc["channels"][3]["local_balance"] = serde_json::json!({"sat": "120000"});
    doc["channels"][1]["remote_balance"] = serde_json::json!("-5");
    let json = doc.to_string();
    let texts = LncliTexts {
        listchannels: LncliText {
            name: "listchannels.json",
            json: &json,
        },
        getinfo: None,
        pendingchannels: None,
        feereport: None,
    };
    let snap = snapshot_from_strs(&texts, 0).unwrap();
    assert_eq!(snap.channels.len(), 4);
    assert!(snap.channels.iter().all(|c| c.chan_id != SLEEPY));
    assert_eq!(channel(&snap, HARBOR).remote_balance_sat, 0, "clamped");

    assert_eq!(snap.warnings.len(), 2, "{:#?}", snap.warnings);
    let skipped = snap
        .warnings
        .iter()
        .find(|w| w.chan_id == Some(SLEEPY))
        .unwrap();
    assert!(skipped.message.starts_with("listchannels.json: "));
    assert!(skipped
        .message
        .contains("`channels[3]` (chan_id 869224415040634881) skipped"));
    assert!(skipped.message.contains("channels[3].local_balance"));
    assert!(skipped.message.contains("found an object"));
    let clamped = snap
        .warnings
        .iter()
        .find(|w| w.chan_id == Some(HARBOR))
        .unwrap();
    assert!(clamped.message.contains("channels[1].remote_balance"));
    assert!(clamped.message.contains("negative"));
}

#[test]
fn malformed_files_are_errors_naming_file_and_path() {
    let lc = fixture("listchannels.json");
    let cases: [(&str, &str, &str); 4] = [
        (
            "getinfo.json",
            r#"{"block_height": "tall"}"#,
            "block_height",
        ),
        ("getinfo.json", "[]", "(top level)"),
        (
            "pendingchannels.json",
            r#"{"pending_open_channels": 7}"#,
            "pending_open_channels",
        ),
        (
            "feereport.json",
            r#"{"channel_fees": {"x": 1}}"#,
            "channel_fees",
        ),
    ];
    for (name, json, path) in cases {
        let bad = LncliText { name, json };
        let texts = LncliTexts {
            listchannels: LncliText {
                name: "listchannels.json",
                json: &lc,
            },
            getinfo: (name == "getinfo.json").then_some(bad),
            pendingchannels: (name == "pendingchannels.json").then_some(bad),
            feereport: (name == "feereport.json").then_some(bad),
        };
        let err = snapshot_from_strs(&texts, 0).unwrap_err();
        assert_eq!(err.file(), name);
        match &err {
            LncliError::Shape { path: p, .. } => assert_eq!(p, path),
            other => panic!("expected a shape error, got {other}"),
        }
        assert!(err
            .to_string()
            .starts_with(&format!("{name}: at `{path}`: expected")));
    }

    let truncated = &lc[..lc.len() / 2];
    let texts = LncliTexts {
        listchannels: LncliText {
            name: "listchannels.json",
            json: truncated,
        },
        getinfo: None,
        pendingchannels: None,
        feereport: None,
    };
    let err = snapshot_from_strs(&texts, 0).unwrap_err();
    assert!(matches!(err, LncliError::Syntax { .. }));
    assert!(
        err.to_string()
            .starts_with("listchannels.json: not valid JSON"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Property test: arbitrary mutations of the valid fixtures never panic, and either read (every
// element of `channels` accounted for as a channel or a "skipped" warning) or fail with an
// error about the mutated file.

const FILES: [&str; 4] = [
    "listchannels.json",
    "getinfo.json",
    "pendingchannels.json",
    "feereport.json",
];

#[derive(Debug, Clone)]
enum Replacement {
    Null,
    Bool(bool),
    Int(i64),
    /// A decimal string far beyond u64 (and i128 when long enough).
    HugeDigits(usize),
    Float(f64),
    Text(String),
    EmptyObject,
    EmptyArray,
    /// Arrays/objects nested this deep (past serde_json's 128 limit is a syntax error).
    Deep(usize),
}

impl Replacement {
    fn value(&self) -> Value {
        match self {
            Replacement::Null => Value::Null,
            Replacement::Bool(b) => Value::Bool(*b),
            Replacement::Int(i) => Value::from(*i),
            Replacement::HugeDigits(n) => Value::String("9".repeat(*n)),
            Replacement::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
            }
            Replacement::Text(s) => Value::String(s.clone()),
            Replacement::EmptyObject => Value::Object(Default::default()),
            Replacement::EmptyArray => Value::Array(Vec::new()),
            Replacement::Deep(depth) => {
                let mut v = Value::Array(Vec::new());
                for level in 0..*depth {
                    v = if level % 2 == 0 {
                        Value::Array(vec![v])
                    } else {
                        let mut m = serde_json::Map::new();
                        m.insert("k".to_owned(), v);
                        Value::Object(m)
                    };
                }
                v
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    /// Drop the chosen member (or array element).
    Remove,
    Replace(Replacement),
    /// Add an unknown member to the chosen object.
    Insert(String, Replacement),
}

fn replacement() -> impl Strategy<Value = Replacement> {
    prop_oneof![
        Just(Replacement::Null),
        any::<bool>().prop_map(Replacement::Bool),
        any::<i64>().prop_map(Replacement::Int),
        (-1_000_000i64..0).prop_map(Replacement::Int),
        (20usize..60).prop_map(Replacement::HugeDigits),
        prop_oneof![Just(1e300), Just(-2.5), Just(0.5), Just(1e19)].prop_map(Replacement::Float),
        ".{0,24}".prop_map(Replacement::Text),
        prop_oneof![
            Just("-1".to_owned()),
            Just("18446744073709551616".to_owned()),
            Just("ANCHORS".to_owned()),
            Just("0x10".to_owned()),
            Just("754x1x0".to_owned()),
        ]
        .prop_map(Replacement::Text),
        Just(Replacement::EmptyObject),
        Just(Replacement::EmptyArray),
        (1usize..200).prop_map(Replacement::Deep),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => Just(Mutation::Remove),
        5 => replacement().prop_map(Mutation::Replace),
        1 => ("[a-z_]{1,12}", replacement()).prop_map(|(k, r)| Mutation::Insert(k, r)),
    ]
}

/// Walks down `steps` (each picks a member/element modulo the count) and mutates the child the
/// last step picks. Returns whether anything changed.
fn apply(root: &mut Value, steps: &[u32], mutation: &Mutation) -> bool {
    let Some((last, walk)) = steps.split_last() else {
        if let Mutation::Replace(r) = mutation {
            *root = r.value();
            return true;
        }
        return false;
    };
    let mut node = root;
    for &step in walk {
        let has_children = match &*node {
            Value::Object(map) => !map.is_empty(),
            Value::Array(items) => !items.is_empty(),
            _ => false,
        };
        if !has_children {
            break;
        }
        node = match node {
            Value::Object(map) => {
                let key = map.keys().nth(step as usize % map.len()).cloned().unwrap();
                map.get_mut(&key).unwrap()
            }
            Value::Array(items) => {
                let len = items.len();
                &mut items[step as usize % len]
            }
            _ => unreachable!("checked above"),
        };
    }
    match (node, mutation) {
        (Value::Object(map), Mutation::Insert(key, r)) => {
            map.insert(key.clone(), r.value());
            true
        }
        (Value::Object(map), m) if !map.is_empty() => {
            let key = map.keys().nth(*last as usize % map.len()).cloned().unwrap();
            match m {
                Mutation::Remove => {
                    map.remove(&key);
                }
                Mutation::Replace(r) => {
                    map.insert(key, r.value());
                }
                Mutation::Insert(..) => unreachable!("handled above"),
            }
            true
        }
        (Value::Array(items), m) if !items.is_empty() => {
            let i = *last as usize % items.len();
            match m {
                Mutation::Remove => {
                    items.remove(i);
                }
                Mutation::Replace(r) => items[i] = r.value(),
                Mutation::Insert(_, r) => items.insert(i, r.value()),
            }
            true
        }
        (leaf, Mutation::Replace(r)) => {
            *leaf = r.value();
            true
        }
        _ => false,
    }
}

/// Damage to the serialized text: cut it, or drop a character into it.
#[derive(Debug, Clone)]
enum TextDamage {
    None,
    Truncate(f64),
    Insert(f64, char),
}

fn text_damage() -> impl Strategy<Value = TextDamage> {
    prop_oneof![
        6 => Just(TextDamage::None),
        1 => (0.0..1.0f64).prop_map(TextDamage::Truncate),
        1 => (0.0..1.0f64, any::<char>()).prop_map(|(at, c)| TextDamage::Insert(at, c)),
    ]
}

fn damage(text: &str, how: &TextDamage) -> String {
    let boundary = |at: f64| {
        let n = text.chars().count();
        let k = ((n as f64) * at) as usize;
        text.char_indices().nth(k).map_or(text.len(), |(i, _)| i)
    };
    match how {
        TextDamage::None => text.to_owned(),
        TextDamage::Truncate(at) => text[..boundary(*at)].to_owned(),
        TextDamage::Insert(at, c) => {
            let i = boundary(*at);
            format!("{}{c}{}", &text[..i], &text[i..])
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn mutated_fixtures_never_panic(
        file in 0usize..4,
        mutations in prop::collection::vec((prop::collection::vec(any::<u32>(), 0..7), mutation()), 1..6),
        text_damage in text_damage(),
    ) {
        let originals: Vec<String> = FILES.iter().map(|f| fixture(f)).collect();
        let mut doc: Value = serde_json::from_str(&originals[file]).unwrap();
        for (steps, m) in &mutations {
            apply(&mut doc, steps, m);
        }
        let mutated = damage(&serde_json::to_string_pretty(&doc).unwrap(), &text_damage);

        let text = |i: usize| LncliText {
            name: FILES[i],
            json: if i == file { &mutated } else { &originals[i] },
        };
        let texts = LncliTexts {
            listchannels: text(0),
            getinfo: Some(text(1)),
            pendingchannels: Some(text(2)),
            feereport: Some(text(3)),
        };
        match snapshot_from_strs(&texts, 0) {
            Ok(snap) => {
                for w in &snap.warnings {
                    prop_assert!(FILES.iter().any(|f| w.message.starts_with(&format!("{f}: "))), "{}", w.message);
                }
                prop_assert!(snap.channels.windows(2).all(|w| w[0].chan_id < w[1].chan_id));
                for c in &snap.channels {
                    prop_assert!(c.capacity_sat <= MAX_MONEY_SAT);
                    prop_assert!(c.local_balance_sat <= MAX_MONEY_SAT);
                    prop_assert!(c.remote_balance_sat <= MAX_MONEY_SAT);
                    prop_assert!(c.commit_fee_sat <= MAX_MONEY_SAT);
                    prop_assert!(c.fee_per_kw <= u64::from(u32::MAX));
                    prop_assert!(c.pending_htlcs.iter().all(|h| h.amount_sat <= MAX_MONEY_SAT));
                }
                // Every element of `channels` became a channel or a "skipped" warning.
                if file == 0 && matches!(text_damage, TextDamage::None) {
                    let listed = doc["channels"].as_array().map_or(0, Vec::len);
                    let skipped = snap.warnings.iter().filter(|w| {
                        w.message.starts_with("listchannels.json: `channels[") && w.message.contains(" skipped: ")
                    }).count();
                    prop_assert_eq!(snap.channels.len() + skipped, listed, "{:#?}", snap.warnings);
                }
            }
            Err(err) => {
                prop_assert_eq!(err.file(), FILES[file], "{}", err);
                prop_assert!(err.to_string().starts_with(&format!("{}: ", FILES[file])), "{}", err);
            }
        }
    }
}
