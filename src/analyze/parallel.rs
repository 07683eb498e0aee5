//! Per-channel passes on every core ([`par_filter_map`]) and where each bucket of items
//! grouped by view starts ([`bucket_starts`]).

use rayon::prelude::*;

use super::ChannelView;

/// What `f` says of each view (at most one item), on every core, in view order.
pub(crate) fn par_filter_map<'v, 'a, T, F>(views: &'v [ChannelView<'a>], f: F) -> Vec<T>
where
    T: Send,
    F: Fn(&'v ChannelView<'a>) -> Option<T> + Sync,
{
    views.par_iter().filter_map(&f).collect()
}

/// Where each of `buckets` buckets starts when items fall into the buckets `of` lists (each
/// below `buckets`): bucket `b` is `starts[b]..starts[b + 1]`.
pub(super) fn bucket_starts(buckets: usize, of: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut starts = vec![0usize; buckets + 1];
    for b in of {
        starts[b + 1] += 1;
    }
    for b in 0..buckets {
        starts[b + 1] += starts[b];
    }
    starts
}
