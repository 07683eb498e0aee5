//! The words of an action (formulas, rationale, commands, alternatives) and of an alert (its
//! message), written out only when someone reads them.
//!
//! A plan of a big node holds tens of thousands of actions, and their words were most of its
//! size and of the analyzer's time: about fifteen formatted strings per action, built, held
//! across a cycle and freed, when they are read once, by the plan file writer. So an action
//! the analyzer builds carries a [`Wording::Described`]: the recommender's own text-building
//! code, captured as a closure over the few values it needs, run on demand (serializing the
//! plan, rendering a table, comparing two plans). An action read back from a plan file carries
//! [`Wording::Written`]. Both give the same [`ActionText`], compare by it, and serialize to the
//! same bytes. [`Text`] does the same for one line (alert messages).

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, LazyLock};

use super::{Alternative, Command};

/// What an action says: how its cost and benefit were reckoned, why, and how to carry it out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActionText {
    pub cost_formula: String,
    pub benefit_formula: String,
    pub prerequisites: Vec<String>,
    /// One line: why this action, in the operator's terms.
    pub rationale: String,
    /// What LND can and cannot do here, when that needs saying.
    pub lnd_note: Option<String>,
    pub commands: Vec<Command>,
    pub alternatives: Vec<Alternative>,
}

/// Builds an action's text. Must be deterministic: the same closure always gives the same text
/// (it owns copies of every value it reads, so nothing can change under it).
type Describe = dyn Fn() -> ActionText + Send + Sync;

/// An action's words, either written out or described on demand.
///
/// Cloning is cheap in both forms (a reference count), which matters because an action that
/// names two channels appears in both channel sections and possibly in `priority_actions`.
#[derive(Clone)]
pub enum Wording {
    /// Held as text: read from a plan file, or built by hand.
    Written(Arc<ActionText>),
    /// Written out by the closure whenever it is read.
    Described(Arc<Describe>),
}

impl Wording {
    /// Wording held as text.
    pub fn written(text: ActionText) -> Self {
        Wording::Written(Arc::new(text))
    }

    /// Wording written out by `describe` each time it is read. `describe` must own (move) every
    /// value it uses, so the text cannot depend on anything but what the recommender decided.
    pub fn described(describe: impl Fn() -> ActionText + Send + Sync + 'static) -> Self {
        Wording::Described(Arc::new(describe))
    }

    /// The text: borrowed when written, built now when described.
    pub fn text(&self) -> Cow<'_, ActionText> {
        match self {
            Wording::Written(text) => Cow::Borrowed(text),
            Wording::Described(describe) => Cow::Owned(describe()),
        }
    }
}

impl Default for Wording {
    /// No words. Shared, so that the placeholder every new action starts with costs no allocation.
    fn default() -> Self {
        static EMPTY: LazyLock<Arc<ActionText>> = LazyLock::new(|| Arc::new(ActionText::default()));
        Wording::Written(Arc::clone(&EMPTY))
    }
}

impl PartialEq for Wording {
    /// Two wordings are equal when they read the same, whichever form they are held in.
    fn eq(&self, other: &Self) -> bool {
        self.text() == other.text()
    }
}

impl fmt::Debug for Wording {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.text(), f)
    }
}

/// Builds a one-line text; like [`Describe`], it owns every value it reads.
type DescribeLine = dyn Fn() -> String + Send + Sync;

/// One line of text (an alert's message), written out when read, for the same reason as
/// [`Wording`]: a big node has tens of thousands of alerts whose messages are read only by the
/// plan writer and by the log lines of the few alerts that change between cycles.
///
/// Equality, order, `Debug`, `Display` and serialization all use the written-out text, so a
/// described and a written `Text` that read the same are the same.
#[derive(Clone)]
pub enum Text {
    Written(String),
    Described(Arc<DescribeLine>),
}

impl Text {
    /// Text written out by `describe` each time it is read (it must own what it uses).
    pub fn described(describe: impl Fn() -> String + Send + Sync + 'static) -> Self {
        Text::Described(Arc::new(describe))
    }

    /// The text: borrowed when written, built now when described.
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Text::Written(text) => Cow::Borrowed(text),
            Text::Described(describe) => Cow::Owned(describe()),
        }
    }
}

impl From<String> for Text {
    fn from(text: String) -> Self {
        Text::Written(text)
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Self {
        Text::Written(text.to_string())
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.text() == other.text()
    }
}

impl Eq for Text {}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.text().cmp(&other.text())
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.text(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl serde::Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text())
    }
}

impl<'de> serde::Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Text::Written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(rationale: &str) -> ActionText {
        ActionText {
            rationale: rationale.to_string(),
            commands: vec![Command {
                tool: "lncli".to_string(),
                line: "lncli updatechanpolicy".to_string(),
                purpose: "p".to_string(),
            }],
            ..ActionText::default()
        }
    }

    #[test]
    fn described_and_written_wordings_read_the_same() {
        let amount = 1_000u64;
        let described = Wording::described(move || sample(&format!("move {amount} sat")));
        let written = Wording::written(sample("move 1000 sat"));
        assert_eq!(described.text().rationale, "move 1000 sat");
        assert_eq!(described, written);
        assert_ne!(described, Wording::written(sample("move 999 sat")));
        assert_eq!(format!("{described:?}"), format!("{written:?}"));
    }

    #[test]
    fn described_and_written_text_compare_serialize_and_read_alike() {
        let n = 1_234u64;
        let described = Text::described(move || format!("{n} sat"));
        let written = Text::from("1234 sat");
        assert_eq!(described, written);
        assert_eq!(described.to_string(), "1234 sat");
        assert!(Text::from("1233 sat") < described);
        assert!(described < Text::from("1235 sat"));
        let json = serde_json::to_string(&described).unwrap();
        assert_eq!(json, "\"1234 sat\"");
        let back: Text = serde_json::from_str(&json).unwrap();
        assert!(matches!(back, Text::Written(_)));
        assert_eq!(back, described);
    }

    #[test]
    fn written_text_is_borrowed_and_described_text_is_built() {
        let written = Wording::written(sample("a"));
        assert!(matches!(written.text(), Cow::Borrowed(_)));
        let described = Wording::described(|| sample("a"));
        assert!(matches!(described.text(), Cow::Owned(_)));
    }
}
