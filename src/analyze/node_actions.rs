//! The node-wide action list ([`NodeActions`]), its top actions, and which channel section lists
//! which action ([`Routes`], found through [`ViewIndex`]).

use rayon::prelude::*;

use crate::model::ChanId;
use crate::plan::{action_order, first_with_ids_in, Action, LndSupport, PRIORITY_ACTIONS_LIMIT};

use super::parallel::bucket_starts;
use super::ChannelView;

/// At most this many of the priority actions are advisories (nothing to run) while other
/// actions wait: a warning must not crowd out what the operator can do.
pub(super) const MAX_PRIORITY_ADVISORIES: usize = PRIORITY_ACTIONS_LIMIT / 2;

/// The node's top actions with advisories limited to [`MAX_PRIORITY_ADVISORIES`] places when
/// other actions are left out; `top` is the first actions in action order.
pub(super) fn advisories_leave_room(top: Vec<usize>, actions: &NodeActions) -> Vec<usize> {
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
pub(super) struct NodeActions {
    lists: [Vec<Action>; 4],
    /// `ends[l]` is the position after list `l`'s last action.
    ends: [usize; 4],
}

impl NodeActions {
    pub(super) fn new(lists: [Vec<Action>; 4]) -> Self {
        let mut ends = [0; 4];
        let mut end = 0;
        for (l, list) in lists.iter().enumerate() {
            end += list.len();
            ends[l] = end;
        }
        NodeActions { lists, ends }
    }

    pub(super) fn len(&self) -> usize {
        self.ends[3]
    }

    /// The action at position `p` (below [`NodeActions::len`]).
    pub(super) fn get(&self, p: usize) -> &Action {
        let l = self.ends.partition_point(|&end| end <= p);
        let start = if l == 0 { 0 } else { self.ends[l - 1] };
        &self.lists[l][p - start]
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &Action> {
        self.lists.iter().flatten()
    }

    /// Drops every action, on every core.
    pub(super) fn free(self) {
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
pub(super) struct Routes {
    /// `positions[starts[v]..starts[v + 1]]` are view `v`'s actions, ascending.
    starts: Vec<usize>,
    positions: Vec<usize>,
}

impl Routes {
    pub(super) fn new(views: &[ChannelView<'_>], actions: &NodeActions) -> Self {
        let index = ViewIndex::new(views);
        // (view, action) in node order; a stable sort by view keeps that order.
        let mut pairs: Vec<(usize, usize)> = Vec::with_capacity(actions.len() + actions.len() / 4);
        for (position, action) in actions.iter().enumerate() {
            pairs.extend(
                action
                    .chan_ids
                    .iter()
                    .filter_map(|id| index.find(*id).map(|v| (v, position))),
            );
        }
        pairs.sort_by_key(|&(view, _)| view);
        let starts = bucket_starts(views.len(), pairs.iter().map(|&(view, _)| view));
        let positions = pairs.into_iter().map(|(_, position)| position).collect();
        Routes { starts, positions }
    }

    /// The positions in the node-wide list of view `view`'s actions.
    pub(super) fn of(&self, view: usize) -> &[usize] {
        &self.positions[self.starts[view]..self.starts[view + 1]]
    }

    pub(super) fn actions_of<'a>(
        &'a self,
        view: usize,
        actions: &'a NodeActions,
    ) -> impl Iterator<Item = &'a Action> + Clone + 'a {
        self.of(view).iter().map(move |&p| actions.get(p))
    }
}

/// Finds the view of a channel id: the first view with that id.
pub(super) enum ViewIndex {
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
    pub(super) fn new(views: &[ChannelView<'_>]) -> Self {
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

    pub(super) fn find(&self, id: ChanId) -> Option<usize> {
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
