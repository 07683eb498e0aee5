//! The plan as a JSON document: schema v2 written, v1 and v2 read (docs/plan-schema.md).
//!
//! v2 lists each action once, in the top-level `actions` (in action order); `priority_actions`
//! and each channel's `recommendations.action_ids` name them by id. An action's words
//! (formulas, rationale, LND note, prerequisites, alternatives) are written for the
//! `priority_actions` only; every action keeps its commands, which scripts run. Channel sections
//! leave out zeros, `false`, empty lists and `null`, HTLC rows with nothing to say and fee-spike
//! rows that stay under the limit (see `channel`), and figures that follow exactly from others
//! in the plan, which reading fills back (see `derived`).
//!
//! Reading resolves the ids back into actions, so `plan show`, `plan diff` and the start-up
//! digest see one [`Plan`] whichever version the file has.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::action::ActionDoc;
use super::{
    action_order, Action, Alert, Changes, ChannelPlan, Plan, PlanSource, Summary,
    PRIORITY_ACTIONS_LIMIT, SCHEMA_VERSION,
};

/// A plan as schema v2 lays it out, borrowing from the plan.
#[derive(Serialize)]
struct PlanView<'a> {
    schema_version: u32,
    generated_at: &'a str,
    source: &'a PlanSource,
    summary: &'a Summary,
    actions: Vec<ActionDoc<'a>>,
    priority_actions: Vec<&'a str>,
    alerts: &'a [Alert],
    changes: &'a Changes,
    channels: &'a [ChannelPlan],
}

impl Serialize for Plan {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut actions = self.all_actions();
        actions.sort_by(|a, b| action_order(a, b));
        let priority_actions: Vec<&str> = self
            .priority_actions
            .iter()
            .take(PRIORITY_ACTIONS_LIMIT)
            .map(|a| &*a.id)
            .collect();
        let actions = actions
            .into_iter()
            .map(|action| ActionDoc {
                action,
                words: priority_actions.contains(&&*action.id),
            })
            .collect();
        PlanView {
            schema_version: SCHEMA_VERSION,
            generated_at: &self.generated_at,
            source: &self.source,
            summary: &self.summary,
            actions,
            priority_actions,
            alerts: &self.alerts,
            changes: &self.changes,
            channels: &self.channels,
        }
        .serialize(serializer)
    }
}

/// An action where a plan names one: the whole action (v1) or its id (v2).
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum ActionRef {
    Id(Arc<str>),
    Whole(Box<Action>),
}

/// A plan document of either version, as read.
#[derive(Deserialize)]
pub(super) struct PlanRecord {
    schema_version: u32,
    generated_at: String,
    source: PlanSource,
    summary: Summary,
    channels: Vec<ChannelPlan>,
    /// v2 only.
    #[serde(default)]
    actions: Vec<Action>,
    priority_actions: Vec<ActionRef>,
    alerts: Vec<Alert>,
    changes: Changes,
}

impl TryFrom<PlanRecord> for Plan {
    type Error = String;

    fn try_from(record: PlanRecord) -> Result<Self, Self::Error> {
        let by_id: BTreeMap<Arc<str>, Action> = record
            .actions
            .into_iter()
            .map(|a| (Arc::clone(&a.id), a))
            .collect();
        let resolve = |r: ActionRef| match r {
            ActionRef::Whole(action) => Ok(*action),
            ActionRef::Id(id) => by_id
                .get(&id)
                .cloned()
                .ok_or_else(|| format!("action `{id}` is named but not in `actions`")),
        };
        let v2 = record.schema_version >= 2;
        let mut channels = record.channels;
        if v2 {
            let limit = record.source.exposure_limit;
            for channel in &mut channels {
                channel.dust.max_fee_exposure_sat = limit.max_fee_exposure_sat;
                channel.dust.exposure_limit_source = limit.source;
                for action in &mut channel.recommendations.actions {
                    *action = resolve(ActionRef::Id(Arc::clone(&action.id)))?;
                }
                channel.fill_derived(limit.max_fee_exposure_sat, record.source.block_height);
            }
        }
        Ok(Plan {
            schema_version: record.schema_version,
            generated_at: record.generated_at,
            source: record.source,
            summary: record.summary,
            channels,
            priority_actions: record
                .priority_actions
                .into_iter()
                .map(resolve)
                .collect::<Result<_, _>>()?,
            alerts: record.alerts,
            changes: record.changes,
        })
    }
}

/// A channel's actions as read: whole actions (v1), or ids (v2) that stand for the action of
/// the top-level `actions` until [`PlanRecord`] resolves them.
pub(super) fn deserialize_action_list<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<Action>, D::Error> {
    let refs = Vec::<ActionRef>::deserialize(d)?;
    Ok(refs
        .into_iter()
        .map(|r| match r {
            ActionRef::Whole(action) => *action,
            ActionRef::Id(id) => Action::named(id),
        })
        .collect())
}

/// A channel's actions as v2 writes them: their ids.
pub(super) fn serialize_action_ids<S: serde::Serializer>(
    actions: &[Action],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(actions.iter().map(|a| &*a.id))
}
