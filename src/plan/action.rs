//! One recommended [`Action`]: its kind, how LND supports it, its stable id ([`action_id`]) and
//! its schema v1 JSON form.

use std::borrow::Cow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::command::{Alternative, Command};
use super::ids::{self, ChanIds};
use super::text::{ActionText, Wording};
use crate::model::ChanId;

/// What an action does. `snake_case` names are part of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Rebalance,
    SpliceIn,
    SpliceOut,
    RaiseMinHtlc,
    HoldOffForceClose,
    SetMaxFeeExposure,
    Close,
    UpdatePolicy,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Rebalance => "rebalance",
            ActionKind::SpliceIn => "splice_in",
            ActionKind::SpliceOut => "splice_out",
            ActionKind::RaiseMinHtlc => "raise_min_htlc",
            ActionKind::HoldOffForceClose => "hold_off_force_close",
            ActionKind::SetMaxFeeExposure => "set_max_fee_exposure",
            ActionKind::Close => "close",
            ActionKind::UpdatePolicy => "update_policy",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Complexity {
    Low,
    Medium,
    High,
}

/// How LND can carry an action out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LndSupport {
    /// An `lncli` command does it.
    Native,
    /// LND cannot do it directly; an external tool (bos, Loop) or a workaround can.
    ExternalTool,
    /// The protocol feature does not exist in LND (splicing); the action names the LND route instead.
    NotSupported,
    /// A change to `lnd.conf` and a restart.
    Config,
    /// Nothing to run: a warning about what not to do.
    Advisory,
}

/// One recommended action.
///
/// Its words (formulas, rationale, commands, alternatives) are held as a [`Wording`], written
/// out when read: see [`text`] for why. The JSON form is flat, as schema v1 documents it; the
/// two impls below keep that field order.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// Stable across runs for the same situation: `<kind>:<scope>[:<bucket>]` (see docs/plan-schema.md).
    /// Shared, not copied, by the clones of the action and by [`Changes`](super::Changes).
    pub id: Arc<str>,
    pub kind: ActionKind,
    /// Channels involved; for a rebalance `[source, sink]`.
    pub chan_ids: ChanIds,
    /// 1 (can wait) to 10 (act now).
    pub priority: u8,
    /// The highest `implementation_priority` of the channels involved.
    pub implementation_priority: u8,
    /// The amount moved, added or removed, when the action has one.
    pub amount_sat: Option<u64>,
    pub expected_cost_sat: u64,
    pub expected_benefit_sat: u64,
    /// Positive: dust sat kept from miners or out of fee exposure; negative: dust sat the action burns.
    pub dust_impact_sat: i64,
    pub complexity: Complexity,
    pub lnd_support: LndSupport,
    /// `cost_formula`, `benefit_formula`, `prerequisites`, `rationale`, `lnd_note`, `commands`
    /// and `alternatives`.
    pub wording: Wording,
}

impl Action {
    /// The action's words (built now when they are described rather than written).
    pub fn text(&self) -> Cow<'_, ActionText> {
        self.wording.text()
    }
}

/// An action as schema v1 lays it out, borrowing from the action and its text.
#[derive(Serialize)]
struct ActionView<'a> {
    id: &'a str,
    kind: ActionKind,
    chan_ids: ids::ChanIdsView<'a>,
    priority: u8,
    implementation_priority: u8,
    amount_sat: Option<u64>,
    expected_cost_sat: u64,
    expected_benefit_sat: u64,
    cost_formula: &'a str,
    benefit_formula: &'a str,
    dust_impact_sat: i64,
    complexity: Complexity,
    prerequisites: &'a [String],
    rationale: &'a str,
    lnd_support: LndSupport,
    lnd_note: Option<&'a str>,
    commands: &'a [Command],
    alternatives: &'a [Alternative],
}

impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self.text();
        ActionView {
            id: &self.id,
            kind: self.kind,
            chan_ids: ids::ChanIdsView(&self.chan_ids),
            priority: self.priority,
            implementation_priority: self.implementation_priority,
            amount_sat: self.amount_sat,
            expected_cost_sat: self.expected_cost_sat,
            expected_benefit_sat: self.expected_benefit_sat,
            cost_formula: &text.cost_formula,
            benefit_formula: &text.benefit_formula,
            dust_impact_sat: self.dust_impact_sat,
            complexity: self.complexity,
            prerequisites: &text.prerequisites,
            rationale: &text.rationale,
            lnd_support: self.lnd_support,
            lnd_note: text.lnd_note.as_deref(),
            commands: &text.commands,
            alternatives: &text.alternatives,
        }
        .serialize(serializer)
    }
}

/// An action as read from a plan file (every field of schema v1 is required).
#[derive(Deserialize)]
struct ActionRecord {
    id: Arc<str>,
    kind: ActionKind,
    #[serde(deserialize_with = "ids::deserialize_chan_ids")]
    chan_ids: ChanIds,
    priority: u8,
    implementation_priority: u8,
    amount_sat: Option<u64>,
    expected_cost_sat: u64,
    expected_benefit_sat: u64,
    cost_formula: String,
    benefit_formula: String,
    dust_impact_sat: i64,
    complexity: Complexity,
    prerequisites: Vec<String>,
    rationale: String,
    lnd_support: LndSupport,
    lnd_note: Option<String>,
    commands: Vec<Command>,
    alternatives: Vec<Alternative>,
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let r = ActionRecord::deserialize(deserializer)?;
        Ok(Action {
            id: r.id,
            kind: r.kind,
            chan_ids: r.chan_ids,
            priority: r.priority,
            implementation_priority: r.implementation_priority,
            amount_sat: r.amount_sat,
            expected_cost_sat: r.expected_cost_sat,
            expected_benefit_sat: r.expected_benefit_sat,
            dust_impact_sat: r.dust_impact_sat,
            complexity: r.complexity,
            lnd_support: r.lnd_support,
            wording: Wording::written(ActionText {
                cost_formula: r.cost_formula,
                benefit_formula: r.benefit_formula,
                prerequisites: r.prerequisites,
                rationale: r.rationale,
                lnd_note: r.lnd_note,
                commands: r.commands,
                alternatives: r.alternatives,
            }),
        })
    }
}

/// Builds a stable action id: `<kind>:<scope>` or `<kind>:<scope>:<bucket>`.
///
/// `scope` is the channel ids joined by `>` (ordered: source before sink for a rebalance), or
/// `node` for node-wide actions. `bucket` is a coarse, qualitative label (a reason or a
/// direction), never an amount, so the id survives the small changes of every cycle.
///
/// Every action of a big node gets an id, so it is written into a buffer the thread keeps
/// (channel ids by `itoa`, which writes digits without checking them as UTF-8 again) and copied
/// once into the shared string: one allocation per action, no formatting machinery.
pub fn action_id(kind: ActionKind, chan_ids: &[ChanId], bucket: Option<&str>) -> Arc<str> {
    thread_local! {
        /// Room for any id of one or two channel ids and a bucket; it grows for longer ones.
        static ID: std::cell::RefCell<String> = std::cell::RefCell::new(String::with_capacity(128));
    }
    let write = |id: &mut String| {
        id.clear();
        id.push_str(kind.as_str());
        id.push(':');
        if chan_ids.is_empty() {
            id.push_str("node");
        }
        let mut digits = itoa::Buffer::new();
        for (i, chan_id) in chan_ids.iter().enumerate() {
            if i > 0 {
                id.push('>');
            }
            id.push_str(digits.format(*chan_id));
        }
        if let Some(bucket) = bucket {
            id.push(':');
            id.push_str(bucket);
        }
        Arc::from(id.as_str())
    };
    ID.with(|id| match id.try_borrow_mut() {
        Ok(mut id) => write(&mut id),
        // Only if building an id ever built another on the same thread: a buffer of its own.
        Err(_) => write(&mut String::new()),
    })
}
