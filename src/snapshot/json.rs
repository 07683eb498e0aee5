//! Reading loosely typed JSON with the path of every value at hand.
//!
//! `lncli` prints protobuf JSON (protojson): 64-bit integers as decimal strings, 32-bit ones as
//! JSON numbers, every field present even when zero. Hand-edited or differently produced files
//! mix the two forms, so integers are accepted either way. Every accessor knows the path of the
//! value it reads (`channels[3].local_constraints.dust_limit_sat`), so a complaint can say
//! exactly where it is. Nothing here panics, whatever the input.

use std::fmt;

use serde_json::{Map, Value};

/// Where a value sits in a JSON document, e.g. `channels[3].local_balance`.
///
/// The empty path is the document itself and displays as `(top level)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonPath(String);

impl JsonPath {
    /// The document itself.
    pub fn root() -> Self {
        JsonPath(String::new())
    }

    /// The member `key` of the object at this path.
    pub fn key(&self, key: &str) -> Self {
        if self.0.is_empty() {
            JsonPath(key.to_owned())
        } else {
            JsonPath(format!("{}.{key}", self.0))
        }
    }

    /// The element `index` of the array at this path.
    pub fn index(&self, index: usize) -> Self {
        JsonPath(format!("{}[{index}]", self.0))
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("(top level)")
        } else {
            f.write_str(&self.0)
        }
    }
}

/// A value of the wrong kind (or a required one missing) at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub path: JsonPath,
    /// What the reader wanted, e.g. "an integer (JSON number or decimal string)".
    pub expected: String,
    /// What the document has there, e.g. "an object" or "nothing (the field is missing)".
    pub found: String,
}

impl FieldError {
    pub fn new(path: JsonPath, expected: impl Into<String>, found: impl Into<String>) -> Self {
        FieldError {
            path,
            expected: expected.into(),
            found: found.into(),
        }
    }

    /// A required field that is absent (or `null`).
    pub fn missing(path: JsonPath, expected: impl Into<String>) -> Self {
        FieldError::new(path, expected, "nothing (the field is missing)")
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at `{}`: expected {}, found {}",
            self.path, self.expected, self.found
        )
    }
}

/// Something worth telling the user about a value that was still used, e.g. a clamped amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub path: JsonPath,
    pub message: String,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}", self.path, self.message)
    }
}

/// Describes a JSON value for an error message without echoing arbitrarily long input.
pub fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {}", shorten(&n.to_string())),
        Value::String(s) => format!("the string {:?}", shorten(s)),
        Value::Array(items) => describe_array(items.len()),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// How [`describe`] names an array of `len` items.
pub fn describe_array(len: usize) -> String {
    format!("an array of {len} item(s)")
}

/// At most 40 characters of `text`, marked when cut (on a char boundary, so never panics).
fn shorten(text: &str) -> String {
    const LIMIT: usize = 40;
    if text.chars().count() <= LIMIT {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(LIMIT).collect();
        cut.push('…');
        cut
    }
}

/// The integer a JSON value stands for: a JSON number without fraction, or a decimal string
/// (optionally negative), which is how protojson prints 64-bit integers.
///
/// Values beyond `i128` saturate, so callers only have to clamp, never to handle overflow.
/// Anything else (fractions, `"1e3"`, `"0x10"`, booleans, objects) is `None`.
pub fn integer(value: &Value) -> Option<i128> {
    match value {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Some(i128::from(i))
            } else if let Some(u) = n.as_u64() {
                Some(i128::from(u))
            } else {
                let f = n.as_f64()?;
                // `as` saturates for out-of-range floats; a whole number this large is only
                // "absurd", which the caller's clamp reports.
                (f.is_finite() && f.fract() == 0.0).then_some(f as i128)
            }
        }
        Value::String(s) => decimal(s),
        _ => None,
    }
}

/// Every decimal number of this many digits is below `u64::MAX` (18,446,744,073,709,551,615).
const MAX_U64_DIGITS: usize = 19;

/// A decimal string (optionally negative) as an integer, saturating beyond `i128`.
pub(crate) fn decimal(text: &str) -> Option<i128> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = if digits.len() <= MAX_U64_DIGITS {
        // Up to 19 digits fit in a u64: summed in one, which is quicker than `i128` parsing.
        i128::from(
            digits
                .bytes()
                .fold(0u64, |sum, digit| sum * 10 + u64::from(digit - b'0')),
        )
    } else {
        // Only digits remain, so the one possible failure is overflow: saturate.
        digits.parse::<i128>().unwrap_or(i128::MAX)
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// The range an integer field may take, and how to name it in a warning.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub min: i128,
    pub max: i128,
    /// Why `max` is the limit, e.g. "the 21 million BTC supply".
    pub max_reason: &'static str,
}

/// 21 million BTC in satoshis: no amount on a channel can be larger.
pub const MAX_MONEY_SAT: u64 = 21_000_000 * 100_000_000;

impl Bounds {
    /// Satoshi amounts: never negative, never more than all bitcoin there will ever be.
    pub const SAT: Bounds = Bounds {
        min: 0,
        max: MAX_MONEY_SAT as i128,
        max_reason: "the 21 million BTC supply",
    };
    /// Millisatoshi amounts.
    pub const MSAT: Bounds = Bounds {
        min: 0,
        max: MAX_MONEY_SAT as i128 * 1000,
        max_reason: "the 21 million BTC supply",
    };
    /// Non-negative counters and indexes (`uint64` in the proto).
    pub const U64: Bounds = Bounds {
        min: 0,
        max: u64::MAX as i128,
        max_reason: "the uint64 range",
    };
    /// `uint32` fields: heights, delays, HTLC counts.
    pub const U32: Bounds = Bounds {
        min: 0,
        max: u32::MAX as i128,
        max_reason: "the uint32 range",
    };
    /// `int32` fields (may be negative, e.g. blocks past maturity, inbound fee discounts).
    pub const I32: Bounds = Bounds {
        min: i32::MIN as i128,
        max: i32::MAX as i128,
        max_reason: "the int32 range",
    };
    /// A commitment feerate: BOLT 2 carries `feerate_per_kw` as a u32.
    pub const FEERATE_PER_KW: Bounds = Bounds {
        min: 0,
        max: u32::MAX as i128,
        max_reason: "the u32 feerate_per_kw of BOLT 2",
    };
    /// A transaction weight: nothing larger fits in a block.
    pub const WEIGHT: Bounds = Bounds {
        min: 0,
        max: 4_000_000,
        max_reason: "the 4,000,000 weight-unit block limit",
    };
}

impl Bounds {
    /// The note for `number` (written `raw` in the document) at `path`, which lies outside
    /// these bounds and was replaced by the nearest one.
    pub fn clamp_note(&self, path: JsonPath, raw: &str, number: i128) -> Note {
        let message = if number < self.min {
            let why = if self.min == 0 {
                "is negative".to_owned()
            } else {
                format!("is below {}", self.min)
            };
            format!("= {raw} {why}; used {} instead", self.min)
        } else {
            format!(
                "= {raw} exceeds {}; used {} instead",
                self.max_reason, self.max
            )
        };
        Note { path, message }
    }
}

/// Converts an integer already clamped to `Bounds::SAT`/`U64`/... into `u64`, saturating
/// instead of panicking should a caller pass a value outside `u64`.
pub fn to_u64(value: i128) -> u64 {
    u64::try_from(value.max(0)).unwrap_or(u64::MAX)
}

/// Converts an integer clamped to a `u32` range into `u32` (saturating, never panicking).
pub fn to_u32(value: i128) -> u32 {
    u32::try_from(value.max(0)).unwrap_or(u32::MAX)
}

/// Converts an integer clamped to `Bounds::I32` into `i32` (saturating, never panicking).
pub fn to_i32(value: i128) -> i32 {
    i32::try_from(value).unwrap_or(if value < 0 { i32::MIN } else { i32::MAX })
}

/// Converts an integer into `i64` (saturating, never panicking).
pub fn to_i64(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

/// A JSON object together with its path: the accessors below read its members.
///
/// A member that is absent or `null` reads as `None` (protojson treats `null` as the field's
/// default); a member of the wrong kind is a [`FieldError`].
#[derive(Debug, Clone)]
pub struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: JsonPath,
}

impl<'a> Obj<'a> {
    /// `value` as an object at `path`, or a [`FieldError`] saying what it is instead.
    pub fn new(value: &'a Value, path: JsonPath, expected: &str) -> Result<Self, FieldError> {
        match value {
            Value::Object(map) => Ok(Obj { map, path }),
            other => Err(FieldError::new(path, expected, describe(other))),
        }
    }

    /// The path of this object.
    pub fn path(&self) -> &JsonPath {
        &self.path
    }

    /// The member `key`, unless it is absent or `null`.
    pub fn field(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// True when the member exists and is not `null`.
    pub fn has(&self, key: &str) -> bool {
        self.field(key).is_some()
    }

    /// The member `key` as a string.
    pub fn string(&self, key: &str) -> Result<Option<&'a str>, FieldError> {
        match self.field(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(FieldError::new(
                self.path.key(key),
                "a string",
                describe(other),
            )),
        }
    }

    /// The member `key` as a boolean (only JSON `true`/`false`, as protojson prints them).
    pub fn boolean(&self, key: &str) -> Result<Option<bool>, FieldError> {
        match self.field(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(FieldError::new(
                self.path.key(key),
                "a boolean (true or false)",
                describe(other),
            )),
        }
    }

    /// The member `key` as an object.
    pub fn object(&self, key: &str) -> Result<Option<Obj<'a>>, FieldError> {
        match self.field(key) {
            None => Ok(None),
            Some(value) => Obj::new(value, self.path.key(key), "an object").map(Some),
        }
    }

    /// The member `key` as an array.
    pub fn array(&self, key: &str) -> Result<Option<&'a [Value]>, FieldError> {
        match self.field(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(other) => Err(FieldError::new(
                self.path.key(key),
                "an array",
                describe(other),
            )),
        }
    }

    /// The member `key` as an integer within `bounds`.
    ///
    /// A value outside `bounds` is clamped into it and a [`Note`] saying so is pushed onto
    /// `notes`: one absurd number must not make the whole channel unreadable.
    pub fn integer(
        &self,
        key: &str,
        bounds: Bounds,
        notes: &mut Vec<Note>,
    ) -> Result<Option<i128>, FieldError> {
        let Some(value) = self.field(key) else {
            return Ok(None);
        };
        let Some(number) = integer(value) else {
            return Err(FieldError::new(
                self.path.key(key),
                "an integer (a JSON number or a decimal string)",
                describe(value),
            ));
        };
        let clamped = number.clamp(bounds.min, bounds.max);
        if clamped != number {
            notes.push(bounds.clamp_note(self.path.key(key), &raw_number(value), number));
        }
        Ok(Some(clamped))
    }

    /// Like [`Obj::integer`] but the member must be present.
    pub fn required_integer(
        &self,
        key: &str,
        bounds: Bounds,
        notes: &mut Vec<Note>,
    ) -> Result<i128, FieldError> {
        self.integer(key, bounds, notes)?.ok_or_else(|| {
            FieldError::missing(
                self.path.key(key),
                "an integer (a JSON number or a decimal string)",
            )
        })
    }
}

/// The number as the document wrote it (shortened), for warnings.
pub(crate) fn raw_number(value: &Value) -> String {
    match value {
        Value::String(s) => shorten(s),
        other => shorten(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_render_like_jq() {
        let p = JsonPath::root()
            .key("channels")
            .index(3)
            .key("local_balance");
        assert_eq!(p.to_string(), "channels[3].local_balance");
        assert_eq!(JsonPath::root().to_string(), "(top level)");
    }

    #[test]
    fn integers_from_numbers_and_strings() {
        assert_eq!(integer(&json!("123")), Some(123));
        assert_eq!(integer(&json!("-5")), Some(-5));
        assert_eq!(integer(&json!(42)), Some(42));
        assert_eq!(
            integer(&json!(18446744073709551615u64)),
            Some(u64::MAX as i128)
        );
        assert_eq!(integer(&json!(2.0)), Some(2));
        assert_eq!(integer(&json!(2.5)), None);
        assert_eq!(integer(&json!("1e3")), None);
        assert_eq!(integer(&json!("")), None);
        assert_eq!(integer(&json!("-")), None);
        assert_eq!(integer(&json!(" 1")), None);
        assert_eq!(integer(&json!(true)), None);
        assert_eq!(integer(&json!({})), None);
        let huge = "9".repeat(60);
        assert_eq!(integer(&json!(huge)), Some(i128::MAX));
        assert_eq!(integer(&json!(format!("-{huge}"))), Some(-i128::MAX));
        assert_eq!(integer(&json!(1e300)), Some(i128::MAX));
        // Either side of the 19 digits summed as a u64, and leading zeros.
        for text in [
            "9999999999999999999",
            "18446744073709551616",
            "0000000000000000000042",
        ] {
            assert_eq!(decimal(text), text.parse::<i128>().ok(), "{text}");
        }
        assert_eq!(
            decimal("-9999999999999999999"),
            Some(-9_999_999_999_999_999_999)
        );
    }

    #[test]
    fn clamps_out_of_range_values_with_a_note() {
        let doc = json!({"a": "-7", "b": "99999999999999999999999", "c": 5});
        let path = JsonPath::root().key("x");
        let o = Obj::new(&doc, path, "an object").unwrap();
        let mut notes = Vec::new();
        assert_eq!(o.integer("a", Bounds::SAT, &mut notes).unwrap(), Some(0));
        assert_eq!(
            o.integer("b", Bounds::SAT, &mut notes).unwrap(),
            Some(MAX_MONEY_SAT as i128)
        );
        assert_eq!(o.integer("c", Bounds::SAT, &mut notes).unwrap(), Some(5));
        assert_eq!(o.integer("missing", Bounds::SAT, &mut notes).unwrap(), None);
        assert_eq!(notes.len(), 2);
        assert_eq!(notes[0].path.to_string(), "x.a");
        assert!(notes[0].message.contains("negative"), "{}", notes[0]);
        assert!(notes[1].message.contains("21 million"), "{}", notes[1]);
    }

    #[test]
    fn wrong_kinds_name_path_and_what_was_found() {
        let doc = json!({"balance": {"sat": 1}, "flag": "yes", "list": 3, "n": null});
        let o = Obj::new(&doc, JsonPath::root().key("ch"), "an object").unwrap();
        let err = o
            .integer("balance", Bounds::SAT, &mut Vec::new())
            .unwrap_err();
        assert_eq!(err.path.to_string(), "ch.balance");
        assert_eq!(err.found, "an object");
        let err = o.boolean("flag").unwrap_err();
        assert!(err.to_string().contains("the string \"yes\""), "{err}");
        assert!(o.array("list").is_err());
        assert_eq!(o.string("n").unwrap(), None, "null reads as absent");
        let err = o
            .required_integer("nope", Bounds::SAT, &mut Vec::new())
            .unwrap_err();
        assert!(err.found.contains("missing"));
    }

    #[test]
    fn describe_shortens_long_input() {
        let long = "x".repeat(1000);
        let d = describe(&json!(long));
        assert!(d.chars().count() < 60, "{d}");
        let multibyte = "é".repeat(100);
        assert!(describe(&json!(multibyte)).ends_with("…\""));
    }
}
