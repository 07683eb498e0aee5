//! Alerts as journal lines: one structured tracing event per alert *transition*.
//!
//! An operator following `journalctl -u dustwatch -f` wants to hear about an alert when it
//! appears, when it gets worse and when it clears — not once a minute while nothing changes.
//! [`transitions`] compares the current plan's alerts with the previous plan's (the daemon
//! passes the alerts of the plan it wrote last time, kept in its [`PlanDigest`], which also
//! survives restarts through `latest.json`),
//! and [`emit`] logs each transition as a single WARN/ERROR (or INFO for a clear) event with
//! the stable `alert` code, `chan_id` and amounts as fields.
//!
//! Identity: an alert is "the same" across plans when its family (the code with its
//! severity grade removed: `fee_exposure_near_limit` and `fee_exposure_over_limit` are one
//! family) and channel match. Moving up within a family is an escalation, down a de-escalation.
//!
//! [`PlanDigest`]: crate::plan::PlanDigest

use std::collections::BTreeMap;

use crate::model::ChanId;
use crate::plan::{Alert, AlertCode, Severity};

/// What happened to one alert between two plans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition<'a> {
    /// Not present before.
    Raised(&'a Alert),
    /// Present before with a milder code or severity in the same family.
    Escalated { from: &'a Alert, to: &'a Alert },
    /// Present before with a harsher code or severity in the same family.
    Eased { from: &'a Alert, to: &'a Alert },
    /// Present before, gone now.
    Cleared(&'a Alert),
}

/// The family an alert code belongs to, and its grade within it (higher is worse).
fn family(code: AlertCode) -> (&'static str, u8) {
    match code {
        AlertCode::FeeExposureNearLimit => ("fee_exposure", 1),
        AlertCode::FeeExposureOverLimit => ("fee_exposure", 2),
        AlertCode::HtlcExpirySoon => ("htlc_expiry", 1),
        AlertCode::HtlcExpiryCritical => ("htlc_expiry", 2),
        other => (other.as_str(), 1),
    }
}

fn severity_grade(severity: Severity) -> u8 {
    match severity {
        Severity::Warn => 1,
        Severity::Error => 2,
    }
}

type AlertKey = (&'static str, Option<ChanId>, u64);

/// Keys alerts by (family, channel, occurrence), keeping several alerts of one family on one
/// channel apart by their order.
fn keyed(alerts: &[Alert]) -> BTreeMap<AlertKey, &Alert> {
    let mut map = BTreeMap::new();
    let mut seen: BTreeMap<(&'static str, Option<ChanId>), u64> = BTreeMap::new();
    for alert in alerts {
        let fam = family(alert.code).0;
        let chan = alert.chan_id;
        let n = seen.entry((fam, chan)).or_insert(0);
        map.insert((fam, chan, *n), alert);
        *n += 1;
    }
    map
}

/// The transitions from `previous` (none on the first cycle) to `current`, in a stable order:
/// by family, channel (numeric id) and occurrence.
pub fn transitions<'a>(previous: &'a [Alert], current: &'a [Alert]) -> Vec<Transition<'a>> {
    let before = keyed(previous);
    let now = keyed(current);
    let mut out = Vec::new();
    for (key, alert) in &now {
        match before.get(key) {
            None => out.push(Transition::Raised(alert)),
            Some(old) => {
                let old_grade = (family(old.code).1, severity_grade(old.severity));
                let new_grade = (family(alert.code).1, severity_grade(alert.severity));
                if new_grade > old_grade {
                    out.push(Transition::Escalated {
                        from: old,
                        to: alert,
                    });
                } else if new_grade < old_grade {
                    out.push(Transition::Eased {
                        from: old,
                        to: alert,
                    });
                }
            }
        }
    }
    for (key, alert) in &before {
        if !now.contains_key(key) {
            out.push(Transition::Cleared(alert));
        }
    }
    out
}

/// Logs one event per transition. `node` names the node (several nodes may share a journal).
/// Returns how many events were logged.
pub fn emit(node: &str, previous: &[Alert], current: &[Alert]) -> usize {
    let changes = transitions(previous, current);
    for change in &changes {
        log_transition(node, change);
    }
    changes.len()
}

fn log_transition(node: &str, change: &Transition<'_>) {
    let (alert, state) = match change {
        Transition::Raised(a) => (*a, "raised"),
        Transition::Escalated { to, .. } => (*to, "escalated"),
        Transition::Eased { to, .. } => (*to, "eased"),
        Transition::Cleared(a) => (*a, "cleared"),
    };
    let code = alert.code.as_str();
    // Logged as text, as the plan writes it ("" for a node-wide alert).
    let chan_id = alert.chan_id.map(|c| c.to_string()).unwrap_or_default();
    let chan_id = chan_id.as_str();
    let amount_sat = alert.amount_sat.unwrap_or(0);
    let limit_sat = alert.limit_sat.unwrap_or(0);
    let message = alert.message.text();
    if let Transition::Cleared(_) = change {
        tracing::info!(alert = code, state, node, chan_id, "cleared: {message}");
        return;
    }
    // One macro call per (severity, has-expiry) pair: tracing fields are static, and an
    // absent expiry must be absent from the event, not a sentinel number.
    macro_rules! event {
        ($level:ident) => {
            match alert.blocks_to_expiry {
                Some(blocks_to_expiry) => tracing::$level!(
                    alert = code,
                    state,
                    node,
                    chan_id,
                    amount_sat,
                    limit_sat,
                    blocks_to_expiry,
                    "{message}"
                ),
                None => tracing::$level!(
                    alert = code,
                    state,
                    node,
                    chan_id,
                    amount_sat,
                    limit_sat,
                    "{message}"
                ),
            }
        };
    }
    match alert.severity {
        Severity::Error => event!(error),
        Severity::Warn => event!(warn),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(code: AlertCode, severity: Severity, chan: &str) -> Alert {
        Alert {
            code,
            severity,
            chan_id: Some(chan.parse().unwrap()),
            message: format!("{} on {chan}", code.as_str()).into(),
            amount_sat: Some(1),
            limit_sat: Some(2),
            htlc_index: None,
            blocks_to_expiry: None,
        }
    }

    #[test]
    fn first_cycle_raises_everything() {
        let now = vec![
            alert(AlertCode::FeeExposureNearLimit, Severity::Warn, "1"),
            alert(AlertCode::ChannelInactive, Severity::Warn, "2"),
        ];
        let t = transitions(&[], &now);
        assert_eq!(t.len(), 2);
        assert!(t.iter().all(|t| matches!(t, Transition::Raised(_))));
    }

    #[test]
    fn unchanged_alerts_are_silent() {
        let now = vec![alert(AlertCode::FeeExposureNearLimit, Severity::Warn, "1")];
        let mut again = now.clone();
        again[0].amount_sat = Some(999); // amounts move every cycle; that is not news
        assert!(transitions(&now, &again).is_empty());
    }

    #[test]
    fn near_to_over_limit_escalates_and_back_eases() {
        let near = vec![alert(AlertCode::FeeExposureNearLimit, Severity::Warn, "1")];
        let over = vec![alert(AlertCode::FeeExposureOverLimit, Severity::Error, "1")];
        assert!(matches!(
            transitions(&near, &over)[..],
            [Transition::Escalated { .. }]
        ));
        assert!(matches!(
            transitions(&over, &near)[..],
            [Transition::Eased { .. }]
        ));
    }

    #[test]
    fn gone_alerts_clear_and_other_channels_are_independent() {
        let before = vec![
            alert(AlertCode::HtlcExpirySoon, Severity::Warn, "1"),
            alert(AlertCode::HtlcExpirySoon, Severity::Warn, "2"),
        ];
        let now = vec![alert(AlertCode::HtlcExpirySoon, Severity::Warn, "2")];
        let t = transitions(&before, &now);
        assert_eq!(t.len(), 1);
        match &t[0] {
            Transition::Cleared(a) => assert_eq!(a.chan_id, Some(1)),
            other => panic!("expected a clear, got {other:?}"),
        }
        assert_eq!(emit("node", &before, &now), 1);
    }
}
