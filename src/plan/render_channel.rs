//! One channel's full view (`dustwatch plan show --channel ID`): everything the plan holds
//! about it, with its actions' words and its alerts, where the report shows one table row.

use std::fmt::Write as _;

use super::render::group_thousands;
use super::{ChannelPlan, CommitmentReport, Plan};
use crate::escape::escape;
use crate::model::ChanId;

/// The channel's view, or `None` when the plan has no channel `chan_id`.
pub fn render_channel(plan: &Plan, chan_id: ChanId) -> Option<String> {
    let at = plan
        .channels
        .binary_search_by_key(&chan_id, |c| c.chan_id)
        .ok()?;
    let c = &plan.channels[at];
    let mut out = String::new();
    header(&mut out, c);
    dust(&mut out, c);
    htlcs(&mut out, c);
    let f = &c.force_close;
    out.push_str("\nFORCE CLOSE\n");
    let _ = writeln!(
        out,
        "  total {} sat (to miners {}, anchor {}, second-level fees {}); {} blocks locked; \
         cooperative close {} sat, {} sat less",
        group_thousands(f.total_sat),
        group_thousands(f.fees_to_miners_sat),
        group_thousands(f.anchor_sat),
        group_thousands(f.second_level_fees_sat),
        f.csv_delay_blocks,
        group_thousands(f.coop_close_fee_sat),
        group_thousands(f.extra_cost_vs_coop_sat)
    );
    out.push_str("\nACTIONS\n");
    if c.recommendations.actions.is_empty() {
        out.push_str("  none\n");
    }
    for a in &c.recommendations.actions {
        let text = a.text();
        let _ = writeln!(
            out,
            "  {} (priority {}): amount {}, cost {} sat, benefit {} sat",
            a.id,
            a.priority,
            a.amount_sat
                .map_or("-".to_string(), |v| format!("{} sat", group_thousands(v))),
            group_thousands(a.expected_cost_sat),
            group_thousands(a.expected_benefit_sat)
        );
        if !text.rationale.is_empty() {
            let _ = writeln!(out, "    {}", text.rationale);
        }
        for command in &text.commands {
            let _ = writeln!(out, "    $ {}", command.line);
        }
    }
    let alerts: Vec<_> = plan
        .alerts
        .iter()
        .filter(|a| a.chan_id == Some(chan_id))
        .collect();
    out.push_str("\nALERTS\n");
    if alerts.is_empty() {
        out.push_str("  none\n");
    }
    for a in alerts {
        let _ = writeln!(
            out,
            "  {} {}: {}",
            a.severity.as_str().to_uppercase(),
            a.code.as_str(),
            a.message
        );
    }
    for (title, lines) in [("NOTES", &c.notes), ("ENGINE WARNINGS", &c.warnings)] {
        if !lines.is_empty() {
            let _ = writeln!(out, "\n{title}");
            for line in lines {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    Some(out)
}

fn header(out: &mut String, c: &ChannelPlan) {
    let alias = if c.peer_alias.is_empty() {
        "-".into()
    } else {
        escape(&c.peer_alias)
    };
    let _ = writeln!(
        out,
        "channel {} with {alias} ({})",
        c.chan_id, c.peer_pubkey
    );
    let _ = writeln!(
        out,
        "  {} · {:?} · {} · initiator {:?}{}",
        c.channel_point,
        c.commitment_type,
        if c.active { "active" } else { "INACTIVE" },
        c.initiator,
        if c.private { " · private" } else { "" }
    );
    let _ = writeln!(
        out,
        "  capacity {} sat: local {}, remote {}, commit fee {}",
        group_thousands(c.capacity_sat),
        group_thousands(c.local_balance_sat),
        group_thousands(c.remote_balance_sat),
        group_thousands(c.commit_fee_sat)
    );
    let h = &c.health;
    let issues: Vec<&str> = h.issues.iter().map(|i| i.as_str()).collect();
    let _ = writeln!(
        out,
        "  health score {:.2} ({}): local ratio {:.2}, utilization {:.2}, uptime {}; issues: {}",
        h.health_score,
        h.status.score_band(),
        h.local_ratio,
        h.utilization,
        h.uptime_ratio
            .map_or("unknown".to_string(), |u| format!("{u:.2}")),
        if issues.is_empty() {
            "none".to_string()
        } else {
            issues.join(", ")
        }
    );
}

fn commitment(out: &mut String, name: &str, k: &CommitmentReport) {
    let _ = writeln!(
        out,
        "  {name:<6} dust limit {}, trimmed below {} offered / {} received; {} HTLCs trimmed \
         ({} sat), {} with outputs; base fee {}, to miners {}, exposure {} sat",
        group_thousands(k.dust_limit_sat),
        group_thousands(k.offered_trim_threshold_sat),
        group_thousands(k.received_trim_threshold_sat),
        k.trimmed_htlc_count,
        group_thousands(k.trimmed_htlc_sat),
        k.untrimmed_htlc_count,
        group_thousands(k.base_fee_sat),
        group_thousands(k.fees_to_miners_sat),
        group_thousands(k.fee_exposure_sat)
    );
}

/// A signed amount grouped by thousands (headroom is negative over the limit).
fn signed_thousands(value: i64) -> String {
    let sign = if value < 0 { "-" } else { "" };
    format!("{sign}{}", group_thousands(value.unsigned_abs()))
}

fn dust(out: &mut String, c: &ChannelPlan) {
    let d = &c.dust;
    let _ = writeln!(
        out,
        "\nDUST (feerate {} sat/kw; exposure {:.1}% of the limit, headroom {} sat)",
        group_thousands(d.local_commitment.feerate_per_kw),
        d.exposure_ratio * 100.0,
        signed_thousands(d.exposure_headroom_sat)
    );
    commitment(out, "ours", &d.local_commitment);
    commitment(out, "theirs", &d.remote_commitment);
    for s in &d.fee_spike {
        let _ = writeln!(
            out,
            "  at {}× feerate ({} sat/kw{}): exposure {} ours, {} theirs{}",
            s.multiplier,
            s.feerate_per_kw,
            if s.capped { ", capped" } else { "" },
            group_thousands(s.local_fee_exposure_sat),
            group_thousands(s.remote_fee_exposure_sat),
            if s.exceeds_limit {
                ": OVER THE LIMIT"
            } else {
                ""
            }
        );
    }
    if let Some(m) = &d.commit_fee_mismatch {
        let _ = writeln!(
            out,
            "  computed fees to miners {} sat, LND reports {}",
            group_thousands(m.computed_sat),
            group_thousands(m.reported_sat)
        );
    }
}

fn htlcs(out: &mut String, c: &ChannelPlan) {
    out.push_str("\nHTLCS\n");
    if c.htlcs.is_empty() {
        out.push_str("  none listed (HTLCs with an output on both commitments that expire in time are left out)\n");
    }
    for h in &c.htlcs {
        let trimmed = match (h.trimmed_on_local, h.trimmed_on_remote) {
            (true, true) => "dust on both commitments",
            (true, false) => "dust on ours",
            (false, true) => "dust on theirs",
            (false, false) => "not dust",
        };
        let _ = writeln!(
            out,
            "  #{} {} {} sat, expires at {} ({}, {}); {trimmed}",
            h.htlc_index,
            if h.incoming { "in" } else { "out" },
            group_thousands(h.amount_sat),
            h.expiration_height,
            h.blocks_to_expiry
                .map_or("unknown".to_string(), |b| format!("in {b} blocks")),
            format!("{:?}", h.expiry).to_lowercase()
        );
    }
}
