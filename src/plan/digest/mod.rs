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
//! plan. It is built from a plan in memory ([`PlanDigest::of`]) or read from a plan file
//! ([`PlanDigest::from_reader`]): of schema v1 or v2 into derived structs that keep only those
//! fields, the rest of the document parsed and skipped; of v3 whole, because its alerts'
//! messages are rebuilt from their channels. The version is checked first, with
//! [`read_plan`](super::read_plan)'s errors.

#[cfg(test)]
mod tests;

use std::io::Read;
use std::sync::Arc;

use serde::Deserialize;

use super::{ids, Alert, FeeRateMemory, Plan, PlanError, SCHEMA_VERSION};
use crate::model::ChanId;

/// The fields of a plan file a digest keeps (v1 and v2 alike).
#[derive(Deserialize)]
struct DigestRecord {
    generated_at: String,
    channels: Vec<ChannelRecord>,
    alerts: Vec<Alert>,
}

#[derive(Deserialize)]
struct ChannelRecord {
    #[serde(with = "ids::chan_id")]
    chan_id: ChanId,
    /// v1 lists every row; v2 leaves out rows with nothing to say (never a trimmed one).
    #[serde(default)]
    htlcs: Vec<HtlcRecord>,
    #[serde(default)]
    recommendations: RecommendationsRecord,
    #[serde(default)]
    fee_rate: Option<FeeRateMemory>,
}

#[derive(Deserialize)]
struct HtlcRecord {
    #[serde(default)]
    incoming: bool,
    #[serde(default)]
    trimmed_on_local: bool,
    #[serde(default)]
    trimmed_on_remote: bool,
}

#[derive(Deserialize, Default)]
struct RecommendationsRecord {
    /// v1: `actions`, whole actions; v2: `action_ids`.
    #[serde(default, rename = "action_ids", alias = "actions")]
    actions: Vec<ActionIdRecord>,
}

/// An action named by a channel: its id (v2) or the whole action, of which only the id is kept (v1).
#[derive(Deserialize)]
#[serde(untagged)]
enum ActionIdRecord {
    Id(Arc<str>),
    Whole { id: Arc<str> },
}

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

    /// Reads the digest of a plan document (schema v1, v2 or v3). The file is read whole (a
    /// plan is small) so that its version is checked before anything else; a v3 plan is read
    /// whole, the others into the few fields the digest keeps; see
    /// [`read_plan`](super::read_plan) for the errors.
    pub fn from_reader(mut reader: impl Read) -> Result<Self, PlanError> {
        let mut text = String::new();
        reader.read_to_string(&mut text).map_err(PlanError::Read)?;
        if super::check_version(&text)? >= 3 {
            // v3 leaves out alert messages and HTLC figures that its channels give back.
            return super::read_plan(&text).map(|plan| PlanDigest::of(&plan));
        }
        let record: DigestRecord =
            serde_json::from_str(&text).map_err(|source| PlanError::Invalid {
                supported: SCHEMA_VERSION,
                source,
            })?;
        let mut action_ids = Vec::new();
        let mut outgoing_dust_channels = Vec::new();
        let mut fee_rates = Vec::new();
        for channel in record.channels {
            action_ids.extend(
                channel
                    .recommendations
                    .actions
                    .into_iter()
                    .map(|a| match a {
                        ActionIdRecord::Id(id) | ActionIdRecord::Whole { id } => id,
                    }),
            );
            if channel
                .htlcs
                .iter()
                .any(|h| outgoing_trimmed(h.incoming, h.trimmed_on_local, h.trimmed_on_remote))
            {
                outgoing_dust_channels.push(super::chan_id_string(channel.chan_id));
            }
            if let Some(rate) = channel.fee_rate {
                fee_rates.push((channel.chan_id, rate));
            }
        }
        Ok(PlanDigest {
            generated_at: record.generated_at,
            action_ids: sorted_distinct(action_ids),
            outgoing_dust_channels: sorted_distinct(outgoing_dust_channels),
            fee_rates: sorted_by_channel(fee_rates),
            alerts: record.alerts,
        })
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
