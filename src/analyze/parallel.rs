//! Per-channel passes on every core ([`par_filter_map`], [`par_pieces`]) and the counting sort
//! that groups items by view ([`bucket_sort`]).

use rayon::prelude::*;

use super::ChannelView;

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
