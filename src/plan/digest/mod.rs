//! A digest of a plan: the little the next cycle needs from the previous plan, and nothing else.
//!
//! At 10,000 channels a plan is ~60 MB in memory and ~100 MB of JSON. The next cycle reads only
//! this from it:
//! * every action id, sorted and de-duplicated, and `generated_at`: the `changes` section
//!   (`analyze::changes`);
//! * the channels whose HTLC rows had an outgoing HTLC trimmed on either commitment: dust that
//!   recurs across cycles (`analyze::dust_strategy`);
//! * the alerts: alert transitions in the journal ([`crate::sink::alerts`]);
//! * each channel's `fee_rate` (rate seen, when it last changed, the `fee_up` target): fee-change
//!   hysteresis (`analyze::policy`).
//!
//! [`PlanDigest`] holds exactly that, so the daemon keeps a digest between cycles instead of a
//! plan (design.md §8 asks that no more than the current snapshot and the previous plan are
//! held; this holds less). It is built from a plan in memory ([`PlanDigest::of`]) or streamed
//! from a plan file ([`PlanDigest::from_reader`]) without ever holding the file's text or the
//! whole plan.
//!
//! Reading a file keeps [`read_plan`](super::read_plan)'s guarantees, whatever the order of the
//! fields in the file:
//! * a missing (or `null`) `schema_version` is [`PlanError::MissingSchemaVersion`], any value
//!   other than the number 1 is [`PlanError::UnsupportedSchemaVersion`] (when the version comes
//!   first, as in every plan dustwatch writes, the rest of the file is not even read);
//! * text that is not JSON is [`PlanError::Json`], with the line and column;
//! * a v1 plan whose digested fields have the wrong shape is [`PlanError::Invalid`], naming the
//!   field (`channels[3].htlcs[0].incoming: invalid type: …`).
//!
//! Unlike [`read_plan`](super::read_plan), the digest reader checks the shape of the fields it
//! keeps only; the rest of the document is parsed as JSON and skipped (checking it would mean
//! building it). The shapes are checked leniently while the version is still unknown (a field
//! of another shape is noted and skipped), so that a plan of another schema whose version comes
//! last is refused for its version, not for whichever field happens to differ first.
//!
//! Files: `state` (what the reader gathers and its errors), `shape` (lenient reading of one
//! value), `document` (the plan's fields the digest keeps).

mod document;
mod shape;
mod state;
#[cfg(test)]
mod tests;

use std::io::{BufReader, Read};
use std::sync::Arc;

use serde::de::DeserializeSeed;

use super::{Alert, FeeRateMemory, Plan, PlanError};
use crate::model::ChanId;
use document::PlanSeed;
use state::ReadState;

/// Buffer of the streaming reader: serde_json reads byte by byte, so an unbuffered file would
/// cost a system call per byte.
const READ_BUFFER_BYTES: usize = 64 * 1024;

/// What the next cycle needs from a plan (see the module docs).
///
/// Invariants: `action_ids` and `outgoing_dust_channels` are sorted (byte order) and hold each
/// id once; `fee_rates` are sorted by channel id, one per channel; `alerts` are in the plan's
/// order. Action ids are shared with the plan's actions
/// (a digest of a plan in memory copies none of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanDigest {
    generated_at: String,
    action_ids: Vec<Arc<str>>,
    outgoing_dust_channels: Vec<String>,
    fee_rates: Vec<(ChanId, FeeRateMemory)>,
    alerts: Vec<Alert>,
}

impl PlanDigest {
    /// The digest of a plan in memory (the daemon keeps this of the plan it just wrote).
    pub fn of(plan: &Plan) -> Self {
        let action_ids = plan
            .channels
            .iter()
            .flat_map(|c| c.recommendations.actions.iter())
            .map(|a| Arc::clone(&a.id))
            .collect();
        let outgoing_dust_channels = plan
            .channels
            .iter()
            .filter(|c| {
                c.htlcs
                    .iter()
                    .any(|h| outgoing_trimmed(h.incoming, h.trimmed_on_local, h.trimmed_on_remote))
            })
            .map(|c| super::chan_id_string(c.chan_id))
            .collect();
        let fee_rates = plan
            .channels
            .iter()
            .filter_map(|c| Some((c.chan_id, c.fee_rate?)))
            .collect();
        PlanDigest {
            generated_at: plan.generated_at.clone(),
            action_ids: sorted_distinct(action_ids),
            outgoing_dust_channels: sorted_distinct(outgoing_dust_channels),
            fee_rates: sorted_by_channel(fee_rates),
            alerts: plan.alerts.clone(),
        }
    }

    /// Reads the digest of a plan document (schema v1) as a stream: memory stays proportional
    /// to the digest, not to the file. `reader` is buffered here; see the module docs for the
    /// errors.
    pub fn from_reader(reader: impl Read) -> Result<Self, PlanError> {
        let mut state = ReadState::default();
        let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(
            READ_BUFFER_BYTES,
            reader,
        ));
        let read = PlanSeed(&mut state)
            .deserialize(&mut de)
            .and_then(|()| de.end());
        match read {
            Ok(()) => state.finish(),
            Err(err) => Err(state.classify(err)),
        }
    }

    /// `generated_at` of the plan.
    pub fn generated_at(&self) -> &str {
        &self.generated_at
    }

    /// The id of every action of the plan (from the channel sections, which list all of them),
    /// sorted and each once.
    pub fn action_ids(&self) -> &[Arc<str>] {
        &self.action_ids
    }

    /// Ids of the channels whose HTLC rows had an outgoing HTLC trimmed on either commitment,
    /// sorted and each once.
    pub fn outgoing_dust_channels(&self) -> &[String] {
        &self.outgoing_dust_channels
    }

    /// The plan's alerts, in the plan's order.
    pub fn alerts(&self) -> &[Alert] {
        &self.alerts
    }

    /// The channel's `fee_rate` in the plan, if it had one.
    pub fn fee_rate(&self, chan_id: ChanId) -> Option<&FeeRateMemory> {
        self.fee_rates
            .binary_search_by_key(&chan_id, |(id, _)| *id)
            .ok()
            .map(|at| &self.fee_rates[at].1)
    }
}

/// An HTLC row that counts as outgoing dust: we offered it and it is trimmed somewhere.
fn outgoing_trimmed(incoming: bool, trimmed_on_local: bool, trimmed_on_remote: bool) -> bool {
    !incoming && (trimmed_on_local || trimmed_on_remote)
}

/// Sorted by channel id, the first of each id kept (a plan lists each channel once).
fn sorted_by_channel(mut rates: Vec<(ChanId, FeeRateMemory)>) -> Vec<(ChanId, FeeRateMemory)> {
    rates.sort_by_key(|(id, _)| *id);
    rates.dedup_by_key(|(id, _)| *id);
    rates
}

fn sorted_distinct<T: Ord>(mut ids: Vec<T>) -> Vec<T> {
    ids.sort_unstable();
    ids.dedup();
    ids
}
