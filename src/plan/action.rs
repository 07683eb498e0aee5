//! One recommended [`Action`]: its kind, how LND supports it, its stable id ([`action_id`]) and
//! its JSON form.

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
/// out when read: see [`text`] for why. The JSON form is flat, as docs/plan-schema.md documents it; the
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

impl Action {
    /// An action known by its id only, until the plan it was read from resolves it (a v2
    /// channel section names its actions by id).
    pub(super) fn named(id: Arc<str>) -> Self {
        Action {
            id,
            kind: ActionKind::Close,
            chan_ids: ChanIds::new(),
            priority: 0,
            implementation_priority: 0,
            amount_sat: None,
            expected_cost_sat: 0,
            expected_benefit_sat: 0,
            dust_impact_sat: 0,
            complexity: Complexity::Low,
            lnd_support: LndSupport::Advisory,
            wording: Wording::default(),
        }
    }
}

fn is_empty(s: &str) -> bool {
    s.is_empty()
}

/// An action as the plan document lays it out, borrowing from the action and its text. The
/// words are left out where `ActionDoc::words` is false; the commands never are.
#[derive(Serialize)]
struct ActionView<'a> {
    id: &'a str,
    kind: ActionKind,
    chan_ids: ids::ChanIdsView<'a>,
    priority: u8,
    implementation_priority: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    amount_sat: Option<u64>,
    expected_cost_sat: u64,
    expected_benefit_sat: u64,
    #[serde(skip_serializing_if = "is_empty")]
    cost_formula: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    benefit_formula: &'a str,
    dust_impact_sat: i64,
    complexity: Complexity,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    prerequisites: &'a [String],
    #[serde(skip_serializing_if = "is_empty")]
    rationale: &'a str,
    lnd_support: LndSupport,
    #[serde(skip_serializing_if = "Option::is_none")]
    lnd_note: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    commands: &'a [Command],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    alternatives: &'a [Alternative],
}

/// An action to write, with or without its words (see [`super::document`]).
pub(super) struct ActionDoc<'a> {
    pub action: &'a Action,
    pub words: bool,
}

impl Serialize for ActionDoc<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let action = self.action;
        let text = action.text();
        let words = self.words;
        ActionView {
            id: &action.id,
            kind: action.kind,
            chan_ids: ids::ChanIdsView(&action.chan_ids),
            priority: action.priority,
            implementation_priority: action.implementation_priority,
            amount_sat: action.amount_sat,
            expected_cost_sat: action.expected_cost_sat,
            expected_benefit_sat: action.expected_benefit_sat,
            cost_formula: if words { &text.cost_formula } else { "" },
            benefit_formula: if words { &text.benefit_formula } else { "" },
            dust_impact_sat: action.dust_impact_sat,
            complexity: action.complexity,
            prerequisites: if words { &text.prerequisites } else { &[] },
            rationale: if words { &text.rationale } else { "" },
            lnd_support: action.lnd_support,
            lnd_note: text.lnd_note.as_deref().filter(|_| words),
            commands: &text.commands,
            alternatives: if words { &text.alternatives } else { &[] },
        }
        .serialize(serializer)
    }
}

impl Serialize for Action {
    /// The whole action, words included.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ActionDoc {
            action: self,
            words: true,
        }
        .serialize(serializer)
    }
}

/// An action as read from a plan file: v1 has every field, v2 leaves out the words of actions
/// outside `priority_actions`, absent values and empty lists.
#[derive(Deserialize)]
struct ActionRecord {
    id: Arc<str>,
    kind: ActionKind,
    #[serde(deserialize_with = "ids::deserialize_chan_ids")]
    chan_ids: ChanIds,
    priority: u8,
    implementation_priority: u8,
    #[serde(default)]
    amount_sat: Option<u64>,
    expected_cost_sat: u64,
    expected_benefit_sat: u64,
    #[serde(default)]
    cost_formula: String,
    #[serde(default)]
    benefit_formula: String,
    dust_impact_sat: i64,
    complexity: Complexity,
    #[serde(default)]
    prerequisites: Vec<String>,
    #[serde(default)]
    rationale: String,
    lnd_support: LndSupport,
    #[serde(default)]
    lnd_note: Option<String>,
    #[serde(default)]
    commands: Vec<Command>,
    #[serde(default)]
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
