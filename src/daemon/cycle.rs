//! One cycle of the daemon: snapshot, analyse against the previous plan's digest, log alert
//! transitions, and write the plan when the write rule ([`WriteWhen`]) says so.

use std::sync::Arc;

use crate::analyze::analyze;
use crate::lnd::error::LndError;
use crate::lnd::source::NodeSource;
use crate::plan::{Action, Alert, AlertCode, LndSupport, Plan, PlanDigest, Severity};
use crate::settings::Settings;
use crate::sink::alerts;
use crate::sink::plan_file::{PlanFileError, PlanFileWriter};

/// What one successful cycle produced.
#[derive(Debug)]
pub struct CycleReport {
    pub plan: Plan,
    /// `None` when writing the plan failed; the error is logged and the old files stay.
    pub write_error: Option<PlanFileError>,
    /// The alert transitions logged, and the resolved HTLCs counted instead.
    pub journal: alerts::Emitted,
    /// Whether the plan went to disk (or was tried): see [`WriteWhen`].
    pub written: bool,
}

/// When a cycle writes its plan.
#[derive(Debug, Clone, Copy)]
pub enum WriteWhen<'a> {
    /// Every cycle (`dustwatch once`).
    Always,
    /// Only when the plan is news to whoever reads the plan on disk ([`plan_is_news`]), or
    /// that plan is `output.plan_refresh` old; `None` when no plan was written yet (or the
    /// last write failed), which writes. The daemon's way: a small disk is not rewritten every
    /// minute because an HTLC came and went.
    Changed {
        last_written: Option<&'a WrittenPlan>,
    },
}

/// Actions from this priority up are urgent ("act now", see docs/plan-schema.md).
pub const URGENT_PRIORITY: u8 = 7;

/// What the plan on disk told its reader, kept after each write so the next plans are
/// compared with what is on disk, not with the previous cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct WrittenPlan {
    /// The written plan's snapshot time (Unix seconds).
    pub at_unix: i64,
    /// Every action's id, sorted.
    action_ids: Vec<Arc<str>>,
    /// The node-wide alerts, as (code, severity), sorted.
    node_alerts: Vec<(AlertCode, Severity)>,
}

impl WrittenPlan {
    pub fn of(plan: &Plan) -> Self {
        let mut action_ids: Vec<Arc<str>> = plan
            .all_actions()
            .into_iter()
            .map(|a| Arc::clone(&a.id))
            .collect();
        action_ids.sort_unstable();
        WrittenPlan {
            at_unix: plan.source.taken_at_unix,
            action_ids,
            node_alerts: node_alerts(&plan.alerts),
        }
    }
}

/// A plan is news against the written one when a node-wide alert appeared, went or changed
/// severity, or an urgent action appeared ([`is_urgent_news`]). Everything else (actions that
/// can wait, or that went away; a channel's alerts, whose errors the journal carries at once)
/// reaches `latest.json` at the next refresh. On a busy node HTLCs come and go every minute and
/// with them hold-off advice, dust alerts and policy advice; writing the plan for each would
/// rewrite megabytes a minute.
pub fn plan_is_news(plan: &Plan, written: &WrittenPlan, previous: Option<&PlanDigest>) -> bool {
    node_alerts(&plan.alerts) != written.node_alerts
        || plan
            .all_actions()
            .into_iter()
            .any(|a| is_urgent_news(a, written, previous))
}

/// An action that needs the operator now and that the plan on disk lacks: priority at least
/// [`URGENT_PRIORITY`], something to run (advisory hold-off advice follows HTLC alerts, which
/// the journal carries), and already in the previous cycle's plan, so that a situation that
/// lasted one cycle does not rewrite the file.
fn is_urgent_news(action: &Action, written: &WrittenPlan, previous: Option<&PlanDigest>) -> bool {
    action.priority >= URGENT_PRIORITY
        && action.lnd_support != LndSupport::Advisory
        && written.action_ids.binary_search(&action.id).is_err()
        && previous.is_some_and(|p| p.action_ids().binary_search(&action.id).is_ok())
}

fn node_alerts(alerts: &[Alert]) -> Vec<(AlertCode, Severity)> {
    let mut keys: Vec<_> = alerts
        .iter()
        .filter(|a| a.chan_id.is_none())
        .map(|a| (a.code, a.severity))
        .collect();
    keys.sort_unstable();
    keys
}

/// Runs one cycle: snapshot, analyse against `previous` (the digest of the previous plan),
/// write the plan, log alert transitions.
///
/// A plan that cannot be written is still returned (alerts are logged from it) together with
/// the write error; only an LND failure means no plan at all.
pub async fn run_cycle<S: NodeSource>(
    source: &mut S,
    settings: &Settings,
    writer: &PlanFileWriter,
    previous: Option<&PlanDigest>,
    node_name: &str,
) -> Result<CycleReport, LndError> {
    run_cycle_writing(
        source,
        settings,
        writer,
        previous,
        node_name,
        WriteWhen::Always,
    )
    .await
}

/// [`run_cycle`], writing the plan only as `when` says.
pub async fn run_cycle_writing<S: NodeSource>(
    source: &mut S,
    settings: &Settings,
    writer: &PlanFileWriter,
    previous: Option<&PlanDigest>,
    node_name: &str,
    when: WriteWhen<'_>,
) -> Result<CycleReport, LndError> {
    let snapshot = source.fetch_snapshot().await?;
    let plan = analyze(&snapshot, &settings.analysis, previous);
    let taken_at_unix = snapshot.taken_at_unix;
    drop(snapshot);
    let previous_alerts = previous.map_or(&[][..], PlanDigest::alerts);
    let open = &plan.channels;
    let journal = alerts::emit(node_name, previous_alerts, &plan.alerts, |chan| {
        open.binary_search_by_key(&chan, |c| c.chan_id).is_ok()
    });
    let written = match when {
        WriteWhen::Always => true,
        WriteWhen::Changed { last_written } => {
            let refresh = i64::try_from(settings.output.plan_refresh.as_secs()).unwrap_or(i64::MAX);
            last_written.is_none_or(|written| {
                taken_at_unix.saturating_sub(written.at_unix) >= refresh
                    || plan_is_news(&plan, written, previous)
            })
        }
    };
    if !written {
        tracing::debug!("plan unchanged; latest.json kept");
        return Ok(CycleReport {
            plan,
            write_error: None,
            journal,
            written,
        });
    }
    let write_error = match writer.write(&plan, taken_at_unix) {
        Ok(written) => {
            for failure in &written.prune_failures {
                tracing::warn!(error = %failure, "could not prune an old plan file");
            }
            if !written.stale_temps_removed.is_empty() {
                tracing::info!(
                    dir = %writer.dir().display(),
                    removed = written.stale_temps_removed.len(),
                    "removed temporary plan files left by a killed writer"
                );
            }
            if !written.pruned_for_room.is_empty() {
                tracing::warn!(
                    dir = %writer.dir().display(),
                    removed = written.pruned_for_room.len(),
                    keep_plans = writer.keep_plans(),
                    "disk full: removed the oldest plan files to make room, then wrote the plan; \
                     free space or lower output.keep_plans"
                );
            }
            tracing::debug!(path = %written.latest.display(), "plan written");
            None
        }
        Err(err) => {
            tracing::error!(error = %err, "could not write the plan; the previous plan files are kept");
            Some(err)
        }
    };
    Ok(CycleReport {
        plan,
        write_error,
        journal,
        written,
    })
}

/// Removes temporary plan files a killed writer left behind (SIGKILL, OOM, watchdog), logging
/// what it did; a live writer's (a concurrent `dustwatch once`) are left alone.
pub(super) fn remove_stale_temps(writer: &PlanFileWriter) {
    let (removed, failures) = writer.remove_stale_temps();
    if !removed.is_empty() {
        tracing::info!(
            dir = %writer.dir().display(),
            removed = removed.len(),
            "removed temporary plan files left by a killed writer"
        );
    }
    for failure in failures {
        tracing::warn!(error = %failure, "could not remove a stale temporary plan file");
    }
}
