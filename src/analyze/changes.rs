//! The plan's `changes` section: action ids new, resolved or unchanged since the previous plan.

use std::sync::Arc;

use crate::plan::{Changes, PlanDigest};

/// Action ids that are new, resolved or unchanged compared with the previous plan, each list
/// sorted by id. `now` is sorted and distinct (from [`first_with_ids_in`](crate::plan::first_with_ids_in)).
///
/// Both sides are sorted id lists merged in one pass: a big node has tens of thousands of
/// actions, and ordered maps of them cost more than the rest of this function. The ids are
/// shared with the actions and the digest, not copied.
pub(super) fn changes(now: &[Arc<str>], previous: Option<&PlanDigest>) -> Changes {
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
