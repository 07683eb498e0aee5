//! The daemon's dust memory ([`analyze_with_memo`]) gives the same plan, byte for byte, as a
//! fresh analysis, on a busy simulated node through ticks (HTLCs come and go, blocks are
//! found, feerates follow the estimate) and a change of settings.

use dustwatch::analyze::{analyze, analyze_with_memo};
use dustwatch::dust::DustMemo;
use dustwatch::plan::PlanDigest;
use dustwatch::settings::AnalysisSettings;
use dustwatch::sim::{answers, HtlcLoad, ScenarioConfig, Simulation};

const CHANNELS: usize = 300;

#[test]
fn plans_with_memory_are_the_same_bytes_as_fresh_ones() {
    let mut sim = Simulation::generate(&ScenarioConfig {
        channels: CHANNELS,
        seed: 7,
        start_unix: 1_750_000_000,
        max_fee_exposure_sat: dustwatch::sim::DEFAULT_MAX_FEE_EXPOSURE_SAT,
    });
    sim.add_htlc_load(&HtlcLoad {
        mean_per_channel: 4.0,
        saturated_share: 0.0,
    });
    let mut settings = AnalysisSettings::default();
    let mut memo = DustMemo::default();
    let (mut previous, mut previous_memo): (Option<PlanDigest>, Option<PlanDigest>) = (None, None);
    let (mut heights, mut some_reused, mut some_recomputed) = (Vec::new(), false, false);
    for cycle in 0..24 {
        if cycle > 0 {
            sim.tick();
        }
        if cycle == 16 {
            // A reload with other fee-spike what-ifs: nothing may come from memory.
            settings.fee_spike_multipliers = vec![1.5, 3.0];
        }
        let snapshot = answers::snapshot(&sim.node, true);
        heights.push(snapshot.node.block_height);
        let fresh = analyze(&snapshot, &settings, previous.as_ref());
        let remembered = analyze_with_memo(&snapshot, &settings, previous_memo.as_ref(), &mut memo);
        assert_eq!(
            serde_json::to_string(&remembered).unwrap(),
            serde_json::to_string(&fresh).unwrap(),
            "cycle {cycle}: {} of {} channels from memory",
            memo.reused(),
            memo.len()
        );
        let channels = snapshot.channels.len();
        assert_eq!(memo.len(), channels);
        if cycle == 0 || cycle == 16 {
            assert_eq!(memo.reused(), 0, "cycle {cycle}");
        }
        some_reused |= memo.reused() > 0;
        some_recomputed |= cycle > 0 && cycle != 16 && memo.reused() < channels;
        previous = Some(PlanDigest::of(&fresh));
        previous_memo = Some(PlanDigest::of(&remembered));
    }
    assert!(some_reused, "no channel came from memory");
    assert!(some_recomputed, "no channel changed between ticks");
    heights.dedup();
    assert!(
        heights.len() > 1,
        "no block was found in the run: {heights:?}"
    );
}
