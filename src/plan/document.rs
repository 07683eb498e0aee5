//! The plan as a JSON document: schema v3 written, v1, v2 and v3 read (docs/plan-schema.md).
//!
//! v2 lists each action once, in the top-level `actions` (in action order); `priority_actions`
//! and each channel's `recommendations.action_ids` name them by id. An action's words
//! (formulas, rationale, LND note, prerequisites, alternatives) are written for the
//! `priority_actions` only; every action keeps its commands, which scripts run. Channel sections
//! leave out zeros, `false`, empty lists and `null`, HTLC rows with nothing to say and fee-spike
//! rows that stay under the limit (see `channel`), and figures that follow exactly from others
//! in the plan, which reading fills back (see `derived`).
//!
//! v3 also leaves out what follows exactly from the rest of the plan, wherever it does: an
//! action's usual fields (`action`), a channel's and its commitments' derivable figures
//! (`channel_doc`, `dust_doc`), an alert's words and HTLC figures (`alert_doc`). Reading fills
//! them back in order: channels (their rows and commitments), then actions (whose priority
//! comes from their channels), then what channels take from their actions, then alerts.
//!
//! Reading resolves the ids back into actions, so `plan show`, `plan diff` and the start-up
//! digest see one [`Plan`] whichever version the file has.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::action::{ActionDoc, ActionRecord, ActionRef};
use super::alert_doc::{AlertContext, AlertDoc, AlertRecord};
use super::channel_doc::{ChannelContext, ChannelDoc, ChannelRecord};
use super::{
    action_order, Action, Changes, ChannelPlan, Plan, PlanSource, Summary, PRIORITY_ACTIONS_LIMIT,
    SCHEMA_VERSION,
};
use crate::model::ChanId;

/// A plan as schema v3 lays it out, borrowing from the plan.
#[derive(Serialize)]
struct PlanView<'a> {
    schema_version: u32,
    generated_at: &'a str,
    source: &'a PlanSource,
    summary: &'a Summary,
    actions: Vec<ActionDoc<'a>>,
    priority_actions: Vec<&'a str>,
    alerts: Vec<AlertDoc<'a>>,
    changes: &'a Changes,
    channels: Vec<ChannelDoc<'a>>,
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
        // What an absent `recommendations.action_ids` reads as: the actions naming the channel.
        let mut named: BTreeMap<ChanId, Vec<&str>> = BTreeMap::new();
        for action in &actions {
            for chan_id in &action.chan_ids {
                named.entry(*chan_id).or_default().push(&action.id);
            }
        }
        let channels = &self.channels[..];
        let actions = actions
            .into_iter()
            .map(|action| ActionDoc {
                action,
                words: priority_actions.contains(&&*action.id),
                channels: Some(channels),
            })
            .collect();
        let alert_context = AlertContext {
            channels,
            htlc_expiry: self.source.htlc_expiry,
        };
        let channel_context = ChannelContext {
            block_height: self.source.block_height,
            htlc_expiry: self.source.htlc_expiry,
        };
        PlanView {
            schema_version: SCHEMA_VERSION,
            generated_at: &self.generated_at,
            source: &self.source,
            summary: &self.summary,
            actions,
            priority_actions,
            alerts: self
                .alerts
                .iter()
                .map(|alert| AlertDoc {
                    alert,
                    context: alert_context,
                })
                .collect(),
            changes: &self.changes,
            channels: channels
                .iter()
                .map(|channel| ChannelDoc {
                    channel,
                    context: channel_context,
                    action_ids: named.get(&channel.chan_id).map_or(&[], Vec::as_slice),
                })
                .collect(),
        }
        .serialize(serializer)
    }
}

/// A plan document of any version, as read.
#[derive(Deserialize)]
pub(super) struct PlanRecord {
    schema_version: u32,
    generated_at: String,
    source: PlanSource,
    summary: Summary,
    channels: Vec<ChannelRecord>,
    /// v2 and v3.
    #[serde(default)]
    actions: Vec<ActionRecord>,
    priority_actions: Vec<ActionRef>,
    alerts: Vec<AlertRecord>,
    changes: Changes,
}

impl TryFrom<PlanRecord> for Plan {
    type Error = String;

    fn try_from(record: PlanRecord) -> Result<Self, Self::Error> {
        let v2 = record.schema_version >= 2;
        let v3 = record.schema_version >= 3;
        let source = record.source;
        let channel_context = ChannelContext {
            block_height: source.block_height,
            htlc_expiry: source.htlc_expiry,
        };
        let mut read = record
            .channels
            .into_iter()
            .map(|c| c.into_channel(v3, channel_context))
            .collect::<Result<Vec<_>, _>>()?;
        // A v3 action takes its implementation priority from its channels (read above).
        let by_id: BTreeMap<Arc<str>, Action> = {
            let priority_of = |chan_id: ChanId| {
                let at = read
                    .binary_search_by_key(&chan_id, |r| r.channel.chan_id)
                    .ok()?;
                Some(read[at].channel.recommendations.implementation_priority)
            };
            let mut by_id = BTreeMap::new();
            let mut ordered = Vec::with_capacity(record.actions.len());
            for action in record.actions {
                let action = action.into_action(Some(&priority_of))?;
                ordered.push(Arc::clone(&action.id));
                by_id.insert(Arc::clone(&action.id), action);
            }
            if v3 {
                // Channels whose `action_ids` were left out: the actions naming them, in order.
                let at = |chan_id: &ChanId| {
                    read.binary_search_by_key(chan_id, |r| r.channel.chan_id)
                        .ok()
                };
                let mut named: Vec<Vec<Arc<str>>> = vec![Vec::new(); read.len()];
                for id in &ordered {
                    if let Some(action) = by_id.get(id) {
                        for chan_id in &action.chan_ids {
                            if let Some(i) = at(chan_id) {
                                named[i].push(Arc::clone(id));
                            }
                        }
                    }
                }
                for (r, ids) in read.iter_mut().zip(named) {
                    if r.action_ids_left_out {
                        r.channel.recommendations.actions =
                            ids.into_iter().map(Action::named).collect();
                    }
                }
            }
            by_id
        };
        let resolve = |r: ActionRef| match r {
            ActionRef::Whole(action) => Ok(*action),
            ActionRef::Id(id) => by_id
                .get(&id)
                .cloned()
                .ok_or_else(|| format!("action `{id}` is named but not in `actions`")),
        };
        if v2 {
            let limit = source.exposure_limit;
            for r in &mut read {
                let channel = &mut r.channel;
                channel.dust.max_fee_exposure_sat = limit.max_fee_exposure_sat;
                channel.dust.exposure_limit_source = limit.source;
                for action in &mut channel.recommendations.actions {
                    *action = resolve(ActionRef::Id(Arc::clone(&action.id)))?;
                }
                r.fill_from_actions();
                r.channel
                    .fill_derived(limit.max_fee_exposure_sat, source.block_height);
            }
        }
        let channels: Vec<ChannelPlan> = read.into_iter().map(|r| r.channel).collect();
        let alert_context = AlertContext {
            channels: &channels,
            htlc_expiry: source.htlc_expiry,
        };
        let alerts = record
            .alerts
            .into_iter()
            .map(|a| a.into_alert(alert_context))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Plan {
            schema_version: record.schema_version,
            generated_at: record.generated_at,
            source,
            summary: record.summary,
            priority_actions: record
                .priority_actions
                .into_iter()
                .map(resolve)
                .collect::<Result<_, _>>()?,
            channels,
            alerts,
            changes: record.changes,
        })
    }
}
