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

use std::fmt;
use std::io::{BufReader, Read};
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Unexpected, Visitor};
use serde::Deserialize;

use super::ids::parse_chan_id;
use super::{Alert, FeeRateMemory, Plan, PlanError, SCHEMA_VERSION};
use crate::model::ChanId;

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

/// How a failure raised inside the reader is reported, when serde_json classifies it as a data
/// error (syntax and I/O errors are classified by serde_json itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fail {
    /// The document is not a JSON object with one `schema_version`: not a plan at all.
    Json,
    /// A v1 plan with a digested field of the wrong shape.
    Invalid,
}

/// Everything the streaming reader gathers, and what went wrong so far.
#[derive(Default)]
struct ReadState {
    /// `schema_version` was seen and is 1; from then on a wrong shape is an error at once.
    version_ok: bool,
    seen_version: bool,
    /// A version refusal; reported instead of whatever error stopped the parser.
    refusal: Option<PlanError>,
    fail: Option<Fail>,
    /// The first wrong shape seen while the version was unknown, with where it was.
    first_mismatch: Option<String>,
    generated_at: Option<String>,
    seen_channels: bool,
    alerts: Option<Vec<Alert>>,
    action_ids: Vec<String>,
    outgoing_dust_channels: Vec<String>,
    fee_rates: Vec<(ChanId, FeeRateMemory)>,
}

impl ReadState {
    /// Notes a field of the wrong shape at `place`. Once the version is known to be 1 this is
    /// an error (serde_json adds the position); before that, it is remembered and reading goes
    /// on, so that the version decides the error.
    fn mismatch<E: de::Error>(&mut self, place: Place, found: impl fmt::Display) -> Result<(), E> {
        let message = format!("{place}: {found}");
        if self.version_ok {
            self.fail = Some(Fail::Invalid);
            Err(E::custom(message))
        } else {
            self.first_mismatch.get_or_insert(message);
            Ok(())
        }
    }

    fn check_version<E: de::Error>(&mut self, value: serde_json::Value) -> Result<(), E> {
        if self.seen_version {
            self.fail = Some(Fail::Json);
            return Err(E::custom("duplicate field `schema_version`"));
        }
        self.seen_version = true;
        match value {
            // `read_plan` reads the version as an `Option`, so `null` is a missing version.
            serde_json::Value::Null => {
                self.refusal = Some(PlanError::MissingSchemaVersion);
                Err(E::custom("schema_version is null"))
            }
            serde_json::Value::Number(n) if n.as_u64() == Some(u64::from(SCHEMA_VERSION)) => {
                self.version_ok = true;
                Ok(())
            }
            other => {
                let found = other.to_string();
                let message = format!("unsupported schema_version {found}");
                self.refusal = Some(PlanError::UnsupportedSchemaVersion {
                    found,
                    supported: SCHEMA_VERSION,
                });
                Err(E::custom(message))
            }
        }
    }

    /// The error for a parse that stopped early.
    fn classify(self, err: serde_json::Error) -> PlanError {
        if let Some(refusal) = self.refusal {
            return refusal;
        }
        match err.classify() {
            serde_json::error::Category::Io => PlanError::Read(err.into()),
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                PlanError::Json(err)
            }
            serde_json::error::Category::Data => match self.fail {
                Some(Fail::Invalid) => PlanError::Invalid {
                    supported: SCHEMA_VERSION,
                    source: err,
                },
                // Nothing inside a plan raised it: the document itself is not an object.
                Some(Fail::Json) | None => PlanError::Json(err),
            },
        }
    }

    /// The digest of a document read to the end, or why it is not a v1 plan.
    fn finish(self) -> Result<PlanDigest, PlanError> {
        if !self.version_ok {
            return Err(PlanError::MissingSchemaVersion);
        }
        let invalid = |message: String| PlanError::Invalid {
            supported: SCHEMA_VERSION,
            source: de::Error::custom(message),
        };
        if let Some(message) = self.first_mismatch {
            return Err(invalid(message));
        }
        let missing = |field: &str| invalid(format!("missing field `{field}`"));
        let generated_at = self.generated_at.ok_or_else(|| missing("generated_at"))?;
        if !self.seen_channels {
            return Err(missing("channels"));
        }
        let alerts = self.alerts.ok_or_else(|| missing("alerts"))?;
        Ok(PlanDigest {
            generated_at,
            // Shared only after de-duplication: a rebalance is listed by both its channels.
            action_ids: sorted_distinct(self.action_ids)
                .into_iter()
                .map(Arc::from)
                .collect(),
            outgoing_dust_channels: sorted_distinct(self.outgoing_dust_channels),
            fee_rates: sorted_by_channel(self.fee_rates),
            alerts,
        })
    }
}

/// Where in the plan a field is, for error messages (`channels[3].htlcs[0].incoming`).
#[derive(Debug, Clone, Copy)]
enum Place {
    Plan(&'static str),
    Channel(usize, Option<&'static str>),
    Htlc(usize, usize, Option<&'static str>),
    Recommendations(usize, &'static str),
    Action(usize, usize, Option<&'static str>),
    Alert(usize),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = |f: &mut fmt::Formatter<'_>, name: &Option<&str>| match name {
            Some(name) => write!(f, ".{name}"),
            None => Ok(()),
        };
        match self {
            Place::Plan(name) => write!(f, "{name}"),
            Place::Channel(c, name) => {
                write!(f, "channels[{c}]")?;
                field(f, name)
            }
            Place::Htlc(c, h, name) => {
                write!(f, "channels[{c}].htlcs[{h}]")?;
                field(f, name)
            }
            Place::Recommendations(c, name) => write!(f, "channels[{c}].recommendations.{name}"),
            Place::Action(c, a, name) => {
                write!(f, "channels[{c}].recommendations.actions[{a}]")?;
                field(f, name)
            }
            Place::Alert(a) => write!(f, "alerts[{a}]"),
        }
    }
}

/// A JSON value the reader expects in one shape. Any other shape is consumed (so reading can go
/// on) and reported as `None`; [`Lenient`] turns that into a description of what was found. The
/// state is passed in rather than held, so that a caller can note a mismatch in it afterwards.
trait Shape<'de>: Sized {
    type Output;
    /// What the shape is, for "expected …" in messages.
    const EXPECTED: &'static str;

    fn map<A: MapAccess<'de>>(
        self,
        _state: &mut ReadState,
        mut map: A,
    ) -> Result<Option<Self::Output>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn seq<A: SeqAccess<'de>>(
        self,
        _state: &mut ReadState,
        mut seq: A,
    ) -> Result<Option<Self::Output>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn bool(self, _: bool) -> Option<Self::Output> {
        None
    }

    fn str(self, _: &str) -> Option<Self::Output> {
        None
    }
}

/// Deserializes a [`Shape`]: `Ok(Ok(value))`, or `Ok(Err(what was found instead))`. Only
/// invalid JSON (or an error the shape raises) is an `Err`.
struct Lenient<'s, S> {
    shape: S,
    state: &'s mut ReadState,
}

/// "invalid type: string \"x\", expected a boolean", as serde words it.
fn wrong_type(found: Unexpected<'_>, expected: &str) -> String {
    format!("invalid type: {found}, expected {expected}")
}

impl<'de, S: Shape<'de>> DeserializeSeed<'de> for Lenient<'_, S> {
    type Value = Result<S::Output, String>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, S: Shape<'de>> Visitor<'de> for Lenient<'_, S> {
    type Value = Result<S::Output, String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(S::EXPECTED)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let found = self.shape.map(self.state, map)?;
        Ok(found.ok_or_else(|| wrong_type(Unexpected::Map, S::EXPECTED)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let found = self.shape.seq(self.state, seq)?;
        Ok(found.ok_or_else(|| wrong_type(Unexpected::Seq, S::EXPECTED)))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        let found = self.shape.bool(v);
        Ok(found.ok_or_else(|| wrong_type(Unexpected::Bool(v), S::EXPECTED)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let found = self.shape.str(v);
        Ok(found.ok_or_else(|| wrong_type(Unexpected::Str(v), S::EXPECTED)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Err(wrong_type(Unexpected::Unsigned(v), S::EXPECTED)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Err(wrong_type(Unexpected::Signed(v), S::EXPECTED)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Err(wrong_type(Unexpected::Float(v), S::EXPECTED)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Err(wrong_type(Unexpected::Unit, S::EXPECTED)))
    }
}

/// Reads one element of a digested array: `Ok(true)` while there are elements, a mismatch at
/// `place` noted for an element of another shape.
fn element<'de, A, S>(
    seq: &mut A,
    state: &mut ReadState,
    place: Place,
    shape: S,
) -> Result<bool, A::Error>
where
    A: SeqAccess<'de>,
    S: Shape<'de, Output = ()>,
{
    match seq.next_element_seed(Lenient {
        shape,
        state: &mut *state,
    })? {
        None => Ok(false),
        Some(Ok(())) => Ok(true),
        Some(Err(found)) => state.mismatch(place, found).map(|()| true),
    }
}

/// Reads the value of one field of a digested object: `Some(value)`, or `None` with a mismatch
/// at `place` noted. A second occurrence of a field (`already`) is a mismatch too, and skipped.
fn field<'de, A, S>(
    map: &mut A,
    state: &mut ReadState,
    place: Place,
    already: bool,
    shape: S,
) -> Result<Option<S::Output>, A::Error>
where
    A: MapAccess<'de>,
    S: Shape<'de>,
{
    if already {
        map.next_value::<IgnoredAny>()?;
        state.mismatch(place, "duplicate field")?;
        return Ok(None);
    }
    match map.next_value_seed(Lenient {
        shape,
        state: &mut *state,
    })? {
        Ok(value) => Ok(Some(value)),
        Err(found) => state.mismatch(place, found).map(|()| None),
    }
}

/// A JSON string.
struct Text;

impl Shape<'_> for Text {
    type Output = String;
    const EXPECTED: &'static str = "a string";

    fn str(self, v: &str) -> Option<String> {
        Some(v.to_string())
    }
}

/// A JSON boolean.
struct Flag;

impl Shape<'_> for Flag {
    type Output = bool;
    const EXPECTED: &'static str = "a boolean";

    fn bool(self, v: bool) -> Option<bool> {
        Some(v)
    }
}

/// The plan document: a JSON object (anything else is not a plan at all, so this one is not
/// lenient).
struct PlanSeed<'s>(&'s mut ReadState);

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum PlanKey {
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
struct Channels;

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
struct Channel(usize);

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum ChannelKey {
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
struct Htlcs(usize);

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
struct Htlc {
    channel: usize,
    index: usize,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum HtlcKey {
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
struct Recommendations(usize);

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum RecommendationsKey {
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
struct Actions(usize);

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
struct ActionId {
    channel: usize,
    index: usize,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum ActionKey {
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
struct Alerts;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyze;
    use crate::analyze::testkit::{channel, htlc, settle_balances, snapshot};
    use crate::plan::read_plan;
    use crate::settings::AnalysisSettings;
    use serde_json::Value;

    /// A plan with every part a digest keeps: a rebalance shared by two channels (one id in two
    /// sections), outgoing and incoming dust, and alerts (an inactive peer, an HTLC near expiry).
    fn plan() -> Plan {
        let mut outgoing = channel(3, 2_000_000, 1_000_000);
        for i in 0..2 {
            outgoing.pending_htlcs.push(htlc(i, false, 300, 800_010));
        }
        settle_balances(&mut outgoing);
        let mut incoming = channel(4, 2_000_000, 1_000_000);
        incoming.pending_htlcs.push(htlc(0, true, 300, 801_000));
        incoming.active = false;
        settle_balances(&mut incoming);
        let mut snap = snapshot(
            vec![
                channel(9, 2_000_000, 1_900_000),
                channel(1, 2_000_000, 50_000),
                outgoing,
                incoming,
            ],
            Some(800_000),
        );
        // Channel 1 routes out 100k sat/day at 1,500 ppm: a sink worth refilling.
        snap.flow = Some(crate::analyze::testkit::flow_of(&[
            crate::analyze::testkit::forward(86_400, 77, 1, 700_000, 1_500),
        ]));
        analyze(&snap, &AnalysisSettings::default(), None)
    }

    /// `value` as JSON text with every object's keys in the order `order` puts them.
    fn with_key_order(value: &Value, order: fn(&mut Vec<&String>)) -> String {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                order(&mut keys);
                let fields: Vec<String> = keys
                    .into_iter()
                    .map(|k| {
                        format!(
                            "{}:{}",
                            Value::from(k.as_str()),
                            with_key_order(&map[k], order)
                        )
                    })
                    .collect();
                format!("{{{}}}", fields.join(","))
            }
            Value::Array(items) => {
                let items: Vec<String> = items.iter().map(|v| with_key_order(v, order)).collect();
                format!("[{}]", items.join(","))
            }
            other => other.to_string(),
        }
    }

    fn alphabetical(keys: &mut Vec<&String>) {
        keys.sort();
    }

    fn reverse_alphabetical(keys: &mut Vec<&String>) {
        keys.sort();
        keys.reverse();
    }

    fn read(text: &str) -> Result<PlanDigest, PlanError> {
        PlanDigest::from_reader(text.as_bytes())
    }

    #[test]
    fn a_plan_reads_back_as_its_digest_whatever_the_field_order() {
        let plan = plan();
        let want = PlanDigest::of(&plan);
        // The plan has what the test is about.
        let ids: Vec<&str> = plan.all_actions().iter().map(|a| &*a.id).collect();
        let digested: Vec<&str> = want.action_ids().iter().map(|id| &**id).collect();
        assert_eq!(digested, ids);
        assert!(ids.contains(&"rebalance:9>1"), "{ids:?}");
        assert_eq!(want.outgoing_dust_channels(), ["3"]);
        assert!(want.alerts().len() >= 2, "{:?}", want.alerts());
        assert_eq!(want.alerts(), plan.alerts);
        assert_eq!(want.generated_at(), plan.generated_at);

        let value = serde_json::to_value(&plan).unwrap();
        let texts = [
            (
                "pretty, as written",
                serde_json::to_string_pretty(&plan).unwrap(),
            ),
            ("compact", serde_json::to_string(&plan).unwrap()),
            // schema_version after channels, alerts and generated_at.
            ("alphabetical", with_key_order(&value, alphabetical)),
            (
                "reverse alphabetical",
                with_key_order(&value, reverse_alphabetical),
            ),
        ];
        for (name, text) in texts {
            assert_eq!(
                read(&text).unwrap_or_else(|e| panic!("{name}: {e}")),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn latest_json_carries_the_fee_rate_memory() {
        use crate::analyze::testkit::{flow_of, forward, NOW};
        let id = crate::analyze::testkit::scid(800_000, 2);
        let node = |fee_ppm: i64, later: i64| {
            let mut sink = channel(id, 2_000_000, 100_000);
            sink.local_policy.as_mut().unwrap().fee_rate_ppm = fee_ppm;
            let mut snap = snapshot(vec![sink, channel(5, 1_000_000, 500_000)], Some(806_000));
            snap.flow = Some(flow_of(&[forward(86_400, 9, id, 4_900_000, 1_000)]));
            snap.taken_at_unix = NOW + later;
            snap
        };
        let settings = AnalysisSettings::default();
        // A fee_up on the sink (target remembered), then a fee change seen a day later.
        let first = analyze(&node(1_000, 0), &settings, None);
        let text = serde_json::to_string_pretty(&first).unwrap();
        let digest = read(&text).unwrap();
        assert_eq!(digest, PlanDigest::of(&first));
        let sink = digest.fee_rate(id).copied().expect("the sink's fee rate");
        assert_eq!((sink.ppm, sink.target_ppm), (1_000, Some(1_250)));
        assert_eq!(digest.fee_rate(5).map(|m| m.target_ppm), Some(None));
        assert_eq!(digest.fee_rate(6), None);

        let second = analyze(&node(1_100, 86_400), &settings, Some(&digest));
        let text = serde_json::to_string(&second).unwrap();
        assert!(
            text.contains(&format!(r#""changed_at_unix":{}"#, NOW + 86_400)),
            "{text}"
        );
        let digest = read(&text).unwrap();
        assert_eq!(digest, PlanDigest::of(&second));
        let sink = digest.fee_rate(id).copied().unwrap();
        assert_eq!(sink.ppm, 1_100);
        assert_eq!(sink.changed_at_unix, Some(NOW + 86_400));
        assert_eq!(sink.target_ppm, None, "cooling down: no fee_up");
        // The channel whose rate stayed has no change time: the field is left out.
        assert_eq!(digest.fee_rate(5).unwrap().changed_at_unix, None);
    }

    #[test]
    fn refusals_are_those_of_read_plan() {
        let plan = serde_json::to_string(&plan()).unwrap();
        let v2_last = {
            let mut value = serde_json::to_value(self::plan()).unwrap();
            value["schema_version"] = serde_json::json!(2);
            // A v2 plan might have channels of another shape; its version still decides.
            value["channels"] = serde_json::json!({"1": {"htlcs": 3}});
            with_key_order(&value, alphabetical)
        };
        let cases: Vec<(&str, String)> = vec![
            ("version 2", r#"{"schema_version": 2}"#.into()),
            ("version as text", r#"{"schema_version": "1"}"#.into()),
            ("version 1.0", r#"{"schema_version": 1.0}"#.into()),
            ("no version", r#"{"generated_at": "x"}"#.into()),
            ("null version", r#"{"schema_version": null}"#.into()),
            (
                "wrong shapes, no version",
                r#"{"channels": {"a": [1]}, "alerts": 5}"#.into(),
            ),
            (
                "wrong shapes, version 2 last",
                r#"{"channels": 3, "schema_version": 2}"#.into(),
            ),
            ("a v2 plan, version last", v2_last),
            ("not JSON", "not json".into()),
            ("not an object", "[1, 2]".into()),
            ("a number", "3".into()),
            ("truncated", plan[..plan.len() / 2].to_string()),
            ("trailing text", format!("{plan} x")),
            (
                "v1, channels not an array",
                r#"{"schema_version": 1, "channels": 3}"#.into(),
            ),
            (
                "v1, wrong shape before the version",
                r#"{"channels": 3, "schema_version": 1}"#.into(),
            ),
            ("v1, nothing else", r#"{"schema_version": 1}"#.into()),
        ];
        for (name, text) in &cases {
            let got = read(text).expect_err(name);
            let want = read_plan(text).expect_err(name);
            assert_eq!(
                std::mem::discriminant(&got),
                std::mem::discriminant(&want),
                "{name}: digest says `{got}`, read_plan says `{want}`"
            );
            if let PlanError::UnsupportedSchemaVersion { .. } = want {
                assert_eq!(got.to_string(), want.to_string(), "{name}");
            }
        }
    }

    #[test]
    fn wrong_shapes_name_the_field() {
        let doc = |channels: &str| {
            format!(
                r#"{{"schema_version": 1, "generated_at": "2024-01-01T00:00:00Z", "alerts": [],
                "channels": {channels}}}"#
            )
        };
        let htlc = r#"{"incoming": false, "trimmed_on_local": true, "trimmed_on_remote": false}"#;
        let ok = format!(
            r#"[{{"chan_id": "7", "htlcs": [{htlc}], "recommendations": {{"actions": [{{"id": "b"}}, {{"id": "a"}}]}}}}]"#
        );
        let digest = read(&doc(&ok)).expect("a minimal v1 plan");
        let ids: Vec<&str> = digest.action_ids().iter().map(|id| &**id).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(digest.outgoing_dust_channels(), ["7"]);

        let bad_flag = ok.replace(r#""incoming": false"#, r#""incoming": "no""#);
        let bad_id = ok.replace(r#"{"id": "a"}"#, r#"{"id": 5}"#);
        let no_htlcs = ok.replace(&format!(r#""htlcs": [{htlc}], "#), "");
        let bad_fee_rate = ok.replace(
            r#""chan_id": "7","#,
            r#""chan_id": "7", "fee_rate": {"ppm": -1},"#,
        );
        let cases = [
            (doc(&bad_flag), "channels[0].htlcs[0].incoming: invalid type: string \"no\", expected a boolean"),
            (doc(&bad_id), "channels[0].recommendations.actions[1].id: invalid type: integer `5`, expected a string"),
            (doc(&no_htlcs), "channels[0].htlcs: missing field"),
            (doc(&bad_fee_rate), "channels[0].fee_rate: invalid value: integer `-1`"),
            (doc("[7]"), "channels[0]: invalid type: integer `7`, expected a channel section"),
            (doc(&format!("{ok}, \"channels\": []")), "channels: duplicate field"),
            (
                r#"{"schema_version": 1, "generated_at": "x", "channels": [], "alerts": [{"code": "nope"}]}"#.into(),
                "alerts[0]: unknown variant `nope`",
            ),
            (r#"{"schema_version": 1, "generated_at": "x", "channels": []}"#.into(), "missing field `alerts`"),
        ];
        for (text, expected) in cases {
            let err = read(&text).expect_err(expected);
            assert!(
                matches!(err, PlanError::Invalid { .. }),
                "{expected}: {err:?}"
            );
            assert!(
                err.to_string().contains(expected),
                "`{err}` should say `{expected}`"
            );
        }
        // With the version known first, the error also says where in the file.
        let err = read(&doc(&bad_flag)).unwrap_err();
        assert!(err.to_string().contains(" at line 2 column "), "{err}");
    }

    #[test]
    fn invalid_json_says_where() {
        let err = read("{\"schema_version\": 1,\n \"channels\": [}").unwrap_err();
        assert!(matches!(err, PlanError::Json(_)), "{err:?}");
        assert!(err.to_string().contains("line 2 column"), "{err}");
    }

    /// Yields `prefix`, then fails every read.
    struct FailingAfter<'a> {
        prefix: &'a [u8],
    }

    impl Read for FailingAfter<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.prefix.is_empty() {
                return Err(std::io::Error::other("disk on fire"));
            }
            let n = buf.len().min(self.prefix.len());
            buf[..n].copy_from_slice(&self.prefix[..n]);
            self.prefix = &self.prefix[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_wrong_version_first_is_refused_without_reading_on() {
        let reader = FailingAfter {
            prefix: br#"{"schema_version": 2, "channels": ["#,
        };
        let err = PlanDigest::from_reader(reader).unwrap_err();
        assert!(
            matches!(err, PlanError::UnsupportedSchemaVersion { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn a_failing_read_is_a_read_error() {
        let reader = FailingAfter {
            prefix: br#"{"schema_version": 1, "channels": ["#,
        };
        let err = PlanDigest::from_reader(reader).unwrap_err();
        assert!(matches!(err, PlanError::Read(_)), "{err:?}");
        assert!(err.to_string().contains("disk on fire"), "{err}");
    }
}
