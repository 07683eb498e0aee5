//! One recommended [`Action`]: its kind, how LND supports it, its stable id ([`action_id`]) and
//! its JSON form.

use std::borrow::Cow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::command::{Alternative, Command};
use super::ids::{self, ChanIds};
use super::text::{ActionText, Wording};
use super::ChannelPlan;
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

    /// The kind named `name` (its `snake_case` name), as an action id starts with it.
    pub fn from_name(name: &str) -> Option<Self> {
        use serde::de::{value, IntoDeserializer};
        let name: value::StrDeserializer<'_, value::Error> = name.into_deserializer();
        Self::deserialize(name).ok()
    }

    /// How hard the kind's usual route is: what a v3 plan file takes for an absent `complexity`.
    pub fn usual_complexity(self) -> Complexity {
        match self {
            ActionKind::Rebalance | ActionKind::SpliceIn | ActionKind::SpliceOut => {
                Complexity::Medium
            }
            _ => Complexity::Low,
        }
    }

    /// How LND carries the kind out: what a v3 plan file takes for an absent `lnd_support`.
    pub fn usual_lnd_support(self) -> LndSupport {
        match self {
            ActionKind::Rebalance => LndSupport::ExternalTool,
            ActionKind::SpliceIn | ActionKind::SpliceOut => LndSupport::NotSupported,
            ActionKind::HoldOffForceClose => LndSupport::Advisory,
            ActionKind::SetMaxFeeExposure => LndSupport::Config,
            ActionKind::RaiseMinHtlc | ActionKind::Close | ActionKind::UpdatePolicy => {
                LndSupport::Native
            }
        }
    }

    /// The usual `dust_impact_sat` of an action of this kind with this benefit: the benefit of
    /// the kinds whose benefit is the dust they keep off a commitment, 0 for the others (what a
    /// v3 plan file takes for an absent `dust_impact_sat`).
    pub fn usual_dust_impact(self, expected_benefit_sat: u64) -> Option<i64> {
        match self {
            ActionKind::HoldOffForceClose | ActionKind::RaiseMinHtlc => {
                i64::try_from(expected_benefit_sat).ok()
            }
            _ => Some(0),
        }
    }
}

/// What an action id `<kind>:<scope>[:<bucket>]` says of its action: the kind and the channels
/// (none for `node`); `None` when the id is not of that form.
pub(super) fn parse_action_id(id: &str) -> Option<(ActionKind, ChanIds)> {
    let (kind, rest) = id.split_once(':')?;
    let kind = ActionKind::from_name(kind)?;
    let scope = rest.split(':').next()?;
    let chan_ids = if scope == "node" {
        ChanIds::new()
    } else {
        scope
            .split('>')
            .map(ids::parse_chan_id)
            .collect::<Option<ChanIds>>()?
    };
    Some((kind, chan_ids))
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
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<ActionKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chan_ids: Option<ids::ChanIdsView<'a>>,
    priority: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    implementation_priority: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    amount_sat: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected_cost_sat: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected_benefit_sat: Option<u64>,
    #[serde(skip_serializing_if = "is_empty")]
    cost_formula: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    benefit_formula: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    dust_impact_sat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    complexity: Option<Complexity>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    prerequisites: &'a [String],
    #[serde(skip_serializing_if = "is_empty")]
    rationale: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    lnd_support: Option<LndSupport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lnd_note: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    commands: &'a [Command],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    alternatives: &'a [Alternative],
}

/// An action to write, with or without its words (see [`super::document`]).
///
/// With `channels` (a v3 plan file) it also leaves out what follows from its id, its kind and
/// its channels: `kind` and `chan_ids` when the id names them, `implementation_priority` when
/// it is the highest of its channels', `complexity`, `lnd_support` and `dust_impact_sat` when
/// they are the kind's usual ones, and a cost or benefit of 0. Without, it is written whole.
pub(super) struct ActionDoc<'a> {
    pub action: &'a Action,
    pub words: bool,
    pub channels: Option<&'a [ChannelPlan]>,
}

/// A channel's `implementation_priority` by id, `None` for a channel the plan does not have.
pub(super) type PriorityOf<'a> = &'a dyn Fn(ChanId) -> Option<u8>;

/// The highest `implementation_priority` of the channels `chan_ids` names, or `None` when
/// there are none or one is unknown.
fn channels_priority(priority_of: PriorityOf<'_>, chan_ids: &[ChanId]) -> Option<u8> {
    chan_ids
        .iter()
        .map(|id| priority_of(*id))
        .try_fold(None::<u8>, |best, p| Some(best.max(Some(p?))))?
}

/// `implementation_priority` of the channels of `channels` (sorted by id, as a plan keeps them).
pub(super) fn priority_in(channels: &[ChannelPlan]) -> impl Fn(ChanId) -> Option<u8> + '_ {
    move |id| {
        let at = channels.binary_search_by_key(&id, |c| c.chan_id).ok()?;
        Some(channels[at].recommendations.implementation_priority)
    }
}

impl Serialize for ActionDoc<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let action = self.action;
        let text = action.text();
        let words = self.words;
        let compact = self.channels.is_some();
        let named = if compact {
            parse_action_id(&action.id)
        } else {
            None
        };
        let kind_named = named.as_ref().is_some_and(|(k, _)| *k == action.kind);
        let chan_ids_named = named.as_ref().is_some_and(|(_, c)| *c == action.chan_ids);
        let priority_follows = self.channels.is_some_and(|channels| {
            channels_priority(&priority_in(channels), &action.chan_ids)
                == Some(action.implementation_priority)
        });
        let unless = |usual: bool| compact && usual;
        let amount = |sat: u64| (!unless(sat == 0)).then_some(sat);
        ActionView {
            id: &action.id,
            kind: (!kind_named).then_some(action.kind),
            chan_ids: (!chan_ids_named).then_some(ids::ChanIdsView(&action.chan_ids)),
            priority: action.priority,
            implementation_priority: (!priority_follows).then_some(action.implementation_priority),
            amount_sat: action.amount_sat,
            expected_cost_sat: amount(action.expected_cost_sat),
            expected_benefit_sat: amount(action.expected_benefit_sat),
            cost_formula: if words { &text.cost_formula } else { "" },
            benefit_formula: if words { &text.benefit_formula } else { "" },
            dust_impact_sat: (!unless(
                action.kind.usual_dust_impact(action.expected_benefit_sat)
                    == Some(action.dust_impact_sat),
            ))
            .then_some(action.dust_impact_sat),
            complexity: (!unless(action.kind.usual_complexity() == action.complexity))
                .then_some(action.complexity),
            prerequisites: if words { &text.prerequisites } else { &[] },
            rationale: if words { &text.rationale } else { "" },
            lnd_support: (!unless(action.kind.usual_lnd_support() == action.lnd_support))
                .then_some(action.lnd_support),
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
            channels: None,
        }
        .serialize(serializer)
    }
}

/// An action as read from a plan file: v1 has every field, v2 leaves out the words of actions
/// outside `priority_actions`, absent values and empty lists, v3 also what follows from the
/// id, the kind and the channels (see [`ActionDoc`]).
#[derive(Deserialize)]
pub(super) struct ActionRecord {
    id: Arc<str>,
    #[serde(default)]
    kind: Option<ActionKind>,
    #[serde(default, deserialize_with = "some_chan_ids")]
    chan_ids: Option<ChanIds>,
    priority: u8,
    #[serde(default)]
    implementation_priority: Option<u8>,
    #[serde(default)]
    amount_sat: Option<u64>,
    #[serde(default)]
    expected_cost_sat: u64,
    #[serde(default)]
    expected_benefit_sat: u64,
    #[serde(default)]
    cost_formula: String,
    #[serde(default)]
    benefit_formula: String,
    #[serde(default)]
    dust_impact_sat: Option<i64>,
    #[serde(default)]
    complexity: Option<Complexity>,
    #[serde(default)]
    prerequisites: Vec<String>,
    #[serde(default)]
    rationale: String,
    #[serde(default)]
    lnd_support: Option<LndSupport>,
    #[serde(default)]
    lnd_note: Option<String>,
    #[serde(default)]
    commands: Vec<Command>,
    #[serde(default)]
    alternatives: Vec<Alternative>,
}

fn some_chan_ids<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<ChanIds>, D::Error> {
    ids::deserialize_chan_ids(d).map(Some)
}

impl<'de> Deserialize<'de> for Action {
    /// An action read whole (a v1 channel section, a v2 plan's `actions`): nothing to take
    /// from channels.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ActionRecord::deserialize(deserializer)?
            .into_action(None)
            .map_err(serde::de::Error::custom)
    }
}

impl ActionRecord {
    /// The action, with what the file left out filled back: from the id, the kind, and the
    /// highest `implementation_priority` of its channels in `channels` (a v3 plan's, filled).
    pub(super) fn into_action(self, priority_of: Option<PriorityOf<'_>>) -> Result<Action, String> {
        let r = self;
        let named = parse_action_id(&r.id);
        let missing = |field: &str| format!("action `{}` has no `{field}`", r.id);
        let kind = match r.kind.or(named.as_ref().map(|(k, _)| *k)) {
            Some(kind) => kind,
            None => return Err(missing("kind")),
        };
        let chan_ids = match r.chan_ids.or(named.map(|(_, c)| c)) {
            Some(chan_ids) => chan_ids,
            None => return Err(missing("chan_ids")),
        };
        let implementation_priority = match r
            .implementation_priority
            .or_else(|| channels_priority(priority_of?, &chan_ids))
        {
            Some(p) => p,
            None => return Err(missing("implementation_priority")),
        };
        let dust_impact_sat = match r
            .dust_impact_sat
            .or_else(|| kind.usual_dust_impact(r.expected_benefit_sat))
        {
            Some(d) => d,
            None => return Err(missing("dust_impact_sat")),
        };
        Ok(Action {
            id: r.id,
            kind,
            chan_ids,
            priority: r.priority,
            implementation_priority,
            amount_sat: r.amount_sat,
            expected_cost_sat: r.expected_cost_sat,
            expected_benefit_sat: r.expected_benefit_sat,
            dust_impact_sat,
            complexity: r.complexity.unwrap_or(kind.usual_complexity()),
            lnd_support: r.lnd_support.unwrap_or(kind.usual_lnd_support()),
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

/// An action where a plan names one: the whole action (v1) or its id (v2, v3).
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum ActionRef {
    Id(Arc<str>),
    Whole(Box<Action>),
}

/// A channel's actions as read: whole actions (v1), or ids (v2) that stand for the action of
/// the top-level `actions` until the plan (`document`) resolves them.
pub(super) fn deserialize_action_list<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<Action>, D::Error> {
    let refs = Vec::<ActionRef>::deserialize(d)?;
    Ok(refs
        .into_iter()
        .map(|r| match r {
            ActionRef::Whole(action) => *action,
            ActionRef::Id(id) => Action::named(id),
        })
        .collect())
}

/// A channel's actions as v2 writes them: their ids.
pub(super) fn serialize_action_ids<S: serde::Serializer>(
    actions: &[Action],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(actions.iter().map(|a| &*a.id))
}

#[cfg(test)]
mod tests {
    use super::ActionKind;

    #[test]
    fn a_kind_is_found_by_its_schema_name_and_nothing_else_is() {
        for kind in [
            ActionKind::Rebalance,
            ActionKind::HoldOffForceClose,
            ActionKind::UpdatePolicy,
        ] {
            assert_eq!(ActionKind::from_name(kind.as_str()), Some(kind));
        }
        assert_eq!(ActionKind::from_name("Rebalance"), None);
        assert_eq!(ActionKind::from_name("node"), None);
    }
}
