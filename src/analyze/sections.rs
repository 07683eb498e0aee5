//! The per-channel sections of the plan: each channel's figures, notes, flow and the actions
//! routed to it.

use rayon::prelude::*;

use crate::dust::DustParams;
use crate::plan::{
    action_order, ratio, Action, ChannelFlowReport, ChannelPlan, FlowFigures, PlanDigest,
    Recommendations,
};
use crate::settings::AnalysisSettings;

use super::flow::FlowFacts;
use super::node_actions::{NodeActions, Routes};
use super::summary::share;
use super::{health, observations, policy, report, splice, ChannelView};

/// What a channel section's `fee_rate` memory is built from besides the channel.
#[derive(Clone, Copy)]
pub(super) struct FeeContext<'a> {
    pub(super) previous: Option<&'a PlanDigest>,
    pub(super) now_unix: i64,
}

/// Per-channel sections, one per view, each with a copy of the actions [`Routes`] gives it.
///
/// The views are consumed: what the dust engine computed per HTLC and per fee spike moves into
/// the plan's types (same layout, so the lists are converted in place, not copied).
pub(super) fn channel_plans(
    views: Vec<ChannelView<'_>>,
    actions: &NodeActions,
    routes: &Routes,
    params: &DustParams,
    settings: &AnalysisSettings,
    fees: FeeContext<'_>,
) -> Vec<ChannelPlan> {
    views
        .into_par_iter()
        .enumerate()
        .map(|(i, mut view)| {
            let mut own: Vec<Action> = routes.actions_of(i, actions).cloned().collect();
            // The node-wide order restricted to this channel: `action_order`, ties by position
            // in `actions` (a stable sort of a handful of actions, in place).
            own.sort_by(action_order);
            let fee_rate =
                policy::fee_rate_memory(view.channel, &own, settings, fees.previous, fees.now_unix);
            let mut notes = channel_notes(&view, settings);
            let mut issues = std::mem::take(&mut view.health.issues);
            notes.extend(observations::demote(&mut issues, &view, &own, settings));
            view.health.issues = issues;
            let recommendations = recommendations(&view, own);
            let flow = view.flow.map(|f| flow_report(&f, view.age_secs));
            let ChannelView {
                channel: ch,
                mut dust,
                health,
                ..
            } = view;
            let fee_spike = std::mem::take(&mut dust.fee_spike);
            let dust_report = report::dust_report(&dust, fee_spike, params.exposure_limit_source);
            let force_close = report::force_close_report(&dust);
            ChannelPlan {
                chan_id: ch.chan_id,
                channel_point: ch.channel_point.clone(),
                peer_pubkey: ch.remote_pubkey.clone(),
                peer_alias: ch.peer_alias.clone(),
                active: ch.active,
                private: ch.private,
                initiator: ch.initiator,
                commitment_type: ch.commitment_type,
                capacity_sat: ch.capacity_sat,
                local_balance_sat: ch.local_balance_sat,
                remote_balance_sat: ch.remote_balance_sat,
                commit_fee_sat: ch.commit_fee_sat,
                health,
                dust: dust_report,
                htlcs: report::htlc_reports(dust.htlcs),
                force_close,
                recommendations,
                warnings: dust.warnings,
                flow,
                notes,
                fee_rate,
            }
        })
        .collect()
}

/// The plan's figures of a channel's windowed flow.
fn flow_report(flow: &FlowFacts, age_secs: Option<u64>) -> ChannelFlowReport {
    let figures = |f: &crate::model::ChannelFlow| FlowFigures {
        out_sat: f.routed_out_msat / 1000,
        in_sat: f.routed_in_msat / 1000,
        fee_msat: f.fee_earned_msat,
        forwards: f.forwards_out.saturating_add(f.forwards_in),
    };
    ChannelFlowReport {
        days: ratio(flow.judged_secs as f64 / 86_400.0),
        window: figures(&flow.window),
        long: figures(&flow.long),
        age_days: age_secs.map(|a| u32::try_from(a / 86_400).unwrap_or(u32::MAX)),
    }
}

/// Observations on a channel that are not actions: they have no countable benefit.
fn channel_notes(view: &ChannelView<'_>, settings: &AnalysisSettings) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(note) = policy::max_htlc_note(view) {
        notes.push(note);
    }
    if let Some(note) = splice::idle_capital_note(view, settings) {
        notes.push(note);
    }
    if view.flow.is_some() && !health::old_enough(view.age_secs, settings) {
        notes.push(format!(
            "younger than analysis.min_channel_age ({} days): not judged on flow or uptime yet",
            settings.min_channel_age.as_secs() / 86_400
        ));
    }
    notes
}

/// The dust a channel's own actions keep from miners, at most what it holds now.
fn dust_recoverable_sat<'a>(
    view: &ChannelView<'_>,
    actions: impl IntoIterator<Item = &'a Action>,
) -> u64 {
    let impact: u64 = actions
        .into_iter()
        .map(|a| u64::try_from(a.dust_impact_sat).unwrap_or(0))
        .fold(0, u64::saturating_add);
    impact.min(health::dust_at_stake_sat(&view.dust))
}

/// The per-channel recommendation block.
fn recommendations(view: &ChannelView<'_>, actions: Vec<Action>) -> Recommendations {
    let at_stake = health::dust_at_stake_sat(&view.dust);
    let recoverable = dust_recoverable_sat(view, &actions);
    let cost = actions
        .iter()
        .map(|a| a.expected_cost_sat)
        .fold(0, u64::saturating_add);
    let benefit = actions
        .iter()
        .map(|a| a.expected_benefit_sat)
        .fold(0, u64::saturating_add);
    Recommendations {
        implementation_priority: view.implementation_priority,
        actions,
        dust_at_stake_sat: at_stake,
        dust_recoverable_sat: recoverable,
        dust_optimization_potential: share(recoverable, at_stake),
        expected_cost_sat: cost,
        expected_benefit_sat: benefit,
        cost_benefit_ratio: (benefit > 0).then(|| ratio(cost as f64 / benefit as f64)),
    }
}
