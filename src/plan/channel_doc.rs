//! A channel's section as a schema v3 plan file lays it out, and how reading fills it back.
//!
//! Besides what v2 left out (see `derived`), v3 leaves out a figure when the rest of the plan
//! gives it exactly, and writes it when it differs (so a section always reads back equal):
//! * `commit_fee_sat`: our commitment's `fees_to_miners_sat` (the mismatch's `reported_sat`
//!   when there is one);
//! * an HTLC row's `trimmed_on_local` / `trimmed_on_remote`: its amount against the owner's
//!   trim threshold of each commitment, and its `expiry`: its blocks to expiry against
//!   `source.htlc_expiry`;
//! * `force_close.coop_close_fee_sat`: the ~700-weight close at the commitment feerate;
//! * `recommendations.implementation_priority`: from the channel's health;
//!   `recommendations.action_ids`: the actions of `actions` that name the channel, in order;
//!   `recommendations.dust_recoverable_sat`: the dust at stake, at most Σ positive dust impact
//!   of those actions.

use std::sync::Arc;

use serde::{Deserialize, Serialize, Serializer};

use super::dust_doc::{DustRecord, DustView};
use super::{
    ids, Action, ChannelFlowReport, ChannelPlan, DustReport, ExpiryStatus, FeeRateMemory,
    ForceCloseReport, Health, HtlcExpiryThresholds, HtlcReport, Recommendations,
};
use crate::dust::fees::TrimThresholds;
use crate::dust::force_close::coop_close_fee_sat;
use crate::dust::{blocks_to_expiry, expiry_level, ExpiryLevel};
use crate::model::{ChanId, CommitmentType, Initiator};

/// What a channel's left-out figures follow from, besides the channel itself.
#[derive(Clone, Copy)]
pub(super) struct ChannelContext {
    pub block_height: Option<u32>,
    pub htlc_expiry: Option<HtlcExpiryThresholds>,
}

impl ChannelContext {
    /// The `expiry` an HTLC at `expiration_height` has, when the plan says how to judge it.
    fn expiry(&self, expiration_height: u32) -> Option<ExpiryStatus> {
        let t = self.htlc_expiry?;
        let blocks = blocks_to_expiry(expiration_height, self.block_height);
        Some(
            match expiry_level(blocks, t.warn_blocks, t.critical_blocks) {
                ExpiryLevel::Ok => ExpiryStatus::Ok,
                ExpiryLevel::Warn => ExpiryStatus::Warn,
                ExpiryLevel::Critical => ExpiryStatus::Critical,
                ExpiryLevel::Unknown => ExpiryStatus::Unknown,
            },
        )
    }
}

/// Whether an HTLC is trimmed on our commitment and on the peer's: its amount against the
/// threshold of each commitment's owner (we offer an outgoing HTLC on ours, the peer offers an
/// incoming one on theirs).
fn trimmed(dust: &DustReport, incoming: bool, amount_sat: u64) -> (bool, bool) {
    let thresholds = |c: &super::CommitmentReport| TrimThresholds {
        offered_sat: c.offered_trim_threshold_sat,
        received_sat: c.received_trim_threshold_sat,
    };
    (
        thresholds(&dust.local_commitment).is_trimmed(!incoming, amount_sat),
        thresholds(&dust.remote_commitment).is_trimmed(incoming, amount_sat),
    )
}

/// LND's `commit_fee` as the plan otherwise tells it.
fn usual_commit_fee(dust: &DustReport) -> u64 {
    dust.commit_fee_mismatch
        .map_or(dust.local_commitment.fees_to_miners_sat, |m| m.reported_sat)
}

/// `min(dust at stake, Σ positive dust impact of the actions)`.
fn usual_dust_recoverable(dust: &DustReport, actions: &[Action]) -> u64 {
    let at_stake = dust
        .local_commitment
        .trimmed_htlc_sat
        .max(dust.remote_commitment.trimmed_htlc_sat);
    let kept = actions
        .iter()
        .map(|a| a.dust_impact_sat.max(0).unsigned_abs())
        .fold(0u64, u64::saturating_add);
    at_stake.min(kept)
}

/// The count and sum of the rows trimmed on a commitment, from `(trimmed, amount_sat)` pairs.
fn trimmed_rows(rows: impl Iterator<Item = (bool, u64)>) -> (u32, u64) {
    rows.filter(|(trimmed, _)| *trimmed)
        .fold((0u32, 0u64), |(count, sum), (_, amount)| {
            (count.saturating_add(1), sum.saturating_add(amount))
        })
}

fn differs<T: PartialEq>(value: T, usual: Option<T>) -> Option<T> {
    (usual.as_ref() != Some(&value)).then_some(value)
}

#[derive(Serialize)]
struct HtlcView {
    htlc_index: u64,
    #[serde(skip_serializing_if = "is_false")]
    incoming: bool,
    amount_sat: u64,
    expiration_height: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiry: Option<ExpiryStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trimmed_on_local: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trimmed_on_remote: Option<bool>,
}

struct HtlcsView<'a> {
    channel: &'a ChannelPlan,
    context: ChannelContext,
}

impl Serialize for HtlcsView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let dust = &self.channel.dust;
        s.collect_seq(
            self.channel
                .htlcs
                .iter()
                .filter(|h| h.has_something_to_say())
                .map(|h| {
                    let (local, remote) = trimmed(dust, h.incoming, h.amount_sat);
                    HtlcView {
                        htlc_index: h.htlc_index,
                        incoming: h.incoming,
                        amount_sat: h.amount_sat,
                        expiration_height: h.expiration_height,
                        expiry: differs(h.expiry, self.context.expiry(h.expiration_height)),
                        trimmed_on_local: differs(h.trimmed_on_local, Some(local)),
                        trimmed_on_remote: differs(h.trimmed_on_remote, Some(remote)),
                    }
                }),
        )
    }
}

#[derive(Serialize)]
struct ForceCloseView {
    #[serde(skip_serializing_if = "is_zero")]
    anchor_sat: u64,
    #[serde(skip_serializing_if = "is_zero")]
    second_level_fees_sat: u64,
    #[serde(skip_serializing_if = "is_zero_u32")]
    csv_delay_blocks: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    coop_close_fee_sat: Option<u64>,
}

#[derive(Serialize)]
struct RecommendationsView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    implementation_priority: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    action_ids: Option<Vec<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dust_recoverable_sat: Option<u64>,
}

impl RecommendationsView<'_> {
    fn is_empty(&self) -> bool {
        self.implementation_priority.is_none()
            && self.action_ids.is_none()
            && self.dust_recoverable_sat.is_none()
    }
}

#[derive(Serialize)]
struct ChannelView<'a> {
    #[serde(with = "ids::chan_id")]
    chan_id: ChanId,
    channel_point: &'a str,
    peer_pubkey: &'a str,
    peer_alias: &'a str,
    #[serde(skip_serializing_if = "is_false")]
    active: bool,
    #[serde(skip_serializing_if = "is_false")]
    private: bool,
    initiator: Initiator,
    commitment_type: CommitmentType,
    capacity_sat: u64,
    local_balance_sat: u64,
    remote_balance_sat: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit_fee_sat: Option<u64>,
    health: &'a Health,
    dust: DustView<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    htlcs: Option<HtlcsView<'a>>,
    force_close: ForceCloseView,
    #[serde(skip_serializing_if = "RecommendationsView::is_empty")]
    recommendations: RecommendationsView<'a>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    warnings: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    flow: &'a Option<ChannelFlowReport>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    notes: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    fee_rate: &'a Option<FeeRateMemory>,
}

/// A channel to write as v3 lays it out. `action_ids` are the ids of the plan's actions that
/// name the channel, in action order: what an absent `recommendations.action_ids` reads as.
pub(super) struct ChannelDoc<'a> {
    pub channel: &'a ChannelPlan,
    pub context: ChannelContext,
    pub action_ids: &'a [&'a str],
}

impl Serialize for ChannelDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.channel;
        let f = &c.force_close;
        let r = &c.recommendations;
        let ids: Vec<&str> = r.actions.iter().map(|a| &*a.id).collect();
        ChannelView {
            chan_id: c.chan_id,
            channel_point: &c.channel_point,
            peer_pubkey: &c.peer_pubkey,
            peer_alias: &c.peer_alias,
            active: c.active,
            private: c.private,
            initiator: c.initiator,
            commitment_type: c.commitment_type,
            capacity_sat: c.capacity_sat,
            local_balance_sat: c.local_balance_sat,
            remote_balance_sat: c.remote_balance_sat,
            commit_fee_sat: differs(c.commit_fee_sat, Some(usual_commit_fee(&c.dust))),
            health: &c.health,
            dust: DustView {
                dust: &c.dust,
                commitment_type: c.commitment_type,
                trimmed_local: trimmed_rows(
                    c.htlcs.iter().map(|h| (h.trimmed_on_local, h.amount_sat)),
                ),
                trimmed_remote: trimmed_rows(
                    c.htlcs.iter().map(|h| (h.trimmed_on_remote, h.amount_sat)),
                ),
            },
            htlcs: c
                .htlcs
                .iter()
                .any(HtlcReport::has_something_to_say)
                .then_some(HtlcsView {
                    channel: c,
                    context: self.context,
                }),
            force_close: ForceCloseView {
                anchor_sat: f.anchor_sat,
                second_level_fees_sat: f.second_level_fees_sat,
                csv_delay_blocks: f.csv_delay_blocks,
                coop_close_fee_sat: differs(
                    f.coop_close_fee_sat,
                    Some(coop_close_fee_sat(c.dust.local_commitment.feerate_per_kw)),
                ),
            },
            recommendations: RecommendationsView {
                implementation_priority: differs(
                    r.implementation_priority,
                    Some(c.health.implementation_priority()),
                ),
                action_ids: (ids != self.action_ids).then_some(ids),
                dust_recoverable_sat: differs(
                    r.dust_recoverable_sat,
                    Some(usual_dust_recoverable(&c.dust, &r.actions)),
                ),
            },
            warnings: &c.warnings,
            flow: &c.flow,
            notes: &c.notes,
            fee_rate: &c.fee_rate,
        }
        .serialize(s)
    }
}

/// An HTLC row as read: v1 and v2 write every `true` (v1 every field), v3 what differs from
/// what the rest of the plan gives.
#[derive(Deserialize)]
struct HtlcRecord {
    htlc_index: u64,
    #[serde(default)]
    incoming: bool,
    amount_sat: u64,
    expiration_height: u32,
    #[serde(default)]
    blocks_to_expiry: Option<i64>,
    #[serde(default)]
    expiry: Option<ExpiryStatus>,
    #[serde(default)]
    trimmed_on_local: Option<bool>,
    #[serde(default)]
    trimmed_on_remote: Option<bool>,
}

#[derive(Deserialize)]
struct ForceCloseRecord {
    #[serde(default)]
    fees_to_miners_sat: u64,
    #[serde(default)]
    anchor_sat: u64,
    #[serde(default)]
    second_level_fees_sat: u64,
    #[serde(default)]
    total_sat: u64,
    #[serde(default)]
    csv_delay_blocks: u32,
    #[serde(default)]
    coop_close_fee_sat: Option<u64>,
    #[serde(default)]
    extra_cost_vs_coop_sat: u64,
}

#[derive(Deserialize, Default)]
struct RecommendationsRecord {
    #[serde(default)]
    implementation_priority: Option<u8>,
    #[serde(
        default,
        rename = "action_ids",
        alias = "actions",
        deserialize_with = "some_actions"
    )]
    actions: Option<Vec<Action>>,
    /// v1 only: later versions compute these on read.
    #[serde(default)]
    dust_at_stake_sat: u64,
    #[serde(default)]
    dust_recoverable_sat: Option<u64>,
    #[serde(default)]
    dust_optimization_potential: f64,
    #[serde(default)]
    expected_cost_sat: u64,
    #[serde(default)]
    expected_benefit_sat: u64,
    #[serde(default)]
    cost_benefit_ratio: Option<f64>,
}

fn some_actions<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<Action>>, D::Error> {
    super::action::deserialize_action_list(d).map(Some)
}

/// A channel section as read, of any version.
#[derive(Deserialize)]
pub(super) struct ChannelRecord {
    #[serde(with = "ids::chan_id")]
    chan_id: ChanId,
    channel_point: Arc<str>,
    peer_pubkey: Arc<str>,
    peer_alias: Arc<str>,
    #[serde(default)]
    active: bool,
    #[serde(default)]
    private: bool,
    initiator: Initiator,
    commitment_type: CommitmentType,
    capacity_sat: u64,
    local_balance_sat: u64,
    remote_balance_sat: u64,
    #[serde(default)]
    commit_fee_sat: Option<u64>,
    health: Health,
    dust: DustRecord,
    #[serde(default)]
    htlcs: Vec<HtlcRecord>,
    force_close: ForceCloseRecord,
    #[serde(default)]
    recommendations: RecommendationsRecord,
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    flow: Option<ChannelFlowReport>,
    #[serde(default)]
    notes: Vec<String>,
    #[serde(default)]
    fee_rate: Option<FeeRateMemory>,
}

/// A channel as read, with what its actions decide still to fill (v3 derives those from the
/// plan's `actions`, read after the channels).
pub(super) struct ReadChannel {
    pub channel: ChannelPlan,
    /// v3 left `action_ids` out: they are the actions that name the channel.
    pub action_ids_left_out: bool,
    /// v3 left `dust_recoverable_sat` out: it follows from the channel's actions.
    pub dust_recoverable_left_out: bool,
}

impl ChannelRecord {
    /// The channel with every figure but those that follow from its actions. `v3` says how
    /// to read an absent figure: as the rest of the plan gives it (v3), or as 0, `false`, `ok`
    /// or empty (earlier versions, which left out only those).
    pub(super) fn into_channel(
        self,
        v3: bool,
        context: ChannelContext,
    ) -> Result<ReadChannel, String> {
        let read = self.dust.read(v3.then_some(self.commitment_type));
        let dust = &read.report;
        let htlcs = self
            .htlcs
            .into_iter()
            .map(|h| {
                let (local, remote) = if v3 {
                    trimmed(dust, h.incoming, h.amount_sat)
                } else {
                    (false, false)
                };
                let expiry = match h.expiry {
                    Some(expiry) => expiry,
                    None if v3 => context.expiry(h.expiration_height).ok_or_else(|| {
                        format!(
                            "channel {}: HTLC {} has no `expiry` and the plan has no \
                             `source.htlc_expiry` to judge it by",
                            self.chan_id, h.htlc_index
                        )
                    })?,
                    None => ExpiryStatus::Ok,
                };
                Ok(HtlcReport {
                    htlc_index: h.htlc_index,
                    incoming: h.incoming,
                    amount_sat: h.amount_sat,
                    expiration_height: h.expiration_height,
                    blocks_to_expiry: h.blocks_to_expiry,
                    expiry,
                    trimmed_on_local: h.trimmed_on_local.unwrap_or(local),
                    trimmed_on_remote: h.trimmed_on_remote.unwrap_or(remote),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let dust = read.finish(
            self.commitment_type,
            trimmed_rows(htlcs.iter().map(|h| (h.trimmed_on_local, h.amount_sat))),
            trimmed_rows(htlcs.iter().map(|h| (h.trimmed_on_remote, h.amount_sat))),
        );
        let f = self.force_close;
        let coop_close_fee_sat = f.coop_close_fee_sat.unwrap_or(if v3 {
            coop_close_fee_sat(dust.local_commitment.feerate_per_kw)
        } else {
            0
        });
        let r = self.recommendations;
        let implementation_priority = r.implementation_priority.unwrap_or(if v3 {
            self.health.implementation_priority()
        } else {
            0
        });
        let commit_fee_sat = match self.commit_fee_sat {
            Some(fee) => fee,
            None if v3 => usual_commit_fee(&dust),
            None => return Err(format!("channel {}: no `commit_fee_sat`", self.chan_id)),
        };
        let action_ids_left_out = v3 && r.actions.is_none();
        let dust_recoverable_left_out = v3 && r.dust_recoverable_sat.is_none();
        Ok(ReadChannel {
            channel: ChannelPlan {
                chan_id: self.chan_id,
                channel_point: self.channel_point,
                peer_pubkey: self.peer_pubkey,
                peer_alias: self.peer_alias,
                active: self.active,
                private: self.private,
                initiator: self.initiator,
                commitment_type: self.commitment_type,
                capacity_sat: self.capacity_sat,
                local_balance_sat: self.local_balance_sat,
                remote_balance_sat: self.remote_balance_sat,
                commit_fee_sat,
                health: self.health,
                dust,
                htlcs,
                force_close: ForceCloseReport {
                    fees_to_miners_sat: f.fees_to_miners_sat,
                    anchor_sat: f.anchor_sat,
                    second_level_fees_sat: f.second_level_fees_sat,
                    total_sat: f.total_sat,
                    csv_delay_blocks: f.csv_delay_blocks,
                    coop_close_fee_sat,
                    extra_cost_vs_coop_sat: f.extra_cost_vs_coop_sat,
                },
                recommendations: Recommendations {
                    implementation_priority,
                    actions: r.actions.unwrap_or_default(),
                    dust_at_stake_sat: r.dust_at_stake_sat,
                    dust_recoverable_sat: r.dust_recoverable_sat.unwrap_or(0),
                    dust_optimization_potential: r.dust_optimization_potential,
                    expected_cost_sat: r.expected_cost_sat,
                    expected_benefit_sat: r.expected_benefit_sat,
                    cost_benefit_ratio: r.cost_benefit_ratio,
                },
                warnings: self.warnings,
                flow: self.flow,
                notes: self.notes,
                fee_rate: self.fee_rate,
            },
            action_ids_left_out,
            dust_recoverable_left_out,
        })
    }
}

impl ReadChannel {
    /// Fills what follows from the channel's actions (resolved): a v3 dust recoverable.
    pub(super) fn fill_from_actions(&mut self) {
        if self.dust_recoverable_left_out {
            let c = &mut self.channel;
            c.recommendations.dust_recoverable_sat =
                usual_dust_recoverable(&c.dust, &c.recommendations.actions);
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}
