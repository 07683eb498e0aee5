//! [`Shape`]: a JSON value the reader expects in one shape, read leniently ([`Lenient`]), and
//! the helpers that read one array element or object field of a shape.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Unexpected, Visitor};

use super::state::{Place, ReadState};

/// A JSON value the reader expects in one shape. Any other shape is consumed (so reading can go
/// on) and reported as `None`; [`Lenient`] turns that into a description of what was found. The
/// state is passed in rather than held, so that a caller can note a mismatch in it afterwards.
pub(super) trait Shape<'de>: Sized {
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
pub(super) struct Lenient<'s, S> {
    pub(super) shape: S,
    pub(super) state: &'s mut ReadState,
}

/// "invalid type: string \"x\", expected a boolean", as serde words it.
pub(super) fn wrong_type(found: Unexpected<'_>, expected: &str) -> String {
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
pub(super) fn element<'de, A, S>(
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
pub(super) fn field<'de, A, S>(
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
pub(super) struct Text;

impl Shape<'_> for Text {
    type Output = String;
    const EXPECTED: &'static str = "a string";

    fn str(self, v: &str) -> Option<String> {
        Some(v.to_string())
    }
}

/// A JSON boolean.
pub(super) struct Flag;

impl Shape<'_> for Flag {
    type Output = bool;
    const EXPECTED: &'static str = "a boolean";

    fn bool(self, v: bool) -> Option<bool> {
        Some(v)
    }
}
