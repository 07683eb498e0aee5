//! The analyzer: one pure function from a [`NodeSnapshot`] to a [`Plan`].
//!
//! No I/O and no clock: the plan's time is the snapshot's, and every list is ordered by a total
//! order, so the same snapshot, settings and previous plan always give the same bytes.
//!
//! Per channel the dust engine ([`crate::dust`]) says what is trimmed and what a force close
//! costs; [`health`] scores the channel. Then each recommender looks at the whole node:
//! * [`rebalance`] pairs channels with surplus local balance with channels short of it;
//! * [`policy`] suggests fee and `max_htlc` changes where no rebalance pair helps;
//! * [`splice`] suggests capacity changes, with the LND route since LND cannot splice;
//! * [`dust_strategy`] raises `min_htlc` above the trim threshold, warns against force closes
//!   while dust is pending and fits `channel-max-fee-exposure` to the node;
//! * [`close`] recommends closing dead weight, with cooperative vs force-close cost.
//!
//! [`alerts`] turns what needs attention now into coded alerts, and this module assembles the
//! plan: per-channel recommendations, the node's top actions, the summary, and the changes
//! since the previous plan.
//!
//! # The previous plan is a digest
//!
//! design.md §1 names the signature `analyze(&NodeSnapshot, &Settings, previous: Option<&Plan>)`.
//! Here `previous` is an `Option<&PlanDigest>` ([`crate::plan::digest`]): the analyzer only ever
//! read the previous plan's action ids, `generated_at`, the channels whose HTLC rows showed
//! outgoing dust and each channel's `fee_rate` memory, and a 10,000-channel plan is ~60 MB in
//! memory (~100 MB of JSON) against a digest of a few MB. So the daemon keeps the digest between cycles and streams it from
//! `latest.json` at start, never holding the previous plan itself; a caller that has a plan
//! passes [`PlanDigest::of`] it. The output is the same bytes as with the whole plan.

pub mod alerts;
pub mod close;
pub mod dust_strategy;
pub mod flow;
pub mod health;
pub mod link_failures;
mod names;
pub mod policy;
pub mod rebalance;
mod report;
pub mod splice;
#[cfg(test)]
pub(crate) mod testkit;

use std::sync::Arc;

use rayon::prelude::*;
use std::time::{Duration, UNIX_EPOCH};

use crate::dust::{channel_dust, ChannelDust, DustParams};
use crate::model::{ChanId, Channel, ForwardingFlow, NodeSnapshot, PendingKind};
use crate::plan::render::group_thousands;
use crate::plan::Wording;
use crate::plan::{
    action_id, action_order, first_with_ids_in, ratio, Action, ActionKind, AlertCounts, ChanIds,
    Changes, ChannelFlowReport, ChannelPlan, Complexity, ExposureLimit, FlowFigures, Health,
    HealthStatus, LndSupport, PendingCounts, Plan, PlanDigest, PlanSource, Recommendations,
    Severity, SourceWarning, StatusCounts, Summary, PRIORITY_ACTIONS_LIMIT, SCHEMA_VERSION,
};
use crate::settings::AnalysisSettings;
use flow::{channel_age_secs, FlowFacts};

/// The latest instant `humantime` formats as RFC 3339 (9999-12-31T23:59:59Z).
const MAX_RFC3339_UNIX: u64 = 253_402_300_799;

/// One channel with what the dust engine and the health scoring said about it.
pub struct ChannelView<'a> {
    pub channel: &'a Channel,
    pub dust: ChannelDust,
    pub health: Health,
    pub implementation_priority: u8,
    /// Age from the funding block; `None` when the block height or the scid's height is unknown.
    pub age_secs: Option<u64>,
    /// Windowed forwarding flow; `None` when the snapshot has no forwarding history.
    pub flow: Option<FlowFacts>,
    /// In the node's top half by windowed flow (sat routed in + out): never closed on uptime
    /// alone. Set by the analysis once every channel's flow is known.
    pub top_half_by_flow: bool,
}

impl<'a> ChannelView<'a> {
    /// A channel without forwarding history (flow unknown).
    pub fn new(
        channel: &'a Channel,
        block_height: Option<u32>,
        params: &DustParams,
        settings: &AnalysisSettings,
    ) -> Self {
        Self::with_flow(channel, block_height, params, settings, None)
    }

    pub fn with_flow(
        channel: &'a Channel,
        block_height: Option<u32>,
        params: &DustParams,
        settings: &AnalysisSettings,
        flow: Option<&ForwardingFlow>,
    ) -> Self {
        let dust = channel_dust(channel, block_height, params);
        let age_secs = channel_age_secs(channel.chan_id, block_height);
        let flow = flow.map(|f| FlowFacts::of(f, channel.chan_id, age_secs));
        let health = health::assess_with_flow(channel, &dust, settings, flow.as_ref(), age_secs);
        let implementation_priority = health::implementation_priority(&health);
        ChannelView {
            channel,
            dust,
            health,
            implementation_priority,
            age_secs,
            flow,
            top_half_by_flow: false,
        }
    }

    /// Sat routed in and out in the window (0 without history).
    pub fn routed_msat(&self) -> u64 {
        self.flow.map_or(0, |f| {
            f.window
                .routed_in_msat
                .saturating_add(f.window.routed_out_msat)
        })
    }

    pub fn chan_id(&self) -> ChanId {
        self.channel.chan_id
    }
}

/// An action with the fields every recommender must decide left at neutral values: the id,
/// channels and implementation priority are derived from `views` so they are always consistent.
pub(crate) fn new_action(
    kind: ActionKind,
    views: &[&ChannelView<'_>],
    bucket: Option<&str>,
) -> Action {
    // Inline for the one or two channels an action names: no allocation.
    let chan_ids: ChanIds = views.iter().map(|v| v.chan_id()).collect();
    Action {
        id: action_id(kind, &chan_ids, bucket),
        kind,
        chan_ids,
        priority: 1,
        implementation_priority: views
            .iter()
            .map(|v| v.implementation_priority)
            .max()
            .unwrap_or(0),
        amount_sat: None,
        expected_cost_sat: 0,
        expected_benefit_sat: 0,
        dust_impact_sat: 0,
        complexity: Complexity::Low,
        lnd_support: LndSupport::Native,
        wording: Wording::default(),
    }
}

/// Channels per piece of work in the per-channel passes: big enough that a piece's list is
/// sized once and handing it to a core costs little, small enough that both cores share a
/// 10,000-channel node evenly.
const VIEWS_PER_PIECE: usize = 256;

/// What `f` says of each view (at most one item), on every core, in view order.
///
/// Each piece of views fills a list sized for one item per view, and the pieces are joined
/// once into a list of the exact length: rayon's `filter_map(..).collect()` grows its lists
/// from empty and copies them as they grow, which at 10,000 channels cost more than the
/// recommenders' own work.
pub(crate) fn par_filter_map<'v, 'a, T, F>(views: &'v [ChannelView<'a>], f: F) -> Vec<T>
where
    T: Send,
    F: Fn(&'v ChannelView<'a>) -> Option<T> + Sync,
{
    par_pieces(views, 1, |piece, out| {
        out.extend(piece.iter().filter_map(&f));
    })
}

/// Runs `fill(piece, list)` for each piece of [`VIEWS_PER_PIECE`] views on every core, each
/// piece into a list of its own with room for `per_view` items per view, and joins the lists
/// in view order into one list of the exact length.
pub(crate) fn par_pieces<'v, 'a, T, F>(
    views: &'v [ChannelView<'a>],
    per_view: usize,
    fill: F,
) -> Vec<T>
where
    T: Send,
    F: Fn(&'v [ChannelView<'a>], &mut Vec<T>) + Sync,
{
    let pieces: Vec<Vec<T>> = views
        .par_chunks(VIEWS_PER_PIECE)
        .map(|piece| {
            let mut out = Vec::with_capacity(piece.len() * per_view);
            fill(piece, &mut out);
            out
        })
        .collect();
    let mut all = Vec::with_capacity(pieces.iter().map(Vec::len).sum());
    for piece in pieces {
        all.extend(piece);
    }
    all
}

/// Where each of `buckets` buckets starts when items fall into the buckets `of` lists (each
/// below `buckets`): bucket `b` is `starts[b]..starts[b + 1]`.
fn bucket_starts(buckets: usize, of: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut starts = vec![0usize; buckets + 1];
    for b in of {
        starts[b + 1] += 1;
    }
    for b in 0..buckets {
        starts[b + 1] += starts[b];
    }
    starts
}

/// A stable counting sort: `items` bucket by bucket (`bucket_of` is below `buckets`), each
/// bucket in input order, and where each bucket starts (as [`bucket_starts`]).
pub(crate) fn bucket_sort<T: Copy + Default>(
    items: Vec<T>,
    buckets: usize,
    bucket_of: impl Fn(&T) -> usize,
) -> (Vec<T>, Vec<usize>) {
    let starts = bucket_starts(buckets, items.iter().map(&bucket_of));
    let mut next = starts.clone();
    let mut sorted = vec![T::default(); items.len()];
    for item in items {
        let b = bucket_of(&item);
        sorted[next[b]] = item;
        next[b] += 1;
    }
    (sorted, starts)
}

/// `ceil(amount · ppm / 1e6)` in sat, saturating.
pub(crate) fn ppm_of(amount_sat: u64, ppm: u64) -> u64 {
    let product = u128::from(amount_sat) * u128::from(ppm);
    u64::try_from(product.div_ceil(1_000_000)).unwrap_or(u64::MAX)
}

/// On-chain fee of `weight` at `feerate_per_kw`, rounded down as BOLT 3 does.
pub(crate) fn weight_fee(feerate_per_kw: u64, weight: u64) -> u64 {
    feerate_per_kw.saturating_mul(weight) / 1000
}

/// The snapshot's time as RFC 3339 UTC with seconds (negative or absurd times are clamped).
pub fn rfc3339(unix: i64) -> String {
    let secs = u64::try_from(unix).unwrap_or(0).min(MAX_RFC3339_UNIX);
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
}

/// Analyses one node snapshot into a plan.
///
/// `previous` is the digest of the last plan for the same node: it decides the `changes`
/// section and lets the dust strategies see dust that recurs across cycles.
pub fn analyze(
    snapshot: &NodeSnapshot,
    settings: &AnalysisSettings,
    previous: Option<&PlanDigest>,
) -> Plan {
    // The analysis makes a dozen parallel calls with serial work between them. Called from a
    // thread outside rayon's pool (the daemon's async runtime, a benchmark), each call would be
    // handed to the pool and waited for, and the serial parts would run outside it while the
    // pool's threads spin for work on the same cores; so the whole analysis moves to the pool
    // once (a no-op on a pool thread).
    rayon::scope(|_| analyze_on_pool(snapshot, settings, previous))
}

fn analyze_on_pool(
    snapshot: &NodeSnapshot,
    settings: &AnalysisSettings,
    previous: Option<&PlanDigest>,
) -> Plan {
    let params = DustParams::from_settings(settings, snapshot.node_exposure_limit);
    let block_height = snapshot.node.block_height;
    // Channels are independent until the recommenders pair them: each is assessed on whichever
    // core is free (rayon keeps the order, so the plan does not depend on the scheduling).
    let mut views: Vec<ChannelView<'_>> = snapshot
        .channels
        .par_iter()
        .map(|ch| {
            ChannelView::with_flow(ch, block_height, &params, settings, snapshot.flow.as_ref())
        })
        .collect();
    mark_top_half_by_flow(&mut views);

    // The recommenders and the alerts only read the views. Rebalance matching (and the policy
    // suggestions that depend on it) is one serial pass over the node, so it runs next to the
    // per-channel ones instead of before them.
    let (
        (mut rebalance_and_policy, left_out),
        (mut dust, mut splice, mut close, alerts, mut summary),
    ) = rayon::join(
        || {
            let rebalanced = rebalance::recommend(&views, settings);
            let mut actions = rebalanced.actions;
            actions.extend(policy::recommend(
                &views,
                settings,
                &rebalanced.unmatched,
                previous,
                snapshot.taken_at_unix,
            ));
            (actions, rebalanced.left_out)
        },
        || {
            let ((dust, splice), (close, (alerts, summary))) = rayon::join(
                || {
                    rayon::join(
                        || dust_strategy::recommend(&views, settings, &params, previous),
                        || splice::recommend(&views, settings, snapshot.wallet.as_ref()),
                    )
                },
                || {
                    rayon::join(
                        || close::recommend(&views, settings),
                        || {
                            rayon::join(
                                || alerts::collect(snapshot, &views, settings),
                                || summarize(snapshot, &views),
                            )
                        },
                    )
                },
            );
            (dust, splice, close, alerts, summary)
        },
    );
    // The same order as one recommender after the other: rebalance, policy, splice, dust
    // strategies, close (the sorts below break ties by this position).
    summary.rebalance_actions_left_out = left_out;
    summary.actions_below_min_benefit = keep_worthwhile(&mut rebalance_and_policy, settings)
        + keep_worthwhile(&mut splice, settings)
        + keep_worthwhile(&mut close, settings)
        + keep_dust_worthwhile(&mut dust.actions, &views, settings);
    let actions = NodeActions::new([rebalance_and_policy, splice, dust.actions, close]);

    // The node-wide order and the channel sections only read the actions, and each section
    // puts its few actions in the same order itself: so the ids' sort, `changes` and picking
    // the top actions run next to the routing and the sections instead of before them. The
    // node-wide list itself is never reordered: only its top actions are kept.
    let ((top, recommended_actions, changes), channels) = rayon::join(
        || {
            let (top, ids_now) =
                first_with_ids_in(actions.len(), |p| actions.get(p), PRIORITY_ACTIONS_LIMIT);
            let top = advisories_leave_room(top, &actions);
            (top, count(ids_now.len()), changes(&ids_now, previous))
        },
        || {
            let routes = Routes::new(&views, &actions);
            let fees = FeeContext {
                previous,
                now_unix: snapshot.taken_at_unix,
            };
            channel_plans(views, &actions, &routes, &params, settings, fees)
        },
    );
    // What the sections' own actions keep from miners (a sum of non-negative amounts, so
    // saturating in any order gives the same total).
    let recovery = channels
        .par_iter()
        .map(|c| c.recommendations.dust_recoverable_sat)
        .reduce(|| 0, u64::saturating_add);
    summary.optimization_potential = share(recovery, summary.total_dust_sat);
    summary.estimated_recovery_sat = recovery;
    summary.recommended_max_fee_exposure_sat = dust.recommended_limit_sat;
    summary.alerts = alert_counts(&alerts);
    summary.recommended_actions = recommended_actions;
    let priority_actions = top.iter().map(|&i| actions.get(i).clone()).collect();
    // The sections hold their own copies: the node-wide lists are freed on every core.
    actions.free();

    Plan {
        schema_version: SCHEMA_VERSION,
        generated_at: rfc3339(snapshot.taken_at_unix),
        source: PlanSource {
            kind: snapshot.source.kind.clone(),
            detail: snapshot.source.detail.clone(),
            taken_at_unix: snapshot.taken_at_unix,
            node_pubkey: snapshot.node.identity_pubkey.clone(),
            node_alias: snapshot.node.alias.clone(),
            lnd_version: snapshot.node.version.clone(),
            network: snapshot.node.network.clone(),
            block_height,
            synced_to_chain: snapshot.node.synced_to_chain,
            exposure_limit: ExposureLimit {
                max_fee_exposure_sat: params.max_fee_exposure_sat,
                source: params.exposure_limit_source,
            },
            warnings: snapshot
                .warnings
                .iter()
                .map(|w| SourceWarning {
                    chan_id: w.chan_id,
                    message: w.message.clone(),
                })
                .collect(),
        },
        summary,
        channels,
        priority_actions,
        alerts,
        changes,
    }
}

/// Marks the channels whose windowed flow is at least the node's (upper) median (none without
/// history, and none that routed nothing).
fn mark_top_half_by_flow(views: &mut [ChannelView<'_>]) {
    if views.is_empty() || views.iter().all(|v| v.flow.is_none()) {
        return;
    }
    let mut routed: Vec<u64> = views.iter().map(ChannelView::routed_msat).collect();
    routed.sort_unstable();
    let median = routed[routed.len() / 2];
    for view in views.iter_mut() {
        let mine = view.routed_msat();
        view.top_half_by_flow = mine > 0 && mine >= median;
    }
}

/// At most this many of the priority actions are advisories (nothing to run) while other
/// actions wait: a warning must not crowd out what the operator can do.
const MAX_PRIORITY_ADVISORIES: usize = PRIORITY_ACTIONS_LIMIT / 2;

/// The node's top actions with advisories limited to [`MAX_PRIORITY_ADVISORIES`] places when
/// other actions are left out; `top` is the first actions in action order.
fn advisories_leave_room(top: Vec<usize>, actions: &NodeActions) -> Vec<usize> {
    let advisory = |p: usize| actions.get(p).lnd_support == LndSupport::Advisory;
    let advisories = top.iter().filter(|&&p| advisory(p)).count();
    if advisories <= MAX_PRIORITY_ADVISORIES || top.len() < PRIORITY_ACTIONS_LIMIT {
        return top;
    }
    let others: Vec<usize> = (0..actions.len()).filter(|&p| !advisory(p)).collect();
    let (best_others, _) = first_with_ids_in(
        others.len(),
        |i| actions.get(others[i]),
        PRIORITY_ACTIONS_LIMIT,
    );
    let mut kept: Vec<usize> = best_others.iter().map(|&i| others[i]).collect();
    let advisory_places = PRIORITY_ACTIONS_LIMIT
        .saturating_sub(kept.len())
        .max(MAX_PRIORITY_ADVISORIES);
    kept.truncate(PRIORITY_ACTIONS_LIMIT - advisory_places.min(advisories));
    kept.extend(
        top.iter()
            .copied()
            .filter(|&p| advisory(p))
            .take(advisory_places),
    );
    kept.sort_by(|&a, &b| action_order(actions.get(a), actions.get(b)).then(a.cmp(&b)));
    kept
}

/// The recommenders' lists in node order, read as one list without being copied into one (a
/// big node has ~20,000 actions of ~110 bytes: the copy was a serial pass, into fresh memory,
/// between the recommenders and the sections). Position `p` is the `p`-th action of the
/// lists one after the other.
struct NodeActions {
    lists: [Vec<Action>; 4],
    /// `ends[l]` is the position after list `l`'s last action.
    ends: [usize; 4],
}

impl NodeActions {
    fn new(lists: [Vec<Action>; 4]) -> Self {
        let mut ends = [0; 4];
        let mut end = 0;
        for (l, list) in lists.iter().enumerate() {
            end += list.len();
            ends[l] = end;
        }
        NodeActions { lists, ends }
    }

    fn len(&self) -> usize {
        self.ends[3]
    }

    /// The action at position `p` (below [`NodeActions::len`]).
    fn get(&self, p: usize) -> &Action {
        let l = self.ends.partition_point(|&end| end <= p);
        let start = if l == 0 { 0 } else { self.ends[l - 1] };
        &self.lists[l][p - start]
    }

    fn iter(&self) -> impl Iterator<Item = &Action> {
        self.lists.iter().flatten()
    }

    /// Drops every action, on every core.
    fn free(self) {
        for list in self.lists {
            list.into_par_iter().with_min_len(1024).for_each(drop);
        }
    }
}

/// Which actions each view's section lists: every action goes to the section of each channel
/// it names (a rebalance to two), in the order of the list routed.
///
/// Kept as positions in that list, grouped by view (one flat list and where each view's part
/// starts), so routing moves no action: the sections clone theirs, which for an action is a few
/// reference counts, on every core. The first view with a given channel id receives that
/// channel's actions.
struct Routes {
    /// `positions[starts[v]..starts[v + 1]]` are view `v`'s actions, ascending.
    starts: Vec<usize>,
    positions: Vec<usize>,
}

impl Routes {
    fn new(views: &[ChannelView<'_>], actions: &NodeActions) -> Self {
        let index = ViewIndex::new(views);
        // (view, action) in node order; then a counting sort by view keeps that order.
        let mut pairs: Vec<(usize, usize)> = Vec::with_capacity(actions.len() + actions.len() / 4);
        for (position, action) in actions.iter().enumerate() {
            pairs.extend(
                action
                    .chan_ids
                    .iter()
                    .filter_map(|id| index.find(*id).map(|v| (v, position))),
            );
        }
        let (pairs, starts) = bucket_sort(pairs, views.len(), |&(view, _)| view);
        let positions = pairs.into_iter().map(|(_, position)| position).collect();
        Routes { starts, positions }
    }

    /// The positions in the node-wide list of view `view`'s actions.
    fn of(&self, view: usize) -> &[usize] {
        &self.positions[self.starts[view]..self.starts[view + 1]]
    }

    fn actions_of<'a>(
        &'a self,
        view: usize,
        actions: &'a NodeActions,
    ) -> impl Iterator<Item = &'a Action> + Clone + 'a {
        self.of(view).iter().map(move |&p| actions.get(p))
    }
}

/// Finds the view of a channel id: the first view with that id.
enum ViewIndex {
    /// The views are in id order, as a normalized snapshot lists its channels: their ids are
    /// copied into a compact list (8 bytes an id, where a view is a few hundred bytes), with
    /// where each of ~`len` equal slices of the id range starts in it, so a lookup searches
    /// the few ids of one slice instead of the whole list.
    InOrder {
        ids: Vec<ChanId>,
        /// `ids[starts[b]..starts[b + 1]]` are the ids whose bucket is `b`.
        starts: Vec<usize>,
        /// An id's bucket is `(id - ids[0]) >> shift`.
        shift: u32,
    },
    /// Views in another order: (id, position) pairs sorted, so a repeated id finds its first
    /// view.
    Sorted(Vec<(ChanId, usize)>),
}

impl ViewIndex {
    fn new(views: &[ChannelView<'_>]) -> Self {
        if !views.is_sorted_by_key(ChannelView::chan_id) {
            let mut by_id: Vec<(ChanId, usize)> = views
                .iter()
                .enumerate()
                .map(|(i, v)| (v.chan_id(), i))
                .collect();
            by_id.sort_unstable();
            return ViewIndex::Sorted(by_id);
        }
        let ids: Vec<ChanId> = views.iter().map(ChannelView::chan_id).collect();
        let (first, last) = match (ids.first(), ids.last()) {
            (Some(&first), Some(&last)) => (first, last),
            _ => (0, 0),
        };
        // As many buckets as ids (a power of two), the range of ids shifted into them.
        let buckets = ids.len().max(1).next_power_of_two();
        let span_bits = u64::BITS - (last - first).leading_zeros();
        let shift = span_bits.saturating_sub(buckets.trailing_zeros());
        // Below `buckets`: `(last - first) >> shift` has at most log2(buckets) bits.
        let starts = bucket_starts(
            buckets,
            ids.iter().map(|id| ((id - first) >> shift) as usize),
        );
        ViewIndex::InOrder { ids, starts, shift }
    }

    fn find(&self, id: ChanId) -> Option<usize> {
        match self {
            ViewIndex::InOrder { ids, starts, shift } => {
                let first = *ids.first()?;
                if id < first || id > *ids.last()? {
                    return None;
                }
                let bucket = ((id - first) >> shift) as usize;
                let (from, to) = (starts[bucket], starts[bucket + 1]);
                let slice = &ids[from..to];
                let at = slice.partition_point(|c| *c < id);
                (slice.get(at) == Some(&id)).then_some(from + at)
            }
            ViewIndex::Sorted(by_id) => {
                let at = by_id.partition_point(|(c, _)| *c < id);
                by_id.get(at).filter(|(c, _)| *c == id).map(|(_, v)| *v)
            }
        }
    }
}

/// What a channel section's `fee_rate` memory is built from besides the channel.
#[derive(Clone, Copy)]
struct FeeContext<'a> {
    previous: Option<&'a PlanDigest>,
    now_unix: i64,
}

/// Per-channel sections, one per view, each with a copy of the actions [`Routes`] gives it.
///
/// The views are consumed: what the dust engine computed per HTLC and per fee spike moves into
/// the plan's types (same layout, so the lists are converted in place, not copied).
fn channel_plans(
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
        .map(|(i, view)| {
            let mut own: Vec<Action> = routes.actions_of(i, actions).cloned().collect();
            // The node-wide order restricted to this channel: `action_order`, ties by position
            // in `actions` (a stable sort of a handful of actions, in place).
            own.sort_by(action_order);
            let fee_rate =
                policy::fee_rate_memory(view.channel, &own, settings, fees.previous, fees.now_unix);
            let recommendations = recommendations(&view, own);
            let notes = channel_notes(&view, settings);
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

/// `part / whole` rounded for the plan, 0 when `whole` is 0.
fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        ratio(part as f64 / whole as f64)
    }
}

/// The node-wide summary of what the views and the snapshot say. It runs beside the
/// recommenders, so what depends on their results is left at zero for the caller to set:
/// `recommended_actions` (the node-wide list's distinct ids), `estimated_recovery_sat` and
/// `optimization_potential` (the channel sections), `recommended_max_fee_exposure_sat` (the
/// dust strategies) and `alerts` ([`alert_counts`]).
///
/// One pass over the views: each is a few hundred bytes, and a pass per total would read all
/// of them again from memory for each.
fn summarize(snapshot: &NodeSnapshot, views: &[ChannelView<'_>]) -> Summary {
    #[derive(Default)]
    struct Totals {
        capacity: u64,
        local: u64,
        remote: u64,
        dust: u64,
        active: usize,
        score: f64,
    }
    let mut totals = Totals::default();
    let mut by_status = StatusCounts::default();
    // The first channel with the highest exposure (views are sorted by chan_id).
    let mut highest: Option<(ChanId, u64)> = None;
    for v in views {
        let ch = v.channel;
        totals.capacity = totals.capacity.saturating_add(ch.capacity_sat);
        totals.local = totals.local.saturating_add(ch.local_balance_sat);
        totals.remote = totals.remote.saturating_add(ch.remote_balance_sat);
        totals.dust = totals
            .dust
            .saturating_add(health::dust_at_stake_sat(&v.dust));
        totals.active += usize::from(ch.active);
        totals.score += v.health.health_score;
        let exposure = v.dust.max_fee_exposure_now_sat();
        if highest.is_none_or(|(_, e)| exposure > e) {
            highest = Some((v.chan_id(), exposure));
        }
        match v.health.status {
            HealthStatus::Healthy => by_status.healthy += 1,
            HealthStatus::AttentionNeeded => by_status.attention_needed += 1,
            HealthStatus::Unhealthy => by_status.unhealthy += 1,
        }
    }
    let mut pending = PendingCounts::default();
    for p in &snapshot.pending_channels {
        match p.kind {
            PendingKind::Opening => pending.opening += 1,
            PendingKind::WaitingClose => pending.waiting_close += 1,
            PendingKind::ForceClosing => pending.force_closing += 1,
        }
        pending.limbo_balance_sat = pending
            .limbo_balance_sat
            .saturating_add(p.limbo_balance_sat);
    }
    Summary {
        total_channels: count(views.len()),
        active_channels: count(totals.active),
        total_capacity_sat: totals.capacity,
        total_local_balance_sat: totals.local,
        total_remote_balance_sat: totals.remote,
        total_dust_sat: totals.dust,
        dust_ratio: share(totals.dust, totals.capacity),
        highest_fee_exposure_sat: highest.map_or(0, |(_, e)| e),
        highest_fee_exposure_chan_id: highest.map(|(id, _)| id),
        // Set by the caller from the recommenders' and sections' results.
        recommended_max_fee_exposure_sat: 0,
        optimization_potential: 0.0,
        estimated_recovery_sat: 0,
        recommended_actions: 0,
        average_health_score: if views.is_empty() {
            0.0
        } else {
            ratio(totals.score / views.len() as f64)
        },
        channels_by_status: by_status,
        alerts: AlertCounts::default(),
        pending_channels: pending,
        flow_unknown: snapshot
            .flow
            .is_none()
            .then(|| flow::FLOW_UNKNOWN_REASON.to_string()),
        rebalance_actions_left_out: 0,
        actions_below_min_benefit: 0,
    }
}

/// True for actions that protect funds (a force close to hold off, the node's exposure limit):
/// they are listed whatever their fee arithmetic says. `raise_min_htlc` protects funds only on a
/// channel near its fee-exposure limit ([`keep_worthwhile`]); elsewhere it must pay like the rest.
pub(crate) fn protects_funds(kind: ActionKind) -> bool {
    matches!(
        kind,
        ActionKind::HoldOffForceClose | ActionKind::SetMaxFeeExposure
    )
}

/// Keeps the actions that pay for themselves: benefit − cost ≥ `min_action_benefit_sat`, and
/// those that protect funds. Returns how many were left out.
fn keep_worthwhile(actions: &mut Vec<Action>, settings: &AnalysisSettings) -> u32 {
    let before = actions.len();
    actions.retain(|a| protects_funds(a.kind) || pays_for_itself(a, settings));
    count(before - actions.len())
}

/// Keeps each dust strategy that protects funds (a force close held off, the node's exposure
/// limit, `raise_min_htlc` on a channel whose exposure is near its limit) or pays for itself
/// like any other action; a `min_htlc` raise for a few sat of dust on a channel far from the
/// limit costs small payments more than it saves. Returns how many were left out.
fn keep_dust_worthwhile(
    actions: &mut Vec<Action>,
    views: &[ChannelView<'_>],
    settings: &AnalysisSettings,
) -> u32 {
    let near_limit = |chan_id: &ChanId| {
        views
            .binary_search_by_key(chan_id, ChannelView::chan_id)
            .is_ok_and(|i| views[i].dust.exposure_ratio >= settings.exposure_warn_ratio)
    };
    let before = actions.len();
    actions.retain(|a| {
        protects_funds(a.kind)
            || (a.kind == ActionKind::RaiseMinHtlc && a.chan_ids.iter().any(near_limit))
            || pays_for_itself(a, settings)
    });
    count(before - actions.len())
}

/// Benefit − cost ≥ `min_action_benefit_sat`.
fn pays_for_itself(action: &Action, settings: &AnalysisSettings) -> bool {
    action.expected_benefit_sat >= action.expected_cost_sat
        && action.expected_benefit_sat - action.expected_cost_sat >= settings.min_action_benefit_sat
}

/// Alerts by severity, for the summary.
fn alert_counts(alerts: &[crate::plan::Alert]) -> AlertCounts {
    let mut counts = AlertCounts::default();
    for alert in alerts {
        match alert.severity {
            Severity::Warn => counts.warn += 1,
            Severity::Error => counts.error += 1,
        }
    }
    counts
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Action ids that are new, resolved or unchanged compared with the previous plan, each list
/// sorted by id. `now` is sorted and distinct (from [`first_with_ids_in`]).
///
/// Both sides are sorted id lists merged in one pass: a big node has tens of thousands of
/// actions, and ordered maps of them cost more than the rest of this function. The ids are
/// shared with the actions and the digest, not copied.
fn changes(now: &[Arc<str>], previous: Option<&PlanDigest>) -> Changes {
    let Some(previous) = previous else {
        return Changes {
            previous_generated_at: None,
            new: now.to_vec(),
            resolved: Vec::new(),
            unchanged: Vec::new(),
        };
    };
    // Sorted and distinct, like `now` (the digest's invariant).
    let before = previous.action_ids();
    let (mut new, mut resolved, mut unchanged) = (Vec::new(), Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < now.len() || j < before.len() {
        match (now.get(i), before.get(j)) {
            (Some(a), Some(b)) if a == b => {
                unchanged.push(Arc::clone(a));
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if a < b => {
                new.push(Arc::clone(a));
                i += 1;
            }
            (Some(a), None) => {
                new.push(Arc::clone(a));
                i += 1;
            }
            (_, Some(b)) => {
                resolved.push(Arc::clone(b));
                j += 1;
            }
            (None, None) => break,
        }
    }
    Changes {
        previous_generated_at: Some(previous.generated_at().to_string()),
        new,
        resolved,
        unchanged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::sort_actions;
    use testkit::{channel, htlc, settle_balances, snapshot};

    #[test]
    fn generated_at_comes_from_the_snapshot() {
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(-5), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(i64::MAX), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn ppm_rounds_up_and_saturates() {
        assert_eq!(ppm_of(1_000_000, 1), 1);
        assert_eq!(ppm_of(1, 1), 1);
        assert_eq!(ppm_of(0, 500), 0);
        assert_eq!(ppm_of(u64::MAX, u64::MAX), u64::MAX);
    }

    fn mixed_node() -> NodeSnapshot {
        let mut dusty = channel(3, 2_000_000, 1_000_000);
        for i in 0..4 {
            dusty.pending_htlcs.push(htlc(i, false, 300, 800_100));
        }
        settle_balances(&mut dusty);
        let mut snap = snapshot(
            vec![
                channel(9, 2_000_000, 1_900_000),
                channel(1, 2_000_000, 50_000),
                dusty,
            ],
            Some(800_000),
        );
        // Channel 1 routes out 100k sat/day at 1,500 ppm: a sink worth refilling.
        snap.flow = Some(testkit::flow_of(&[testkit::forward(
            86_400, 77, 1, 700_000, 1_500,
        )]));
        snap
    }

    #[test]
    fn analysis_is_deterministic_and_ordered() {
        let settings = AnalysisSettings::default();
        let snap = mixed_node();
        let a = analyze(&snap, &settings, None);
        let b = analyze(&snap, &settings, None);
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
        let ids: Vec<ChanId> = a.channels.iter().map(|c| c.chan_id).collect();
        assert_eq!(ids, vec![1, 3, 9]);
        // The top actions are in the documented total order.
        let mut sorted = a.priority_actions.clone();
        sort_actions(&mut sorted);
        assert_eq!(sorted, a.priority_actions);
        assert!(a.priority_actions.len() <= PRIORITY_ACTIONS_LIMIT);
    }

    /// A generated 400-channel node with ~6 pending HTLCs per channel (2 % of channels full):
    /// enough channels and actions for every recommender to speak.
    fn generated_node() -> NodeSnapshot {
        let mut sim = crate::sim::Simulation::generate(&crate::sim::ScenarioConfig {
            channels: 400,
            seed: 7,
            start_unix: 1_750_000_000,
            max_fee_exposure_sat: crate::sim::DEFAULT_MAX_FEE_EXPOSURE_SAT,
        });
        sim.add_htlc_load(&crate::sim::HtlcLoad {
            mean_per_channel: 6.0,
            saturated_share: 0.02,
        });
        crate::sim::answers::snapshot(&sim.node, false)
    }

    #[test]
    fn the_plan_does_not_depend_on_how_many_threads_analyse_it() {
        let snap = generated_node();
        let settings = AnalysisSettings::default();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| serde_json::to_string(&analyze(&snap, &settings, None)).unwrap())
        };
        let one = run(1);
        assert!(one.contains("\"raise_min_htlc\"") || one.contains("\"hold_off_force_close\""));
        assert_eq!(run(4), one);
        assert_eq!(run(3), one);
    }

    #[test]
    fn sections_list_their_actions_in_the_node_wide_order() {
        // The sections are built from the recommenders' lists, before the node-wide sort: each
        // puts its own actions in order, which must agree with the node-wide list.
        let snap = generated_node();
        let plan = analyze(&snap, &AnalysisSettings::default(), None);
        let mut node_wide: Vec<Action> = plan.all_actions().into_iter().cloned().collect();
        sort_actions(&mut node_wide);
        let place: std::collections::HashMap<&str, usize> = node_wide
            .iter()
            .enumerate()
            .map(|(i, a)| (&*a.id, i))
            .collect();
        let mut with_several = 0;
        for section in &plan.channels {
            let places: Vec<usize> = section
                .recommendations
                .actions
                .iter()
                .map(|a| place[&*a.id])
                .collect();
            assert!(
                places.is_sorted(),
                "channel {}: {places:?}",
                section.chan_id
            );
            with_several += usize::from(places.len() > 1);
        }
        assert!(
            with_several > 10,
            "{with_several} sections with several actions"
        );
        // The top actions are the first of the node-wide order, but advisories keep at most
        // half the places while other actions wait.
        let advisory = |a: &&Action| a.lnd_support == LndSupport::Advisory;
        let top_advisories = plan.priority_actions.iter().filter(advisory).count();
        assert!(
            top_advisories <= MAX_PRIORITY_ADVISORIES,
            "{top_advisories}"
        );
        let mut want: Vec<Action> = node_wide
            .iter()
            .filter(advisory)
            .take(top_advisories)
            .chain(
                node_wide
                    .iter()
                    .filter(|a| !advisory(a))
                    .take(PRIORITY_ACTIONS_LIMIT - top_advisories),
            )
            .cloned()
            .collect();
        sort_actions(&mut want);
        assert_eq!(plan.priority_actions, want);
    }

    /// Routing by channel id, whether the views are in id order (a normalized snapshot, which
    /// is searched as it is) or not (which takes the sorted copy): each action goes to every
    /// view it names, the first of a repeated id, and an unknown id goes nowhere.
    #[test]
    fn routes_give_each_action_to_the_views_it_names_in_any_view_order() {
        let settings = AnalysisSettings::default();
        let params = DustParams::default();
        let ids_of = |chan_ids: &[ChanId]| -> Action {
            let views: Vec<ChannelView<'_>> = Vec::new();
            let mut a = new_action(
                ActionKind::Rebalance,
                &views.iter().collect::<Vec<_>>(),
                None,
            );
            a.chan_ids = chan_ids.iter().copied().collect();
            a
        };
        // Held in parts, an empty one among them, as the recommenders' lists are.
        let actions = NodeActions::new([
            vec![ids_of(&[1])],
            vec![ids_of(&[9, 3]), ids_of(&[7])],
            Vec::new(),
            vec![ids_of(&[3])],
        ]);
        assert_eq!(actions.len(), 4);
        let named: Vec<&[ChanId]> = (0..4).map(|p| actions.get(p).chan_ids.as_slice()).collect();
        assert_eq!(named, [&[1][..], &[9, 3], &[7], &[3]]);
        for order in [[1, 1, 3, 9], [9, 1, 3, 1]] {
            let channels: Vec<Channel> = order
                .iter()
                .map(|&id| channel(id, 2_000_000, 1_000_000))
                .collect();
            let views: Vec<ChannelView<'_>> = channels
                .iter()
                .map(|c| ChannelView::new(c, None, &params, &settings))
                .collect();
            let routes = Routes::new(&views, &actions);
            let first = |id: ChanId| order.iter().position(|&o| o == id).unwrap();
            let mut want: Vec<Vec<usize>> = vec![Vec::new(); order.len()];
            want[first(1)].push(0);
            want[first(9)].push(1);
            want[first(3)].extend([1, 3]);
            let got: Vec<Vec<usize>> = (0..order.len()).map(|v| routes.of(v).to_vec()).collect();
            assert_eq!(got, want, "views in the order {order:?}");
        }
    }

    /// The view index finds the first view of every id a node has, and no view for ids it
    /// has not, whether the views are in id order (compact index) or not (sorted pairs): ids
    /// shaped like short channel ids (block height, transaction, output), repeated ones, and
    /// ids just outside and between them.
    #[test]
    fn the_view_index_finds_the_first_view_of_each_id() {
        let settings = AnalysisSettings::default();
        let params = DustParams::default();
        let scid = |block: u64, tx: u64, out: u64| (block << 40) | (tx << 16) | out;
        let mut ids: Vec<ChanId> = (0..300u64)
            .map(|i| scid(700_000 + i * i % 997, (i * 7919) % 3000, i % 3))
            .collect();
        ids.extend([ids[5], ids[5], ids[77]]);
        ids.sort_unstable();
        let channels: Vec<Channel> = ids
            .iter()
            .map(|&id| channel(id, 2_000_000, 1_000_000))
            .collect();
        let mut probes: Vec<ChanId> = ids.clone();
        probes.extend(ids.iter().flat_map(|&id| [id.wrapping_sub(1), id + 1]));
        probes.extend([0, 1, u64::MAX, scid(699_999, 0, 0), scid(800_000, 0, 0)]);
        for reversed in [false, true] {
            let mut views: Vec<ChannelView<'_>> = channels
                .iter()
                .map(|c| ChannelView::new(c, None, &params, &settings))
                .collect();
            if reversed {
                views.reverse();
            }
            let index = ViewIndex::new(&views);
            assert_eq!(matches!(index, ViewIndex::InOrder { .. }), !reversed);
            for &id in &probes {
                let want = views.iter().position(|v| v.chan_id() == id);
                assert_eq!(index.find(id), want, "id {id}, reversed {reversed}");
            }
        }
        let none: Vec<ChannelView<'_>> = Vec::new();
        assert_eq!(ViewIndex::new(&none).find(5), None);
    }

    #[test]
    fn described_actions_read_back_as_the_same_plan_and_bytes() {
        let plan = analyze(&mixed_node(), &AnalysisSettings::default(), None);
        let described = plan
            .all_actions()
            .iter()
            .filter(|a| matches!(a.wording, Wording::Described(_)))
            .count();
        assert!(described >= 2, "the mixed node has described actions");
        let json = serde_json::to_string_pretty(&plan).unwrap();
        let read = crate::plan::read_plan(&json).unwrap();
        assert!(read
            .all_actions()
            .iter()
            .all(|a| matches!(a.wording, Wording::Written(_))));
        assert_eq!(read, plan);
        assert_eq!(serde_json::to_string_pretty(&read).unwrap(), json);
        // Describing is repeatable: the words do not change between reads.
        let a = plan.all_actions()[0].clone();
        assert_eq!(a.text(), a.text());
        assert!(!a.text().rationale.is_empty());
    }

    #[test]
    fn action_ids_are_unique_and_shared_actions_appear_in_each_channel() {
        let plan = analyze(&mixed_node(), &AnalysisSettings::default(), None);
        let all = plan.all_actions();
        assert_eq!(plan.summary.recommended_actions as usize, all.len());
        let rebalance = all
            .iter()
            .find(|a| a.kind == ActionKind::Rebalance)
            .expect("the 95% and 2.5% channels pair up");
        assert_eq!(rebalance.chan_ids.as_slice(), [9, 1]);
        for chan in &rebalance.chan_ids {
            let ch = plan.channels.iter().find(|c| &c.chan_id == chan).unwrap();
            assert!(ch
                .recommendations
                .actions
                .iter()
                .any(|a| a.id == rebalance.id));
        }
    }

    #[test]
    fn changes_compare_action_ids_with_the_previous_plan() {
        let settings = AnalysisSettings::default();
        let first = analyze(&mixed_node(), &settings, None);
        assert!(first.changes.previous_generated_at.is_none());
        assert_eq!(first.changes.new.len(), first.all_actions().len());

        // Same situation a cycle later, balances moved a little: nothing new, nothing resolved.
        let mut later = mixed_node();
        later.taken_at_unix += 60;
        later.channels[2].local_balance_sat -= 10_000;
        settle_balances(&mut later.channels[2]);
        let second = analyze(&later, &settings, Some(&PlanDigest::of(&first)));
        assert_eq!(
            second.changes.previous_generated_at.as_deref(),
            Some(first.generated_at.as_str())
        );
        assert!(second.changes.new.is_empty(), "{:?}", second.changes.new);
        assert!(
            second.changes.resolved.is_empty(),
            "{:?}",
            second.changes.resolved
        );
        assert_eq!(second.changes.unchanged.len(), first.all_actions().len());

        // The imbalance is fixed: the rebalance is resolved.
        let mut fixed = mixed_node();
        fixed.channels.retain(|c| c.chan_id == 3);
        let third = analyze(&fixed, &settings, Some(&PlanDigest::of(&first)));
        assert!(third
            .changes
            .resolved
            .iter()
            .any(|id| id.starts_with("rebalance:")));
    }

    /// `changes` by its definition: set differences of the two plans' action ids.
    fn changes_by_definition(current: &Plan, previous: &Plan) -> Changes {
        let ids = |plan: &Plan| -> std::collections::BTreeSet<Arc<str>> {
            plan.all_actions().iter().map(|a| a.id.clone()).collect()
        };
        let (now, before) = (ids(current), ids(previous));
        Changes {
            previous_generated_at: Some(previous.generated_at.clone()),
            new: now.difference(&before).cloned().collect(),
            resolved: before.difference(&now).cloned().collect(),
            unchanged: now.intersection(&before).cloned().collect(),
        }
    }

    #[test]
    fn changes_from_a_digest_are_those_of_the_whole_previous_plan() {
        let settings = AnalysisSettings::default();
        let first = analyze(&mixed_node(), &settings, None);
        // Some actions stay, some go (channel 9 closed), some come (channel 5 opened).
        let mut later = mixed_node();
        later.taken_at_unix += 60;
        later.channels.retain(|c| c.chan_id != 9);
        later.channels.push(channel(5, 2_000_000, 1_950_000));
        later.normalize();
        let digest = PlanDigest::of(&first);
        let read = PlanDigest::from_reader(serde_json::to_vec(&first).unwrap().as_slice())
            .expect("a plan reads back as a digest");
        assert_eq!(read, digest);
        let second = analyze(&later, &settings, Some(&digest));
        let want = changes_by_definition(&second, &first);
        assert_eq!(second.changes, want);
        assert!(
            !want.new.is_empty() && !want.resolved.is_empty() && !want.unchanged.is_empty(),
            "{want:?}"
        );
        assert_eq!(analyze(&later, &settings, Some(&read)), second);
    }

    #[test]
    fn summary_counts_dust_and_statuses() {
        let plan = analyze(&mixed_node(), &AnalysisSettings::default(), None);
        let s = &plan.summary;
        assert_eq!(s.total_channels, 3);
        assert_eq!(s.total_capacity_sat, 6_000_000);
        assert_eq!(s.total_dust_sat, 1_200);
        assert_eq!(
            s.channels_by_status.healthy
                + s.channels_by_status.attention_needed
                + s.channels_by_status.unhealthy,
            3
        );
        assert!(s.estimated_recovery_sat <= s.total_dust_sat);
        assert_eq!(plan.source.exposure_limit.max_fee_exposure_sat, 500_000);
    }

    #[test]
    fn empty_node_gives_an_empty_plan() {
        let plan = analyze(&snapshot(vec![], None), &AnalysisSettings::default(), None);
        assert!(plan.channels.is_empty());
        assert!(plan.priority_actions.is_empty());
        assert_eq!(plan.summary.dust_ratio, 0.0);
        assert_eq!(plan.summary.average_health_score, 0.0);
        assert_eq!(plan.summary.highest_fee_exposure_chan_id, None);
    }
}
