//! Unit tests of the derivation and encoding, on plans built by the real analyzer.

use std::time::Duration;

use crate::analyze::analyze;
use crate::model::{Channel, Htlc};
use crate::plan::{AlertCode, Plan, Severity};
use crate::settings::{AnalysisSettings, MetricsSettings};
use crate::testkit::{self, htlc};

use super::*;

const BLOCK_HEIGHT: u32 = 800_000;

/// A kit channel of 2,000,000 sat with no flow and no policy, carrying `htlcs`.
fn channel(chan_id: u64, alias: &str, local_sat: u64, htlcs: Vec<Htlc>) -> Channel {
    let mut ch = Channel {
        peer_alias: alias.into(),
        total_satoshis_received: 0,
        pending_htlcs: htlcs,
        local_policy: None,
        ..testkit::channel(chan_id, 2_000_000, local_sat)
    };
    testkit::settle_balances(&mut ch);
    ch
}

fn plan_of(channels: Vec<Channel>, block_height: Option<u32>) -> Plan {
    analyze(
        &testkit::snapshot(channels, block_height),
        &AnalysisSettings::default(),
        None,
    )
}

/// Two channels: one with a dust HTLC and an HTLC expiring soon, one without HTLCs.
fn two_channel_plan() -> Plan {
    plan_of(
        vec![
            channel(
                101,
                "alice",
                900_000,
                vec![
                    htlc(0, false, 300, BLOCK_HEIGHT + 30),
                    htlc(1, true, 50_000, BLOCK_HEIGHT + 120),
                ],
            ),
            channel(202, "bob", 1_000_000, Vec::new()),
        ],
        Some(BLOCK_HEIGHT),
    )
}

/// Sample lines (not comments) whose name is `name` exactly.
fn samples<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .collect()
}

#[test]
fn empty_metrics_have_every_family_and_no_samples() {
    let text = Metrics::new().encode();
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(text.contains("# TYPE dustwatch_channel_fee_exposure_sat gauge\n"));
    assert!(text.contains("# UNIT dustwatch_channel_fee_exposure_sat sat\n"));
    assert!(text.contains("# TYPE dustwatch_cycles counter\n"));
    assert!(text.contains("# TYPE dustwatch_last_cycle_duration_seconds gauge\n"));
    assert_eq!(
        text.lines().filter(|l| !l.starts_with('#')).count(),
        0,
        "{text}"
    );
}

#[test]
fn channel_series_carry_the_plan_values() {
    let plan = two_channel_plan();
    let metrics = Metrics::new();
    metrics.observe_plan("n1", &plan);
    let text = metrics.encode();

    let alice = &plan.channels[0];
    assert_eq!(alice.chan_id, 101);
    assert!(
        alice.dust.local_commitment.trimmed_htlc_count >= 1,
        "fixture: 300 sat is dust"
    );
    let labels = format!(
        r#"node="n1",chan_id="101",peer_alias="alice",peer="02{:064x}""#,
        101
    );
    for (commitment, report) in [
        ("local", &alice.dust.local_commitment),
        ("remote", &alice.dust.remote_commitment),
    ] {
        let line = format!(
            "dustwatch_channel_fee_exposure_sat{{{labels},commitment=\"{commitment}\"}} {}",
            report.fee_exposure_sat
        );
        assert!(
            text.contains(&format!("{line}\n")),
            "missing {line}\n{text}"
        );
        let line = format!(
            "dustwatch_channel_trimmed_htlc_sat{{{labels},commitment=\"{commitment}\"}} {}",
            report.trimmed_htlc_sat
        );
        assert!(
            text.contains(&format!("{line}\n")),
            "missing {line}\n{text}"
        );
        let line = format!(
            "dustwatch_channel_trimmed_htlcs{{{labels},commitment=\"{commitment}\"}} {}",
            report.trimmed_htlc_count
        );
        assert!(
            text.contains(&format!("{line}\n")),
            "missing {line}\n{text}"
        );
    }
    let line = format!(
        "dustwatch_channel_exposure_headroom_sat{{{labels}}} {}\n",
        alice.dust.exposure_headroom_sat
    );
    assert!(text.contains(&line), "missing {line}\n{text}");
    let line = format!(
        "dustwatch_channel_force_close_fees_to_miners_sat{{{labels}}} {}\n",
        alice.force_close.fees_to_miners_sat
    );
    assert!(text.contains(&line), "missing {line}\n{text}");
    // The soonest of the two HTLCs: 30 blocks.
    let line = format!("dustwatch_channel_nearest_htlc_expiry_blocks{{{labels}}} 30\n");
    assert!(text.contains(&line), "missing {line}\n{text}");

    // bob has no HTLC: no expiry series, but every other channel series.
    let expiry = samples(&text, "dustwatch_channel_nearest_htlc_expiry_blocks");
    assert_eq!(expiry.len(), 1, "{expiry:?}");
    assert_eq!(samples(&text, "dustwatch_channel_health_score").len(), 2);
    assert_eq!(
        samples(&text, "dustwatch_channel_fee_exposure_sat").len(),
        4
    );
}

#[test]
fn expiry_is_absent_without_a_block_height() {
    let plan = plan_of(
        vec![channel(
            7,
            "carol",
            900_000,
            vec![htlc(0, true, 50_000, BLOCK_HEIGHT + 10)],
        )],
        None,
    );
    let metrics = Metrics::new();
    metrics.observe_plan("n1", &plan);
    let text = metrics.encode();
    assert!(samples(&text, "dustwatch_channel_nearest_htlc_expiry_blocks").is_empty());
    assert_eq!(samples(&text, "dustwatch_channel_health_score").len(), 1);
}

#[test]
fn node_totals_actions_and_alerts_follow_the_plan() {
    let mut plan = two_channel_plan();
    let metrics = Metrics::new();
    metrics.observe_plan("n1", &plan);
    let text = metrics.encode();
    let s = &plan.summary;
    for line in [
        format!(
            r#"dustwatch_capacity_sat{{node="n1"}} {}"#,
            s.total_capacity_sat
        ),
        format!(r#"dustwatch_dust_sat{{node="n1"}} {}"#, s.total_dust_sat),
        format!(
            r#"dustwatch_channels{{node="n1",status="healthy"}} {}"#,
            s.channels_by_status.healthy
        ),
        format!(
            r#"dustwatch_channels{{node="n1",status="unhealthy"}} {}"#,
            s.channels_by_status.unhealthy
        ),
        format!(
            r#"dustwatch_max_fee_exposure_sat{{node="n1",source="configured"}} {}"#,
            plan.source.exposure_limit.max_fee_exposure_sat
        ),
        r#"dustwatch_plan_timestamp_seconds{node="n1"} 1700000000"#.to_string(),
    ] {
        assert!(
            text.contains(&format!("{line}\n")),
            "missing {line}\n{text}"
        );
    }
    // Every kind and every code/severity pair has a series, zero or not.
    assert_eq!(samples(&text, "dustwatch_actions").len(), 8);
    assert_eq!(samples(&text, "dustwatch_alerts").len(), 26);
    let kinds_total: u64 = samples(&text, "dustwatch_actions")
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(kinds_total, plan.all_actions().len() as u64);

    // Alert counts follow the plan's alerts: inject two of one code to see them counted.
    let template = plan
        .alerts
        .first()
        .cloned()
        .unwrap_or_else(|| crate::plan::Alert {
            code: AlertCode::ChainNotSynced,
            severity: Severity::Warn,
            chan_id: None,
            message: "test".into(),
            amount_sat: None,
            limit_sat: None,
            htlc_index: None,
            blocks_to_expiry: None,
        });
    plan.alerts = vec![
        crate::plan::Alert {
            code: AlertCode::FeeExposureOverLimit,
            severity: Severity::Error,
            ..template.clone()
        },
        crate::plan::Alert {
            code: AlertCode::FeeExposureOverLimit,
            severity: Severity::Error,
            ..template
        },
    ];
    metrics.observe_plan("n1", &plan);
    let text = metrics.encode();
    let line = r#"dustwatch_alerts{node="n1",code="fee_exposure_over_limit",severity="error"} 2"#;
    assert!(text.contains(&format!("{line}\n")), "{text}");
    let line = r#"dustwatch_alerts{node="n1",code="fee_exposure_over_limit",severity="warn"} 0"#;
    assert!(text.contains(&format!("{line}\n")), "{text}");
}

#[test]
fn a_closed_channel_loses_its_series() {
    let metrics = Metrics::new();
    metrics.observe_plan("n1", &two_channel_plan());
    assert!(metrics.encode().contains(r#"chan_id="202""#));

    let after_close = plan_of(
        vec![channel(101, "alice", 900_000, Vec::new())],
        Some(BLOCK_HEIGHT),
    );
    metrics.observe_plan("n1", &after_close);
    let text = metrics.encode();
    assert!(!text.contains(r#"chan_id="202""#), "{text}");
    assert!(!text.contains(r#"peer_alias="bob""#), "{text}");
    assert_eq!(samples(&text, "dustwatch_channel_health_score").len(), 1);
    // alice's HTLCs settled: her expiry series went with them.
    assert!(samples(&text, "dustwatch_channel_nearest_htlc_expiry_blocks").is_empty());
}

#[test]
fn observing_one_node_keeps_the_others() {
    let metrics = Metrics::new();
    metrics.observe_plan("a", &two_channel_plan());
    metrics.observe_plan(
        "b",
        &plan_of(vec![channel(303, "dave", 500_000, Vec::new())], None),
    );
    metrics.observe_plan(
        "a",
        &plan_of(vec![channel(101, "alice", 900_000, Vec::new())], None),
    );
    let text = metrics.encode();
    assert!(text.contains(r#"node="b",chan_id="303""#), "{text}");
    assert!(!text.contains(r#"chan_id="202""#), "{text}");
    assert_eq!(samples(&text, "dustwatch_channel_health_score").len(), 2);
    // Families stay contiguous: node a's and b's samples sit under one descriptor.
    assert_eq!(
        text.matches("# TYPE dustwatch_channel_health_score ")
            .count(),
        1
    );

    metrics.forget_node("a");
    let text = metrics.encode();
    assert!(!text.contains(r#"node="a""#), "{text}");
    assert!(text.contains(r#"node="b""#), "{text}");
}

#[test]
fn cycles_are_counted_and_the_last_one_kept() {
    let metrics = Metrics::new();
    metrics.observe_cycle("n1", Duration::from_millis(1500), true, 1_700_000_100);
    metrics.observe_cycle("n1", Duration::from_millis(250), false, 1_700_000_160);
    let text = metrics.encode();
    for line in [
        r#"dustwatch_cycles_total{node="n1",result="ok"} 1"#,
        r#"dustwatch_cycles_total{node="n1",result="error"} 1"#,
        r#"dustwatch_last_cycle_success{node="n1"} 0"#,
        r#"dustwatch_last_cycle_duration_seconds{node="n1"} 0.25"#,
        r#"dustwatch_last_cycle_timestamp_seconds{node="n1"} 1700000160"#,
    ] {
        assert!(
            text.contains(&format!("{line}\n")),
            "missing {line}\n{text}"
        );
    }
    // A failed cycle does not erase the last plan's series.
    metrics.observe_plan("n1", &two_channel_plan());
    metrics.observe_cycle("n1", Duration::from_secs(1), false, 1_700_000_220);
    assert_eq!(
        samples(&metrics.encode(), "dustwatch_channel_health_score").len(),
        2
    );
}

#[test]
fn lnd_state_is_a_state_set() {
    let metrics = Metrics::new();
    metrics.set_lnd_state("n1", "locked");
    let text = metrics.encode();
    let states = samples(&text, "dustwatch_lnd_state");
    assert_eq!(states.len(), LND_STATES.len(), "{states:?}");
    assert!(states.contains(&r#"dustwatch_lnd_state{node="n1",state="locked"} 1"#));
    assert!(states.contains(&r#"dustwatch_lnd_state{node="n1",state="server_active"} 0"#));

    metrics.set_lnd_state("n1", "server_active");
    let text = metrics.encode();
    let states = samples(&text, "dustwatch_lnd_state");
    assert!(states.contains(&r#"dustwatch_lnd_state{node="n1",state="locked"} 0"#));
    assert!(states.contains(&r#"dustwatch_lnd_state{node="n1",state="server_active"} 1"#));

    // An unknown state is shown while current, then goes away: one extra series at most.
    metrics.set_lnd_state("n1", "unrecognized_7");
    assert_eq!(
        samples(&metrics.encode(), "dustwatch_lnd_state").len(),
        LND_STATES.len() + 1
    );
    metrics.set_lnd_state("n1", "unreachable");
    let text = metrics.encode();
    assert_eq!(
        samples(&text, "dustwatch_lnd_state").len(),
        LND_STATES.len()
    );
    assert!(!text.contains("unrecognized_7"));
}

#[test]
fn peer_aliases_are_escaped() {
    let plan = plan_of(
        vec![channel(9, "say \"hi\" \\o/\nbye", 900_000, Vec::new())],
        None,
    );
    let metrics = Metrics::new();
    metrics.observe_plan("n1", &plan);
    let text = metrics.encode();
    assert!(
        text.contains(r#"peer_alias="say \"hi\" \\o/\nbye""#),
        "{text}"
    );
}

#[test]
fn listen_address_is_off_by_default_and_parsed_when_set() {
    assert_eq!(listen_address(&MetricsSettings::default()).unwrap(), None);
    let loopback = MetricsSettings {
        listen: Some("127.0.0.1:9489".into()),
    };
    let addr = listen_address(&loopback).unwrap().unwrap();
    assert!(addr.ip().is_loopback());
    assert_eq!(addr.port(), 9489);
    let v6 = MetricsSettings {
        listen: Some("[::1]:9489".into()),
    };
    assert!(listen_address(&v6).unwrap().unwrap().ip().is_loopback());
    // Allowed because written explicitly (with a warning in the log).
    let all = MetricsSettings {
        listen: Some("0.0.0.0:9489".into()),
    };
    assert!(!listen_address(&all).unwrap().unwrap().ip().is_loopback());

    let bad = MetricsSettings {
        listen: Some("localhost".into()),
    };
    let err = listen_address(&bad).unwrap_err();
    assert!(err.to_string().contains("metrics.listen"), "{err}");
    assert!(err.to_string().contains("\"localhost\""), "{err}");
}
