//! One array member of a top-level JSON object, read element by element: how the big `lncli`
//! files (`listchannels`, `fwdinghistory`) are read without ever becoming one tree in memory.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// Reads `json` as an object whose member `key` is an array, handing each element and its index
/// to `each`; every other member is skipped. `Ok(true)` when the whole text was such an object
/// with `key` exactly once, `Ok(false)` when `key` was absent. Any error (syntax, shape, `key`
/// repeated) leaves the explaining to the caller's tree reading, which names the path.
pub(super) fn stream_array<'de, T, F>(
    json: &'de str,
    key: &'static str,
    each: F,
) -> Result<bool, serde_json::Error>
where
    T: Deserialize<'de>,
    F: FnMut(T, usize),
{
    let mut de = serde_json::Deserializer::from_str(json);
    let found = Document {
        key,
        each,
        element: PhantomData,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(found)
}

/// The top-level object; yields whether `key` was there.
struct Document<T, F> {
    key: &'static str,
    each: F,
    element: PhantomData<fn() -> T>,
}

impl<'de, T: Deserialize<'de>, F: FnMut(T, usize)> DeserializeSeed<'de> for Document<T, F> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: Deserialize<'de>, F: FnMut(T, usize)> Visitor<'de> for Document<T, F> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an object with a `{}` array", self.key)
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(name) = map.next_key::<Cow<'de, str>>()? {
            if name == self.key {
                if found {
                    return Err(de::Error::duplicate_field(self.key));
                }
                found = true;
                map.next_value_seed(Elements {
                    each: &mut self.each,
                    element: PhantomData,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// The array, one element at a time.
struct Elements<'f, T, F> {
    each: &'f mut F,
    element: PhantomData<fn() -> T>,
}

impl<'de, T: Deserialize<'de>, F: FnMut(T, usize)> DeserializeSeed<'de> for Elements<'_, T, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: Deserialize<'de>, F: FnMut(T, usize)> Visitor<'de> for Elements<'_, T, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while let Some(element) = seq.next_element::<T>()? {
            (self.each)(element, index);
            index += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_of_the_member_arrive_in_order_and_others_are_skipped() {
        let mut seen = Vec::new();
        let found =
            stream_array::<u32, _>(r#"{"a": {"x": [1]}, "k": [5, 6], "b": 2}"#, "k", |v, i| {
                seen.push((i, v))
            });
        assert!(matches!(found, Ok(true)));
        assert_eq!(seen, [(0, 5), (1, 6)]);
    }

    #[test]
    fn a_missing_member_is_false_and_a_repeated_one_an_error() {
        assert!(matches!(
            stream_array::<u32, _>(r#"{"a": 1}"#, "k", |_, _| {}),
            Ok(false)
        ));
        assert!(stream_array::<u32, _>(r#"{"k": [], "k": []}"#, "k", |_, _| {}).is_err());
        assert!(stream_array::<u32, _>(r#"{"k": [1]} trailing"#, "k", |_, _| {}).is_err());
        assert!(stream_array::<u32, _>(r#"[1]"#, "k", |_, _| {}).is_err());
    }
}
