//! The node-wide order of actions ([`action_order`]), sorting by it, and picking the top actions
//! with the sorted ids ([`first_with_ids`]).

use std::cmp::{Ordering, Reverse};
use std::sync::Arc;

use super::action::Action;

/// The total order of actions: priority (high first), then implementation priority (high
/// first), then id (ascending) so that ties never depend on input order.
pub fn action_order(a: &Action, b: &Action) -> Ordering {
    (
        Reverse(a.priority),
        Reverse(a.implementation_priority),
        &a.id,
    )
        .cmp(&(
            Reverse(b.priority),
            Reverse(b.implementation_priority),
            &b.id,
        ))
}

/// Sorts `actions` by [`action_order`], stably.
///
/// Actions are large, and a comparison sort moves each element O(log n) times; so the
/// positions are sorted ([`sort_order`]) and every action then moves once into place.
pub fn sort_actions(actions: &mut [Action]) {
    let order = sort_order(actions);
    apply_order(actions, order);
}

/// The positions of `actions` in [`action_order`], ties kept in input order.
pub fn sort_order(actions: &[Action]) -> Vec<usize> {
    // The keys are gathered into one contiguous list first, so comparisons do not chase every
    // action; the position breaks ties, which makes the unstable sort give the stable order.
    let mut keys: Vec<(Reverse<u8>, Reverse<u8>, &str, usize)> = actions
        .iter()
        .enumerate()
        .map(|(i, a)| {
            (
                Reverse(a.priority),
                Reverse(a.implementation_priority),
                &*a.id,
                i,
            )
        })
        .collect();
    keys.sort_unstable();
    keys.into_iter().map(|(_, _, _, i)| i).collect()
}

/// The positions of the first `n` actions in the order of [`sort_actions`], in that order, and
/// the distinct ids of all of them, sorted (byte order): what a plan needs of its node-wide
/// list (its top actions, and the ids for `changes`), with the ids sorted once for both. Only
/// those `n` are put in order, after a selection; reading only, it can run while other work
/// reads the same actions.
///
/// The ids are sorted first (ties by position); each action's place in that order then stands
/// in for its id and position in the total order, so the second step compares integers only.
pub fn first_with_ids(actions: &[Action], n: usize) -> (Vec<usize>, Vec<Arc<str>>) {
    first_with_ids_in(actions.len(), |i| &actions[i], n)
}

/// [`first_with_ids`] over `len` actions that `at` gives by position (`0..len`), so a list
/// held in parts needs no copy into one.
pub(crate) fn first_with_ids_in<'a>(
    len: usize,
    at: impl Fn(usize) -> &'a Action,
    n: usize,
) -> (Vec<usize>, Vec<Arc<str>>) {
    // The first 24 bytes of each id, zero-padded, as big-endian numbers lead the key: they
    // order two ids as their bytes do wherever they differ (a shorter id that is a prefix of
    // the other is padded with bytes no greater than the other's), and they differ for most
    // pairs, so most comparisons are of integers and only the rest compare the whole strings.
    let mut by_id: Vec<(u128, u64, usize)> = (0..len)
        .map(|i| {
            let bytes = at(i).id.as_bytes();
            let (mut high, mut low) = ([0u8; 16], [0u8; 8]);
            let n = bytes.len().min(16);
            high[..n].copy_from_slice(&bytes[..n]);
            let rest = &bytes[n..];
            let m = rest.len().min(8);
            low[..m].copy_from_slice(&rest[..m]);
            (u128::from_be_bytes(high), u64::from_be_bytes(low), i)
        })
        .collect();
    // Integer keys first (the position breaks ties); then ids sharing their first 24 bytes
    // are put in order by their whole text, which is rare. The stable sort is for its use of
    // runs: each recommender lists its actions by channel, so the ids arrive in long ascending
    // runs.
    by_id.sort();
    for run in by_id.chunk_by_mut(|a, b| (a.0, a.1) == (b.0, b.1)) {
        if run.len() > 1 {
            run.sort_by(|a, b| at(a.2).id.cmp(&at(b.2).id).then(a.2.cmp(&b.2)));
        }
    }
    let mut ids: Vec<Arc<str>> = Vec::with_capacity(by_id.len());
    // Priorities above the place in id order: one integer per action. A place is below
    // `usize::MAX`, which fits the low 64 bits.
    let mut keys: Vec<u128> = vec![0; len];
    for (place, &(_, _, i)) in by_id.iter().enumerate() {
        let a = at(i);
        if ids.last() != Some(&a.id) {
            ids.push(Arc::clone(&a.id));
        }
        keys[i] = (u128::from(u8::MAX - a.priority) << 72)
            | (u128::from(u8::MAX - a.implementation_priority) << 64)
            | place as u128;
    }
    if n < keys.len() {
        // The `n` smallest keys first (in any order), then only those are sorted.
        keys.select_nth_unstable(n);
        keys.truncate(n);
    }
    keys.sort_unstable();
    // The low 64 bits hold the place in id order, whose action is `by_id[place].2`.
    let order: Vec<usize> = keys
        .into_iter()
        .map(|key| by_id[(key as u64) as usize].2)
        .collect();
    (order, ids)
}

/// Rearranges `items` so that position `k` holds what was at `order[k]` (`order` is a
/// permutation of the positions), following each cycle of the permutation with swaps.
pub(crate) fn apply_order<T>(items: &mut [T], mut order: Vec<usize>) {
    for start in 0..items.len() {
        let mut current = start;
        // `order[current] == current` marks a position already holding its final item.
        while order[current] != start && order[current] != current {
            let next = order[current];
            items.swap(current, next);
            order[current] = current;
            current = next;
        }
        order[current] = current;
    }
}
