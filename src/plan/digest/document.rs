//! The plan document's fields the digest keeps: the top level, channel sections, HTLC rows,
//! recommendations, actions and alerts.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::outgoing_trimmed;
use super::shape::{element, field, Flag, Lenient, Shape, Text};
use super::state::{Place, ReadState};
use crate::plan::ids::parse_chan_id;
use crate::plan::{Alert, FeeRateMemory};

/// The plan document: a JSON object (anything else is not a plan at all, so this one is not
/// lenient).
pub(super) struct PlanSeed<'s>(pub(super) &'s mut ReadState);

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
pub(super) enum PlanKey {
    SchemaVersion,
    GeneratedAt,
    Channels,
    Alerts,
    #[serde(other)]
    Other,
}

impl<'de> DeserializeSeed<'de> for PlanSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PlanSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a dustwatch plan (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let state = self.0;
        while let Some(key) = map.next_key::<PlanKey>()? {
            match key {
                PlanKey::SchemaVersion => {
                    let value = map.next_value::<serde_json::Value>()?;
                    state.check_version(value)?;
                }
                PlanKey::GeneratedAt => {
                    let place = Place::Plan("generated_at");
                    let already = state.generated_at.is_some();
                    if let Some(at) = field(&mut map, state, place, already, Text)? {
                        state.generated_at = Some(at);
                    }
                }
                PlanKey::Channels => {
                    let already = state.seen_channels;
                    state.seen_channels = true;
                    field(&mut map, state, Place::Plan("channels"), already, Channels)?;
                }
                PlanKey::Alerts => {
                    let place = Place::Plan("alerts");
                    let already = state.alerts.is_some();
                    if let Some(alerts) = field(&mut map, state, place, already, Alerts)? {
                        state.alerts = Some(alerts);
                    }
                }
                PlanKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// `channels`: an array of channel sections.
pub(super) struct Channels;

impl<'de> Shape<'de> for Channels {
    type Output = ();
    const EXPECTED: &'static str = "an array of channel sections";

    fn seq<A: SeqAccess<'de>>(
        self,
        state: &mut ReadState,
        mut seq: A,
    ) -> Result<Option<()>, A::Error> {
        let mut index = 0;
        while element(&mut seq, state, Place::Channel(index, None), Channel(index))? {
            index += 1;
        }
        Ok(Some(()))
    }
}

/// One channel section (its index in `channels`): its id, whether its HTLC rows show outgoing
/// dust, its actions' ids, its `fee_rate`.
pub(super) struct Channel(usize);

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
pub(super) enum ChannelKey {
    ChanId,
    Htlcs,
    Recommendations,
    FeeRate,
    #[serde(other)]
    Other,
}

impl<'de> Shape<'de> for Channel {
    type Output = ();
    const EXPECTED: &'static str = "a channel section (a JSON object)";

    fn map<A: MapAccess<'de>>(
        self,
        state: &mut ReadState,
        mut map: A,
    ) -> Result<Option<()>, A::Error> {
        let index = self.0;
        let place = |name| Place::Channel(index, Some(name));
        let mut chan_id: Option<String> = None;
        let mut outgoing_dust: Option<bool> = None;
        let mut seen_recommendations = false;
        let (mut seen_fee_rate, mut fee_rate) = (false, None);
        while let Some(key) = map.next_key::<ChannelKey>()? {
            match key {
                ChannelKey::ChanId => {
                    let already = chan_id.is_some();
                    if let Some(id) = field(&mut map, state, place("chan_id"), already, Text)? {
                        chan_id = Some(id);
                    }
                }
                ChannelKey::Htlcs => {
                    let already = outgoing_dust.is_some();
                    let shape = Htlcs(index);
                    if let Some(dust) = field(&mut map, state, place("htlcs"), already, shape)? {
                        outgoing_dust = Some(dust);
                    }
                }
                ChannelKey::Recommendations => {
                    let already = seen_recommendations;
                    seen_recommendations = true;
                    let shape = Recommendations(index);
                    field(&mut map, state, place("recommendations"), already, shape)?;
                }
                ChannelKey::FeeRate => {
                    // Small and optional: read whole, like an alert (`null` is absent, as for
                    // `read_plan`).
                    let value = map.next_value::<serde_json::Value>()?;
                    if seen_fee_rate {
                        state.mismatch(place("fee_rate"), "duplicate field")?;
                    } else if !value.is_null() {
                        match serde_json::from_value::<FeeRateMemory>(value) {
                            Ok(memory) => fee_rate = Some(memory),
                            Err(err) => state.mismatch(place("fee_rate"), err)?,
                        }
                    }
                    seen_fee_rate = true;
                }
                ChannelKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        for (name, present) in [
            ("chan_id", chan_id.is_some()),
            ("htlcs", outgoing_dust.is_some()),
            ("recommendations", seen_recommendations),
        ] {
            if !present {
                state.mismatch(place(name), "missing field")?;
            }
        }
        if let (Some(id), Some(memory)) = (&chan_id, fee_rate) {
            match parse_chan_id(id) {
                Some(id) => state.fee_rates.push((id, memory)),
                None => state.mismatch(place("chan_id"), "not a uint64 channel id")?,
            }
        }
        if let (Some(id), Some(true)) = (chan_id, outgoing_dust) {
            state.outgoing_dust_channels.push(id);
        }
        Ok(Some(()))
    }
}

/// A channel's `htlcs` (the channel's index): whether any row is outgoing and trimmed on either
/// commitment.
pub(super) struct Htlcs(usize);

impl<'de> Shape<'de> for Htlcs {
    type Output = bool;
    const EXPECTED: &'static str = "an array of HTLC rows";

    fn seq<A: SeqAccess<'de>>(
        self,
        state: &mut ReadState,
        mut seq: A,
    ) -> Result<Option<bool>, A::Error> {
        let channel = self.0;
        let mut any = false;
        for index in 0.. {
            let shape = Htlc { channel, index };
            match seq.next_element_seed(Lenient {
                shape,
                state: &mut *state,
            })? {
                None => break,
                Some(Ok(dust)) => any |= dust,
                Some(Err(found)) => state.mismatch(Place::Htlc(channel, index, None), found)?,
            }
        }
        Ok(Some(any))
    }
}

/// One HTLC row: whether it is outgoing dust.
pub(super) struct Htlc {
    channel: usize,
    index: usize,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
pub(super) enum HtlcKey {
    Incoming,
    TrimmedOnLocal,
    TrimmedOnRemote,
    #[serde(other)]
    Other,
}

impl<'de> Shape<'de> for Htlc {
    type Output = bool;
    const EXPECTED: &'static str = "an HTLC row (a JSON object)";

    fn map<A: MapAccess<'de>>(
        self,
        state: &mut ReadState,
        mut map: A,
    ) -> Result<Option<bool>, A::Error> {
        let Htlc { channel, index } = self;
        let place = |name| Place::Htlc(channel, index, Some(name));
        let (mut incoming, mut on_local, mut on_remote) = (None, None, None);
        while let Some(key) = map.next_key::<HtlcKey>()? {
            let (name, slot) = match key {
                HtlcKey::Incoming => ("incoming", &mut incoming),
                HtlcKey::TrimmedOnLocal => ("trimmed_on_local", &mut on_local),
                HtlcKey::TrimmedOnRemote => ("trimmed_on_remote", &mut on_remote),
                HtlcKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            let already = slot.is_some();
            if let Some(value) = field(&mut map, state, place(name), already, Flag)? {
                *slot = Some(value);
            }
        }
        for (name, present) in [
            ("incoming", incoming.is_some()),
            ("trimmed_on_local", on_local.is_some()),
            ("trimmed_on_remote", on_remote.is_some()),
        ] {
            if !present {
                state.mismatch(place(name), "missing field")?;
            }
        }
        // With a field missing the plan is refused at the end, so `false` is never used.
        Ok(Some(match (incoming, on_local, on_remote) {
            (Some(incoming), Some(on_local), Some(on_remote)) => {
                outgoing_trimmed(incoming, on_local, on_remote)
            }
            _ => false,
        }))
    }
}

/// A channel's `recommendations` (the channel's index): only its `actions` are read.
pub(super) struct Recommendations(usize);

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
pub(super) enum RecommendationsKey {
    Actions,
    #[serde(other)]
    Other,
}

impl<'de> Shape<'de> for Recommendations {
    type Output = ();
    const EXPECTED: &'static str = "a recommendations object";

    fn map<A: MapAccess<'de>>(
        self,
        state: &mut ReadState,
        mut map: A,
    ) -> Result<Option<()>, A::Error> {
        let channel = self.0;
        let place = Place::Recommendations(channel, "actions");
        let mut seen_actions = false;
        while let Some(key) = map.next_key::<RecommendationsKey>()? {
            match key {
                RecommendationsKey::Actions => {
                    let already = seen_actions;
                    seen_actions = true;
                    field(&mut map, state, place, already, Actions(channel))?;
                }
                RecommendationsKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !seen_actions {
            state.mismatch(place, "missing field")?;
        }
        Ok(Some(()))
    }
}

/// A channel's actions (the channel's index): each id goes into the digest's id list.
pub(super) struct Actions(usize);

impl<'de> Shape<'de> for Actions {
    type Output = ();
    const EXPECTED: &'static str = "an array of actions";

    fn seq<A: SeqAccess<'de>>(
        self,
        state: &mut ReadState,
        mut seq: A,
    ) -> Result<Option<()>, A::Error> {
        let channel = self.0;
        let mut index = 0;
        while element(
            &mut seq,
            state,
            Place::Action(channel, index, None),
            ActionId { channel, index },
        )? {
            index += 1;
        }
        Ok(Some(()))
    }
}

/// One action: only its `id` is read.
pub(super) struct ActionId {
    channel: usize,
    index: usize,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
pub(super) enum ActionKey {
    Id,
    #[serde(other)]
    Other,
}

impl<'de> Shape<'de> for ActionId {
    type Output = ();
    const EXPECTED: &'static str = "an action (a JSON object)";

    fn map<A: MapAccess<'de>>(
        self,
        state: &mut ReadState,
        mut map: A,
    ) -> Result<Option<()>, A::Error> {
        let place = Place::Action(self.channel, self.index, Some("id"));
        let mut id = None;
        while let Some(key) = map.next_key::<ActionKey>()? {
            match key {
                ActionKey::Id => {
                    let already = id.is_some();
                    if let Some(value) = field(&mut map, state, place, already, Text)? {
                        id = Some(value);
                    }
                }
                ActionKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        match id {
            Some(id) => state.action_ids.push(id),
            None => state.mismatch(place, "missing field")?,
        }
        Ok(Some(()))
    }
}

/// `alerts`: kept whole. Each alert passes through a `serde_json::Value` (one alert at a time),
/// so that an alert of another shape is noted, not fatal, while the version is unknown.
pub(super) struct Alerts;

impl<'de> Shape<'de> for Alerts {
    type Output = Vec<Alert>;
    const EXPECTED: &'static str = "an array of alerts";

    fn seq<A: SeqAccess<'de>>(
        self,
        state: &mut ReadState,
        mut seq: A,
    ) -> Result<Option<Vec<Alert>>, A::Error> {
        let mut alerts = Vec::new();
        for index in 0.. {
            let Some(value) = seq.next_element::<serde_json::Value>()? else {
                break;
            };
            match serde_json::from_value::<Alert>(value) {
                Ok(alert) => alerts.push(alert),
                Err(err) => state.mismatch(Place::Alert(index), err)?,
            }
        }
        Ok(Some(alerts))
    }
}
