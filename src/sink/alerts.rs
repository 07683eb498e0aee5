//! Alerts as journal lines: one structured tracing event per *transition* of a channel's
//! worst alert.
//!
//! An operator following `journalctl -u dustwatch -f` wants to hear about a channel when its
//! state gets worse, milder or clears — not once a minute while nothing changes, and not once
//! per alert when one stuck HTLC raises three. [`transitions`] compares the current plan's
//! alerts with the previous plan's (the daemon passes the alerts of the plan it wrote last
//! time, kept in its [`PlanDigest`], which also survives restarts through `latest.json`), and
//! [`emit`] logs each transition as a single WARN/ERROR (or INFO for a clear) event with the
//! stable `alert` code, `chan_id` and amounts as fields.
//!
//! Identity: a channel's state is its worst alert (highest severity, then the code that sorts
//! first, as the plan orders alerts); a change of that worst alert is one transition, whatever
//! the channel's milder alerts did. Node-wide alerts have no channel: each family (the code
//! with its severity grade removed: `fee_exposure_near_limit` and `fee_exposure_over_limit`
//! are one family) is its own state. A clear whose worst alert was an HTLC expiry, on a channel
//! that is still open, is an HTLC that resolved in time: [`emit`] counts it instead of logging
//! it, and the daemon reports the count in its cycle line. So it does with a channel's
//! warnings coming and going: only transitions to or from an error, node-wide ones and the
//! clear of a closed channel get a line of their own ([`is_journal_news`]).
//!
//! [`PlanDigest`]: crate::plan::PlanDigest

use std::collections::BTreeMap;

use crate::model::ChanId;
use crate::plan::{Alert, AlertCode, Severity};

/// What happened to one state (a channel's worst alert, or a node-wide family) between two plans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition<'a> {
    /// Not present before.
    Raised(&'a Alert),
    /// Present before with a milder worst alert.
    Escalated { from: &'a Alert, to: &'a Alert },
    /// Present before with a harsher worst alert.
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

/// How bad an alert is: severity first, then the family grade, then the code's place in the
/// plan's order (codes that sort first are worse). Greater is worse.
fn badness(alert: &Alert) -> (u8, u8, std::cmp::Reverse<AlertCode>) {
    (
        severity_grade(alert.severity),
        family(alert.code).1,
        std::cmp::Reverse(alert.code),
    )
}

/// Whose state an alert belongs to: a channel, or a node-wide family and its occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum StateKey {
    Node(&'static str, u64),
    Channel(ChanId),
}

/// Each state's worst alert.
fn worst_by_state(alerts: &[Alert]) -> BTreeMap<StateKey, &Alert> {
    let mut map: BTreeMap<StateKey, &Alert> = BTreeMap::new();
    let mut node_seen: BTreeMap<&'static str, u64> = BTreeMap::new();
    for alert in alerts {
        let key = match alert.chan_id {
            Some(chan) => StateKey::Channel(chan),
            None => {
                let fam = family(alert.code).0;
                let n = node_seen.entry(fam).or_insert(0);
                *n += 1;
                StateKey::Node(fam, *n - 1)
            }
        };
        map.entry(key)
            .and_modify(|worst| {
                if badness(alert) > badness(worst) {
                    *worst = alert;
                }
            })
            .or_insert(alert);
    }
    map
}

/// The transitions from `previous` (none on the first cycle) to `current`, in a stable order:
/// node-wide families first, then channels by numeric id.
pub fn transitions<'a>(previous: &'a [Alert], current: &'a [Alert]) -> Vec<Transition<'a>> {
    let before = worst_by_state(previous);
    let now = worst_by_state(current);
    let mut out = Vec::new();
    for (key, alert) in &now {
        match before.get(key) {
            None => out.push(Transition::Raised(alert)),
            Some(old) => {
                if (old.code, old.severity) == (alert.code, alert.severity) {
                    continue;
                }
                if badness(alert) > badness(old) {
                    out.push(Transition::Escalated {
                        from: old,
                        to: alert,
                    });
                } else {
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

/// A clear that is not news: the channel's worst alert was an HTLC expiry, and the channel is
/// still open, so the HTLC settled or failed before it had to go on-chain.
pub fn is_resolved_htlc(transition: &Transition<'_>, still_open: impl Fn(ChanId) -> bool) -> bool {
    match transition {
        Transition::Cleared(alert) => {
            family(alert.code).0 == "htlc_expiry" && alert.chan_id.is_some_and(still_open)
        }
        _ => false,
    }
}

/// A transition an operator tailing the journal needs on its own line: one to or from an
/// error, any node-wide one, and the clear of a channel that is no longer open (closed
/// on-chain). A channel's warnings coming and going (an HTLC near expiry, a peer offline for a
/// few minutes) are counted in the daemon's cycle line instead.
pub fn is_journal_news(transition: &Transition<'_>, still_open: impl Fn(ChanId) -> bool) -> bool {
    let (from, to) = match transition {
        Transition::Raised(a) => (None, Some(*a)),
        Transition::Escalated { from, to } | Transition::Eased { from, to } => {
            (Some(*from), Some(*to))
        }
        Transition::Cleared(a) => (Some(*a), None),
    };
    let alert = to.or(from);
    let Some(chan) = alert.and_then(|a| a.chan_id) else {
        return true;
    };
    let error = |a: Option<&Alert>| a.is_some_and(|a| a.severity == Severity::Error);
    error(from) || error(to) || (to.is_none() && !still_open(chan))
}

/// What [`emit`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Emitted {
    /// Events logged.
    pub logged: usize,
    /// Clears of HTLC expiry alerts on channels still open, counted instead of logged.
    pub htlcs_resolved: usize,
    /// Other transitions of channels' warnings (raised, eased, cleared), counted instead of
    /// logged ([`is_journal_news`]).
    pub warnings_changed: usize,
}

/// Logs one event per transition that is news ([`is_journal_news`]) and counts the rest:
/// resolved HTLCs ([`is_resolved_htlc`]) and channels' warnings. `node` names the node
/// (several nodes may share a journal); `still_open` says whether a channel is in the current
/// plan.
pub fn emit(
    node: &str,
    previous: &[Alert],
    current: &[Alert],
    still_open: impl Fn(ChanId) -> bool,
) -> Emitted {
    let mut emitted = Emitted::default();
    for change in &transitions(previous, current) {
        if is_resolved_htlc(change, &still_open) {
            emitted.htlcs_resolved += 1;
        } else if is_journal_news(change, &still_open) {
            log_transition(node, change);
            emitted.logged += 1;
        } else {
            tracing::debug!(?change, "channel warning changed");
            emitted.warnings_changed += 1;
        }
    }
    emitted
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
        // Channel 1 is still open: its HTLC resolved, which is counted, not logged.
        assert_eq!(
            emit("node", &before, &now, |_| true),
            Emitted {
                logged: 0,
                htlcs_resolved: 1,
                warnings_changed: 0,
            }
        );
        // Channel 1 is gone (closed on-chain): that clear is news.
        assert_eq!(
            emit("node", &before, &now, |chan| chan == 2),
            Emitted {
                logged: 1,
                htlcs_resolved: 0,
                warnings_changed: 0,
            }
        );
    }

    #[test]
    fn a_channels_alerts_are_one_state_its_worst() {
        let before = vec![alert(AlertCode::HtlcExpirySoon, Severity::Warn, "1")];
        // A stuck HTLC goes critical and brings the dust risk with it: one escalation.
        let now = vec![
            alert(AlertCode::HtlcExpiryCritical, Severity::Error, "1"),
            alert(AlertCode::DustPendingForceCloseRisk, Severity::Error, "1"),
            alert(AlertCode::ChannelInactive, Severity::Warn, "1"),
        ];
        match &transitions(&before, &now)[..] {
            [Transition::Escalated { to, .. }] => {
                assert_eq!(to.code, AlertCode::HtlcExpiryCritical)
            }
            other => panic!("expected one escalation, got {other:?}"),
        }
        // A milder alert of the channel comes and goes: the worst is the same, nothing to log.
        assert!(transitions(&now, &now[..2]).is_empty());
        // The worst clears, a milder one stays: eased to it.
        match &transitions(&now, &now[2..])[..] {
            [Transition::Eased { to, .. }] => assert_eq!(to.code, AlertCode::ChannelInactive),
            other => panic!("expected one easing, got {other:?}"),
        }
    }

    /// The journal lines of a known run of cycles: what an operator tailing the log sees.
    #[test]
    fn lines_of_a_known_sequence_of_cycles() {
        let htlc = |chan: &str| {
            vec![
                alert(AlertCode::HtlcExpirySoon, Severity::Warn, chan),
                alert(AlertCode::DustPendingForceCloseRisk, Severity::Warn, chan),
            ]
        };
        let cycles: Vec<Vec<Alert>> = vec![
            // 1: three channels with an HTLC near expiry (two alerts each), one peer offline.
            [htlc("1"), htlc("2"), htlc("3")]
                .concat()
                .into_iter()
                .chain([alert(AlertCode::ChannelInactive, Severity::Warn, "4")])
                .collect(),
            // 2: the HTLCs of 1 and 2 resolve; 3's goes critical.
            vec![
                alert(AlertCode::HtlcExpiryCritical, Severity::Error, "3"),
                alert(AlertCode::DustPendingForceCloseRisk, Severity::Error, "3"),
                alert(AlertCode::ChannelInactive, Severity::Warn, "4"),
            ],
            // 3: nothing changes but the amounts.
            vec![
                alert(AlertCode::HtlcExpiryCritical, Severity::Error, "3"),
                alert(AlertCode::DustPendingForceCloseRisk, Severity::Error, "3"),
                alert(AlertCode::ChannelInactive, Severity::Warn, "4"),
            ],
            // 4: channel 3 went on-chain (closed); 4's peer is back; 5 gets an HTLC near expiry.
            htlc("5"),
            // 5: 5's HTLC resolves.
            Vec::new(),
        ];
        let open = [
            &["1", "2", "3", "4", "5"][..],
            &["1", "2", "3", "4", "5"],
            &["1", "2", "3", "4", "5"],
            &["1", "2", "4", "5"],
            &["1", "2", "4", "5"],
        ];
        let mut previous: Vec<Alert> = Vec::new();
        let mut lines = Vec::new();
        for (alerts, open) in cycles.iter().zip(open) {
            let still_open = |chan: ChanId| open.contains(&chan.to_string().as_str());
            lines.push(emit("node", &previous, alerts, still_open));
            previous = alerts.clone();
        }
        let e = |logged, htlcs_resolved, warnings_changed| Emitted {
            logged,
            htlcs_resolved,
            warnings_changed,
        };
        assert_eq!(
            lines,
            [
                e(0, 0, 4), // four channels' warnings raised: counted, not seven lines
                e(1, 2, 0), // 3 escalated to an error; 1 and 2 resolved in time
                e(0, 0, 0),
                e(1, 0, 2), // 3 cleared (closed: news); 4 cleared and 5 raised, warnings
                e(0, 1, 0), // 5 resolved in time
            ]
        );
    }
}
