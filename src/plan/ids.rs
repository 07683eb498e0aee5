//! Channel ids and action ids as the plan holds them in memory.
//!
//! Schema v1 writes a channel id as a decimal string (uint64 as `lncli` prints it), so JSON
//! consumers never lose precision. In memory the plan keeps the number: a big node's plan
//! names a channel ~50,000 times (actions, alerts, channel sections), and one string per
//! mention was an allocation to build, to clone and to free, then parsed back to route actions
//! to channels. The serde helpers here write the number as the same decimal string and read
//! only such strings back, so the bytes of a plan and its read-back are unchanged.
//!
//! A string read back must be the canonical decimal form of a uint64 (digits only, no sign, no
//! leading zero except `"0"`): anything else would not write back to the same bytes, and names
//! no channel dustwatch could have written. The error names the field and the value.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use smallvec::SmallVec;

use crate::model::ChanId;

/// The channels an action names: one for most actions, two for a rebalance (source, sink), none
/// for node-wide actions. Held inline, so an action's channel list costs no allocation.
pub type ChanIds = SmallVec<[ChanId; 2]>;

/// Parses a channel id written by [`chan_id_string`](super::chan_id_string); `None` unless
/// `text` is the canonical decimal form of a uint64.
pub fn parse_chan_id(text: &str) -> Option<ChanId> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if canonical {
        // Digits only, so the only possible failure is overflow (more than u64::MAX).
        text.parse().ok()
    } else {
        None
    }
}

/// Reads one channel id string; `field` names where it is in the error.
struct ChanIdVisitor {
    field: &'static str,
}

impl<'de> Visitor<'de> for ChanIdVisitor {
    type Value = ChanId;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` as a channel id (a uint64 as a decimal string)",
            self.field
        )
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<ChanId, E> {
        parse_chan_id(text).ok_or_else(|| {
            E::custom(format_args!(
                "`{}`: {text:?} is not a channel id (a uint64 as a decimal string, as lncli prints it)",
                self.field
            ))
        })
    }
}

/// Reads an optional channel id string (`null` is `None`).
struct OptChanIdVisitor {
    field: &'static str,
}

impl<'de> Visitor<'de> for OptChanIdVisitor {
    type Value = Option<ChanId>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` as null or a channel id (a uint64 as a decimal string)",
            self.field
        )
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<ChanId>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<ChanId>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<ChanId>, D::Error> {
        d.deserialize_str(ChanIdVisitor { field: self.field })
            .map(Some)
    }
}

/// Writes a channel id as its decimal string, without building the string.
fn write_chan_id<S: Serializer>(id: ChanId, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&id)
}

/// `#[serde(with = "ids::chan_id")]` for a `ChanId` field named `chan_id`.
pub(crate) mod chan_id {
    use super::*;

    pub fn serialize<S: Serializer>(id: &ChanId, s: S) -> Result<S::Ok, S::Error> {
        write_chan_id(*id, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ChanId, D::Error> {
        d.deserialize_str(ChanIdVisitor { field: "chan_id" })
    }
}

/// `#[serde(with = "ids::opt_chan_id", default)]` for an `Option<ChanId>` field named
/// `chan_id` (`default` keeps a missing field reading as `None`, as an `Option` field does).
pub(crate) mod opt_chan_id {
    use super::*;

    pub fn serialize<S: Serializer>(id: &Option<ChanId>, s: S) -> Result<S::Ok, S::Error> {
        super::serialize_opt(id, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ChanId>, D::Error> {
        d.deserialize_option(OptChanIdVisitor { field: "chan_id" })
    }
}

/// Like [`opt_chan_id`], for `Summary::highest_fee_exposure_chan_id`.
pub(crate) mod opt_highest_fee_exposure_chan_id {
    use super::*;

    pub fn serialize<S: Serializer>(id: &Option<ChanId>, s: S) -> Result<S::Ok, S::Error> {
        super::serialize_opt(id, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ChanId>, D::Error> {
        d.deserialize_option(OptChanIdVisitor {
            field: "highest_fee_exposure_chan_id",
        })
    }
}

fn serialize_opt<S: Serializer>(id: &Option<ChanId>, s: S) -> Result<S::Ok, S::Error> {
    match id {
        Some(id) => s.serialize_some(&DecimalChanId(*id)),
        None => s.serialize_none(),
    }
}

/// A channel id that serializes as its decimal string.
#[derive(Clone, Copy)]
struct DecimalChanId(ChanId);

impl serde::Serialize for DecimalChanId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        write_chan_id(self.0, s)
    }
}

/// An action's `chan_ids` as schema v1 writes them: an array of decimal strings.
pub(crate) struct ChanIdsView<'a>(pub &'a [ChanId]);

impl serde::Serialize for ChanIdsView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for id in self.0 {
            seq.serialize_element(&DecimalChanId(*id))?;
        }
        seq.end()
    }
}

/// Reads an action's `chan_ids` (an array of channel id strings); the error names the entry.
pub(crate) fn deserialize_chan_ids<'de, D: Deserializer<'de>>(d: D) -> Result<ChanIds, D::Error> {
    struct ChanIdsVisitor;

    impl<'de> Visitor<'de> for ChanIdsVisitor {
        type Value = ChanIds;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("`chan_ids` as an array of channel ids (uint64s as decimal strings)")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ChanIds, A::Error> {
            let mut ids = ChanIds::new();
            while let Some(id) = seq.next_element_seed(ChanIdSeed)? {
                ids.push(id);
            }
            Ok(ids)
        }
    }

    /// One entry of `chan_ids`.
    struct ChanIdSeed;

    impl<'de> de::DeserializeSeed<'de> for ChanIdSeed {
        type Value = ChanId;

        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<ChanId, D::Error> {
            d.deserialize_str(ChanIdVisitor { field: "chan_ids" })
        }
    }

    d.deserialize_seq(ChanIdsVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Row {
        #[serde(with = "chan_id")]
        chan_id: ChanId,
        #[serde(with = "opt_highest_fee_exposure_chan_id", default)]
        highest_fee_exposure_chan_id: Option<ChanId>,
    }

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Listed {
        #[serde(deserialize_with = "deserialize_chan_ids")]
        chan_ids: ChanIds,
    }

    #[test]
    fn channel_ids_are_written_and_read_as_decimal_strings() {
        let row = Row {
            chan_id: u64::MAX,
            highest_fee_exposure_chan_id: Some(0),
        };
        let json = serde_json::to_string(&row).unwrap();
        assert_eq!(
            json,
            r#"{"chan_id":"18446744073709551615","highest_fee_exposure_chan_id":"0"}"#
        );
        assert_eq!(serde_json::from_str::<Row>(&json).unwrap(), row);
        let none = r#"{"chan_id":"7","highest_fee_exposure_chan_id":null}"#;
        let read: Row = serde_json::from_str(none).unwrap();
        assert_eq!(read.highest_fee_exposure_chan_id, None);
        assert_eq!(serde_json::to_string(&read).unwrap(), none);
        // A missing optional id reads as `None`, as an `Option<String>` did.
        let read: Row = serde_json::from_str(r#"{"chan_id":"7"}"#).unwrap();
        assert_eq!(read.highest_fee_exposure_chan_id, None);

        let ids = serde_json::to_string(&ChanIdsView(&[9, 1])).unwrap();
        assert_eq!(ids, r#"["9","1"]"#);
        let read: Listed = serde_json::from_str(&format!(r#"{{"chan_ids":{ids}}}"#)).unwrap();
        assert_eq!(read.chan_ids.as_slice(), [9, 1]);
    }

    #[test]
    fn a_string_that_is_not_a_channel_id_is_refused_naming_the_field() {
        for bad in [
            "",
            "abc",
            "-1",
            "+1",
            "007",
            " 7",
            "1.0",
            "18446744073709551616",
        ] {
            assert_eq!(parse_chan_id(bad), None, "{bad:?}");
            let err = serde_json::from_str::<Row>(&format!(r#"{{"chan_id":{bad:?}}}"#))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("`chan_id`") && err.contains("not a channel id"),
                "{err}"
            );
        }
        let err =
            serde_json::from_str::<Row>(r#"{"chan_id":"1","highest_fee_exposure_chan_id":"x1"}"#)
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("`highest_fee_exposure_chan_id`: \"x1\""),
            "{err}"
        );
        let err = serde_json::from_str::<Listed>(r#"{"chan_ids":["1","two"]}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`chan_ids`: \"two\" is not a channel id"),
            "{err}"
        );
        // A number is not a channel id either: the schema writes strings.
        let err = serde_json::from_str::<Row>(r#"{"chan_id":7}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`chan_id` as a channel id"), "{err}");
        assert_eq!(parse_chan_id("0"), Some(0));
        assert_eq!(parse_chan_id("18446744073709551615"), Some(u64::MAX));
    }
}
