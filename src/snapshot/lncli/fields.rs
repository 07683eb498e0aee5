//! One field of `lncli` JSON read by type, without a generic tree.
//!
//! A [`Json`] keeps a scalar as the document wrote it and, of an object or array, either a
//! typed reading (a derived struct, a `Vec`) or only its shape. So a channel is deserialized
//! straight from the text, and a field of the wrong kind still names what it found with the
//! same words as [`describe`](crate::snapshot::json::describe) uses for a parsed value.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

use crate::snapshot::json::{
    decimal, describe, describe_array, integer, raw_number, Bounds, FieldError, JsonPath, Note,
};

/// Any JSON value: scalars as written, an object read as `O`, an array read as `A`.
///
/// Deserializing it never fails on well-formed JSON whatever the kind, so a wrong kind is
/// reported by the reader (with its path) instead of failing the whole document.
#[derive(Debug)]
pub(super) enum Json<'a, O = IgnoredAny, A = Count> {
    Null,
    Bool(bool),
    Number(Number),
    Str(Cow<'a, str>),
    Object(O),
    Array(A),
}

/// An array read only for its length (all a warning says of it).
#[derive(Debug)]
pub(super) struct Count(usize);

/// How many items an array held, for [`Json::describe`].
pub(super) trait ItemCount {
    fn item_count(&self) -> usize;
}

impl ItemCount for Count {
    fn item_count(&self) -> usize {
        self.0
    }
}

impl<T> ItemCount for Vec<T> {
    fn item_count(&self) -> usize {
        self.len()
    }
}

/// An array read into a `Vec` that starts with room for [`SMALL_ARRAY`] elements: serde_json
/// cannot tell an array's length up front, and growing a `Vec` of raw elements (hundreds of
/// bytes each) from empty copies them over and over (a channel's HTLCs, in a busy node).
#[derive(Debug)]
pub(super) struct Items<T>(pub Vec<T>);

/// The elements [`Items`] makes room for before reading any (a busy channel's HTLCs).
const SMALL_ARRAY: usize = 16;

impl<T> ItemCount for Items<T> {
    fn item_count(&self) -> usize {
        self.0.len()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Items<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(ItemsVisitor(PhantomData))
    }
}

struct ItemsVisitor<T>(PhantomData<fn() -> T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ItemsVisitor<T> {
    type Value = Items<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Items<T>, S::Error> {
        let mut items = Vec::with_capacity(SMALL_ARRAY);
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Items(items))
    }
}

impl<'a> Json<'a> {
    /// The field of an already parsed document (the fallback reading, `feereport`).
    pub(super) fn of_value(value: &'a Value) -> Self {
        match value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => Json::Number(n.clone()),
            Value::String(s) => Json::Str(Cow::Borrowed(s)),
            Value::Array(items) => Json::Array(Count(items.len())),
            Value::Object(_) => Json::Object(IgnoredAny),
        }
    }
}

impl<O, A: ItemCount> Json<'_, O, A> {
    /// The value as a warning names it (e.g. "the string \"abc\"", "an object").
    pub(super) fn describe(&self) -> String {
        match self {
            Json::Object(_) => "an object".to_owned(),
            Json::Array(items) => describe_array(items.item_count()),
            scalar => describe(&scalar.scalar()),
        }
    }

    /// A scalar as a parsed [`Value`] (`Null` for objects and arrays), for messages.
    fn scalar(&self) -> Value {
        match self {
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(n.clone()),
            Json::Str(s) => Value::String(s.to_string()),
            Json::Null | Json::Object(_) | Json::Array(_) => Value::Null,
        }
    }

    /// The integer the value stands for, as [`integer`] reads a parsed value.
    pub(super) fn integer(&self) -> Option<i128> {
        match self {
            Json::Number(n) => integer(&Value::Number(n.clone())),
            Json::Str(s) => decimal(s),
            _ => None,
        }
    }
}

impl<'de: 'a, 'a, O, A> Deserialize<'de> for Json<'a, O, A>
where
    O: Deserialize<'de>,
    A: Deserialize<'de>,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor(PhantomData))
    }
}

struct JsonVisitor<'a, O, A>(PhantomData<(&'a (), O, A)>);

impl<'de: 'a, 'a, O, A> Visitor<'de> for JsonVisitor<'a, O, A>
where
    O: Deserialize<'de>,
    A: Deserialize<'de>,
{
    type Value = Json<'a, O, A>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Json::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Json::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Json::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        // As serde_json's own `Value` does: a non-finite float has no JSON form.
        Ok(Number::from_f64(v).map_or(Json::Null, Json::Number))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Json::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Json::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Json::Str(Cow::Owned(v)))
    }
    fn visit_seq<S: SeqAccess<'de>>(self, seq: S) -> Result<Self::Value, S::Error> {
        A::deserialize(SeqAccessDeserializer::new(seq)).map(Json::Array)
    }
    fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Self::Value, M::Error> {
        O::deserialize(MapAccessDeserializer::new(map)).map(Json::Object)
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(CountVisitor)
    }
}

struct CountVisitor;

impl<'de> Visitor<'de> for CountVisitor {
    type Value = Count;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Count, S::Error> {
        let mut n = 0;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            n += 1;
        }
        Ok(Count(n))
    }
}

/// An optional field as read: absent and `null` are both `None` (protojson's default).
pub(super) type Field<'a, O = IgnoredAny, A = Count> = Option<Json<'a, O, A>>;

/// Where a value sits in its document, made into a [`JsonPath`] only when a warning or an
/// error names it: a busy node's `listchannels` has 100,000s of HTLCs and names almost none.
#[derive(Debug, Clone, Copy)]
pub(super) enum Place<'p> {
    /// The document itself.
    Root,
    /// A path already built.
    Path(&'p JsonPath),
    /// The member `key` of the object at the parent.
    Key(&'p Place<'p>, &'static str),
    /// The element `index` of the array at the parent.
    Index(&'p Place<'p>, usize),
}

impl Place<'_> {
    /// The path, built.
    pub(super) fn path(&self) -> JsonPath {
        match self {
            Place::Root => JsonPath::root(),
            Place::Path(path) => (*path).clone(),
            Place::Key(parent, key) => parent.path().key(key),
            Place::Index(parent, index) => parent.path().index(*index),
        }
    }
}

/// The members of the object at a place, read by key: what
/// [`Obj`](crate::snapshot::json::Obj) does for a parsed value, with the same errors and notes.
pub(super) struct At<'p>(pub Place<'p>);

/// The value of a present, non-null field.
pub(super) fn present<'v, 'a, O, A>(field: &'v Field<'a, O, A>) -> Option<&'v Json<'a, O, A>> {
    field.as_ref().filter(|v| !matches!(v, Json::Null))
}

impl At<'_> {
    /// The path of the member `key`.
    pub(super) fn key(&self, key: &str) -> JsonPath {
        self.0.path().key(key)
    }

    /// The member `key` as a string.
    pub(super) fn string<'v, O, A: ItemCount>(
        &self,
        key: &str,
        field: &'v Field<'_, O, A>,
    ) -> Result<Option<&'v str>, FieldError> {
        match present(field) {
            None => Ok(None),
            Some(Json::Str(s)) => Ok(Some(s)),
            Some(other) => Err(FieldError::new(self.key(key), "a string", other.describe())),
        }
    }

    /// The member `key` as a boolean (only JSON `true`/`false`).
    pub(super) fn boolean<O, A: ItemCount>(
        &self,
        key: &str,
        field: &Field<'_, O, A>,
    ) -> Result<Option<bool>, FieldError> {
        match present(field) {
            None => Ok(None),
            Some(Json::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(FieldError::new(
                self.key(key),
                "a boolean (true or false)",
                other.describe(),
            )),
        }
    }

    /// The member `key` as an object read as `O`.
    pub(super) fn object<'v, O, A: ItemCount>(
        &self,
        key: &str,
        field: &'v Field<'_, O, A>,
    ) -> Result<Option<&'v O>, FieldError> {
        match present(field) {
            None => Ok(None),
            Some(Json::Object(o)) => Ok(Some(o)),
            Some(other) => Err(FieldError::new(
                self.key(key),
                "an object",
                other.describe(),
            )),
        }
    }

    /// The member `key` as an array read as `A`.
    pub(super) fn array<'v, O, A: ItemCount>(
        &self,
        key: &str,
        field: &'v Field<'_, O, A>,
    ) -> Result<Option<&'v A>, FieldError> {
        match present(field) {
            None => Ok(None),
            Some(Json::Array(items)) => Ok(Some(items)),
            Some(other) => Err(FieldError::new(self.key(key), "an array", other.describe())),
        }
    }

    /// The member `key` as an integer within `bounds`, clamped into them with a note (as
    /// [`Obj::integer`](crate::snapshot::json::Obj::integer)).
    pub(super) fn integer<O, A: ItemCount>(
        &self,
        key: &str,
        field: &Field<'_, O, A>,
        bounds: Bounds,
        notes: &mut Vec<Note>,
    ) -> Result<Option<i128>, FieldError> {
        let Some(value) = present(field) else {
            return Ok(None);
        };
        let Some(number) = value.integer() else {
            return Err(FieldError::new(
                self.key(key),
                "an integer (a JSON number or a decimal string)",
                value.describe(),
            ));
        };
        let clamped = number.clamp(bounds.min, bounds.max);
        if clamped != number {
            notes.push(bounds.clamp_note(self.key(key), &raw_number(&value.scalar()), number));
        }
        Ok(Some(clamped))
    }

    /// Like [`At::integer`] but the member must be present.
    pub(super) fn required_integer<O, A: ItemCount>(
        &self,
        key: &str,
        field: &Field<'_, O, A>,
        bounds: Bounds,
        notes: &mut Vec<Note>,
    ) -> Result<i128, FieldError> {
        self.integer(key, field, bounds, notes)?.ok_or_else(|| {
            FieldError::missing(
                self.key(key),
                "an integer (a JSON number or a decimal string)",
            )
        })
    }
}
