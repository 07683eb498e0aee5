//! What changed between two plans (`dustwatch plan diff A B`).
//!
//! Actions are matched by id (ids are stable for the same situation), channels by `chan_id`,
//! alerts by `(code, chan_id)`. Every list is sorted, so a diff is as deterministic as a plan.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{chan_id_string, Action, ActionKind, AlertCode, Plan, Severity};
use crate::model::ChanId;

/// The difference from plan `a` (older) to plan `b` (newer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanDiff {
    pub from_generated_at: String,
    pub to_generated_at: String,
    /// In `b` only, by id.
    pub new_actions: Vec<ActionRef>,
    /// In `a` only, by id.
    pub resolved_actions: Vec<ActionRef>,
    /// In both with a different priority, amount, cost or benefit, by id.
    pub changed_actions: Vec<ActionChange>,
    pub unchanged_actions: u32,
    pub channels_added: Vec<String>,
    pub channels_removed: Vec<String>,
    /// Channels in both plans whose fee exposure changed, by channel id.
    pub exposure_changes: Vec<ExposureDelta>,
    pub alerts_raised: Vec<AlertRef>,
    pub alerts_cleared: Vec<AlertRef>,
    pub summary: SummaryDelta,
}

/// An action named in a diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRef {
    pub id: String,
    pub kind: ActionKind,
    pub priority: u8,
    pub chan_ids: Vec<String>,
    pub amount_sat: Option<u64>,
}

/// An action present in both plans whose numbers moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionChange {
    pub id: String,
    pub fields: Vec<FieldChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub from: String,
    pub to: String,
}

/// Fee exposure of one channel in both plans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExposureDelta {
    pub chan_id: String,
    pub local_from_sat: u64,
    pub local_to_sat: u64,
    pub remote_from_sat: u64,
    pub remote_to_sat: u64,
    pub headroom_from_sat: i64,
    pub headroom_to_sat: i64,
    /// Change of the larger of the two exposures (positive: closer to the limit).
    pub change_sat: i64,
}

/// An alert named in a diff.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AlertRef {
    pub code: AlertCode,
    pub chan_id: Option<String>,
    pub severity: Severity,
}

/// A number in both plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub from: u64,
    pub to: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryDelta {
    pub total_dust_sat: Change,
    pub highest_fee_exposure_sat: Change,
    pub estimated_recovery_sat: Change,
    pub recommended_actions: Change,
    pub alerts_error: Change,
    pub alerts_warn: Change,
}

fn action_ref(a: &Action) -> ActionRef {
    ActionRef {
        id: a.id.to_string(),
        kind: a.kind,
        priority: a.priority,
        chan_ids: a.chan_ids.iter().copied().map(chan_id_string).collect(),
        amount_sat: a.amount_sat,
    }
}

fn field_changes(a: &Action, b: &Action) -> Vec<FieldChange> {
    let opt = |v: Option<u64>| v.map_or("none".to_string(), |v| v.to_string());
    let pairs = [
        ("priority", a.priority.to_string(), b.priority.to_string()),
        (
            "implementation_priority",
            a.implementation_priority.to_string(),
            b.implementation_priority.to_string(),
        ),
        ("amount_sat", opt(a.amount_sat), opt(b.amount_sat)),
        (
            "expected_cost_sat",
            a.expected_cost_sat.to_string(),
            b.expected_cost_sat.to_string(),
        ),
        (
            "expected_benefit_sat",
            a.expected_benefit_sat.to_string(),
            b.expected_benefit_sat.to_string(),
        ),
    ];
    pairs
        .into_iter()
        .filter(|(_, from, to)| from != to)
        .map(|(field, from, to)| FieldChange {
            field: field.to_string(),
            from,
            to,
        })
        .collect()
}

fn alert_set(plan: &Plan) -> BTreeSet<AlertRef> {
    plan.alerts
        .iter()
        .map(|a| AlertRef {
            code: a.code,
            // As text, so alerts keep the order (and the JSON) of schema v1 strings.
            chan_id: a.chan_id.map(chan_id_string),
            severity: a.severity,
        })
        .collect()
}

fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Compares plan `a` (older) with plan `b` (newer).
pub fn diff(a: &Plan, b: &Plan) -> PlanDiff {
    let before: BTreeMap<&str, &Action> =
        a.all_actions().into_iter().map(|x| (&*x.id, x)).collect();
    let after: BTreeMap<&str, &Action> = b.all_actions().into_iter().map(|x| (&*x.id, x)).collect();
    let mut changed = Vec::new();
    let mut unchanged = 0u32;
    for (id, new) in &after {
        if let Some(old) = before.get(id) {
            let fields = field_changes(old, new);
            if fields.is_empty() {
                unchanged += 1;
            } else {
                changed.push(ActionChange {
                    id: id.to_string(),
                    fields,
                });
            }
        }
    }

    // Channel ids are numbers, so the maps order channels numerically.
    let chans_a: BTreeMap<ChanId, &super::ChannelPlan> =
        a.channels.iter().map(|c| (c.chan_id, c)).collect();
    let chans_b: BTreeMap<ChanId, &super::ChannelPlan> =
        b.channels.iter().map(|c| (c.chan_id, c)).collect();
    let mut exposure_changes = Vec::new();
    for (key, cb) in &chans_b {
        let Some(ca) = chans_a.get(key) else { continue };
        let (la, ra) = (
            ca.dust.local_commitment.fee_exposure_sat,
            ca.dust.remote_commitment.fee_exposure_sat,
        );
        let (lb, rb) = (
            cb.dust.local_commitment.fee_exposure_sat,
            cb.dust.remote_commitment.fee_exposure_sat,
        );
        if (la, ra, ca.dust.exposure_headroom_sat) != (lb, rb, cb.dust.exposure_headroom_sat) {
            exposure_changes.push(ExposureDelta {
                chan_id: chan_id_string(cb.chan_id),
                local_from_sat: la,
                local_to_sat: lb,
                remote_from_sat: ra,
                remote_to_sat: rb,
                headroom_from_sat: ca.dust.exposure_headroom_sat,
                headroom_to_sat: cb.dust.exposure_headroom_sat,
                change_sat: i64_of(lb.max(rb)).saturating_sub(i64_of(la.max(ra))),
            });
        }
    }

    let alerts_a = alert_set(a);
    let alerts_b = alert_set(b);
    let change = |from: u64, to: u64| Change { from, to };
    PlanDiff {
        from_generated_at: a.generated_at.clone(),
        to_generated_at: b.generated_at.clone(),
        new_actions: after
            .iter()
            .filter(|(id, _)| !before.contains_key(*id))
            .map(|(_, x)| action_ref(x))
            .collect(),
        resolved_actions: before
            .iter()
            .filter(|(id, _)| !after.contains_key(*id))
            .map(|(_, x)| action_ref(x))
            .collect(),
        changed_actions: changed,
        unchanged_actions: unchanged,
        channels_added: chans_b
            .iter()
            .filter(|(k, _)| !chans_a.contains_key(*k))
            .map(|(_, c)| chan_id_string(c.chan_id))
            .collect(),
        channels_removed: chans_a
            .iter()
            .filter(|(k, _)| !chans_b.contains_key(*k))
            .map(|(_, c)| chan_id_string(c.chan_id))
            .collect(),
        exposure_changes,
        alerts_raised: alerts_b.difference(&alerts_a).cloned().collect(),
        alerts_cleared: alerts_a.difference(&alerts_b).cloned().collect(),
        summary: SummaryDelta {
            total_dust_sat: change(a.summary.total_dust_sat, b.summary.total_dust_sat),
            highest_fee_exposure_sat: change(
                a.summary.highest_fee_exposure_sat,
                b.summary.highest_fee_exposure_sat,
            ),
            estimated_recovery_sat: change(
                a.summary.estimated_recovery_sat,
                b.summary.estimated_recovery_sat,
            ),
            recommended_actions: change(
                u64::from(a.summary.recommended_actions),
                u64::from(b.summary.recommended_actions),
            ),
            alerts_error: change(
                u64::from(a.summary.alerts.error),
                u64::from(b.summary.alerts.error),
            ),
            alerts_warn: change(
                u64::from(a.summary.alerts.warn),
                u64::from(b.summary.alerts.warn),
            ),
        },
    }
}

fn signed(v: i64) -> String {
    if v > 0 {
        format!("+{v}")
    } else {
        v.to_string()
    }
}

fn change_line(out: &mut String, label: &str, c: Change) {
    let delta = i64_of(c.to).saturating_sub(i64_of(c.from));
    let _ = writeln!(
        out,
        "  {label:<26} {} → {} ({})",
        c.from,
        c.to,
        signed(delta)
    );
}

/// The diff as text for a terminal.
pub fn render_diff(d: &PlanDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "plan diff {} → {}",
        d.from_generated_at, d.to_generated_at
    );
    out.push('\n');
    out.push_str("SUMMARY\n");
    change_line(&mut out, "total dust sat", d.summary.total_dust_sat);
    change_line(
        &mut out,
        "highest fee exposure sat",
        d.summary.highest_fee_exposure_sat,
    );
    change_line(
        &mut out,
        "estimated recovery sat",
        d.summary.estimated_recovery_sat,
    );
    change_line(
        &mut out,
        "recommended actions",
        d.summary.recommended_actions,
    );
    change_line(&mut out, "error alerts", d.summary.alerts_error);
    change_line(&mut out, "warn alerts", d.summary.alerts_warn);

    let _ = writeln!(
        out,
        "\nACTIONS  {} new · {} resolved · {} changed · {} unchanged",
        d.new_actions.len(),
        d.resolved_actions.len(),
        d.changed_actions.len(),
        d.unchanged_actions
    );
    for a in &d.new_actions {
        let _ = writeln!(out, "  + {} (priority {})", a.id, a.priority);
    }
    for a in &d.resolved_actions {
        let _ = writeln!(out, "  - {} (priority {})", a.id, a.priority);
    }
    for c in &d.changed_actions {
        let fields: Vec<String> = c
            .fields
            .iter()
            .map(|f| format!("{} {} → {}", f.field, f.from, f.to))
            .collect();
        let _ = writeln!(out, "  ~ {}: {}", c.id, fields.join(", "));
    }

    if !d.channels_added.is_empty() || !d.channels_removed.is_empty() {
        out.push_str("\nCHANNELS\n");
        for c in &d.channels_added {
            let _ = writeln!(out, "  + {c}");
        }
        for c in &d.channels_removed {
            let _ = writeln!(out, "  - {c}");
        }
    }

    if !d.exposure_changes.is_empty() {
        out.push_str("\nFEE EXPOSURE (sat)\n");
        let _ = writeln!(
            out,
            "  {:<20} {:>21} {:>21} {:>23} {:>10}",
            "CHANNEL", "LOCAL", "REMOTE", "HEADROOM", "CHANGE"
        );
        for e in &d.exposure_changes {
            let _ = writeln!(
                out,
                "  {:<20} {:>21} {:>21} {:>23} {:>10}",
                e.chan_id,
                format!("{} → {}", e.local_from_sat, e.local_to_sat),
                format!("{} → {}", e.remote_from_sat, e.remote_to_sat),
                format!("{} → {}", e.headroom_from_sat, e.headroom_to_sat),
                signed(e.change_sat)
            );
        }
    }

    if !d.alerts_raised.is_empty() || !d.alerts_cleared.is_empty() {
        out.push_str("\nALERTS\n");
        let name = |a: &AlertRef| {
            format!(
                "{} {}{}",
                a.severity.as_str(),
                a.code.as_str(),
                a.chan_id
                    .as_ref()
                    .map_or(String::new(), |c| format!(" (channel {c})"))
            )
        };
        for a in &d.alerts_raised {
            let _ = writeln!(out, "  + {}", name(a));
        }
        for a in &d.alerts_cleared {
            let _ = writeln!(out, "  - {}", name(a));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyze;
    use crate::model::{Channel, Htlc, NodeSnapshot, SnapshotSource};
    use crate::settings::AnalysisSettings;

    fn chan(chan_id: u64, local: u64, htlcs: Vec<Htlc>) -> Channel {
        let mut ch = Channel {
            peer_alias: String::new().into(),
            total_satoshis_received: 0,
            pending_htlcs: htlcs,
            local_policy: None,
            ..crate::testkit::channel(chan_id, 2_000_000, local)
        };
        crate::testkit::settle_balances(&mut ch);
        ch
    }

    fn htlc(index: u64, amount: u64) -> Htlc {
        Htlc {
            incoming: true,
            amount_sat: amount,
            hash_lock: None,
            expiration_height: 900_000,
            htlc_index: index,
            forwarding_channel: 0,
            forwarding_htlc_index: 0,
            locked_in: true,
        }
    }

    fn plan(at: i64, channels: Vec<Channel>) -> Plan {
        let mut snap = NodeSnapshot::empty(
            at,
            SnapshotSource {
                kind: "test".into(),
                detail: String::new(),
            },
        );
        snap.node.block_height = Some(800_000);
        snap.node.synced_to_chain = true;
        snap.channels = channels;
        snap.normalize();
        // Channel 2 routes out 700,000 sat at 1,500 ppm in the window: a sink worth refilling.
        let drain = crate::model::ForwardingEvent {
            timestamp_ns: u64::try_from(at - 50).unwrap_or(0) * 1_000_000_000,
            chan_id_in: 77,
            chan_id_out: 2,
            amt_in_msat: 701_050_000,
            amt_out_msat: 700_000_000,
            fee_msat: 1_050_000,
        };
        snap.flow = Some(crate::model::ForwardingFlow::from_events(
            &[drain],
            at,
            7 * 86_400,
        ));
        analyze(&snap, &AnalysisSettings::default(), None)
    }

    #[test]
    fn diff_reports_actions_channels_exposure_and_alerts() {
        let a = plan(
            100,
            vec![
                chan(1, 1_900_000, vec![]),
                chan(2, 100_000, vec![]),
                chan(3, 1_000_000, vec![]),
            ],
        );
        let mut offline = chan(3, 1_000_000, vec![htlc(0, 200), htlc(1, 300)]);
        offline.active = false;
        let b = plan(
            200,
            vec![
                chan(2, 100_000, vec![]),
                offline,
                chan(4, 1_000_000, vec![]),
            ],
        );
        let d = diff(&a, &b);
        assert_eq!(d.from_generated_at, "1970-01-01T00:01:40Z");
        assert!(
            d.resolved_actions.iter().any(|x| x.id == "rebalance:1>2"),
            "{:?}",
            d.resolved_actions
        );
        assert!(
            d.new_actions
                .iter()
                .any(|x| x.id == "hold_off_force_close:3"),
            "{:?}",
            d.new_actions
        );
        assert_eq!(d.channels_added, vec!["4"]);
        assert_eq!(d.channels_removed, vec!["1"]);
        assert_eq!(d.exposure_changes.len(), 1);
        assert_eq!(d.exposure_changes[0].chan_id, "3");
        assert_eq!(d.exposure_changes[0].change_sat, 500);
        assert!(d
            .alerts_raised
            .iter()
            .any(|x| x.code == AlertCode::ChannelInactive));
        assert_eq!(d.summary.total_dust_sat, Change { from: 0, to: 500 });

        let text = render_diff(&d);
        assert!(text.contains("+ hold_off_force_close:3"), "{text}");
        assert!(text.contains("- rebalance:1>2"), "{text}");
        assert!(text.contains("warn channel_inactive (channel 3)"), "{text}");
    }

    #[test]
    fn identical_plans_diff_to_nothing() {
        let a = plan(
            100,
            vec![chan(1, 1_900_000, vec![]), chan(2, 100_000, vec![])],
        );
        let d = diff(&a, &a);
        assert!(
            d.new_actions.is_empty()
                && d.resolved_actions.is_empty()
                && d.changed_actions.is_empty()
        );
        assert_eq!(d.unchanged_actions as usize, a.all_actions().len());
        assert!(d.exposure_changes.is_empty());
        assert!(d.alerts_raised.is_empty() && d.alerts_cleared.is_empty());
    }

    #[test]
    fn changed_numbers_are_listed_by_field() {
        let a = plan(
            100,
            vec![chan(1, 1_900_000, vec![]), chan(2, 100_000, vec![])],
        );
        let b = plan(
            200,
            vec![chan(1, 1_800_000, vec![]), chan(2, 100_000, vec![])],
        );
        let d = diff(&a, &b);
        let c = d
            .changed_actions
            .iter()
            .find(|c| c.id == "rebalance:1>2")
            .unwrap();
        assert!(
            c.fields.iter().any(|f| f.field == "amount_sat"),
            "{:?}",
            c.fields
        );
        assert!(render_diff(&d).contains("~ rebalance:1>2: "));
    }
}
