//! Escaping strings that come from LND (and through it from remote peers: a channel peer
//! chooses its own alias) before they reach a terminal or a log line. A raw ESC can clear the
//! screen or set the terminal title, a CR overwrite the line, an LF forge a log line, and a
//! bidi override reverse what follows.
//!
//! Every C0 control character (including tab, CR and LF), DEL, every C1 control character and
//! the Unicode bidi embedding, override and isolate characters are written as Rust-style
//! escapes (`\n`, `\r`, `\t`, `\x1b`, `\u{202e}`); everything else, including other non-ASCII
//! text, is kept. A backslash is kept too: the escapes only need to be readable, not reversible.
//! JSON plans keep the exact strings (serde_json escapes control characters itself); this is
//! for text output and logs only.

use std::borrow::Cow;
use std::fmt;

/// Whether `c` is written as an escape.
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Writes `c` as an escape.
fn write_escaped(out: &mut impl fmt::Write, c: char) -> fmt::Result {
    match c {
        '\n' => out.write_str("\\n"),
        '\r' => out.write_str("\\r"),
        '\t' => out.write_str("\\t"),
        c if (c as u32) < 0x80 => write!(out, "\\x{:02x}", c as u32),
        c => write!(out, "\\u{{{:x}}}", c as u32),
    }
}

/// `text` with control and bidi characters escaped; borrowed when there are none (the usual
/// case, so aliases cost nothing).
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            // Writing into a String cannot fail.
            let _ = write_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Displays a string escaped, without building an intermediate string; honours width and
/// alignment (`{:<20}`) only when nothing needs escaping.
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match escape(self.0) {
            Cow::Borrowed(text) => f.pad(text),
            Cow::Owned(text) => f.pad(&text),
        }
    }
}

/// A whole text report with every control character except the line breaks the report itself
/// is made of escaped: the last line of defence at the output point, for any LND string a
/// report embeds. JSON output passes unchanged (serde_json never writes raw control characters).
pub fn escape_report(text: &str) -> Cow<'_, str> {
    let is_unsafe = |c: char| c != '\n' && c.is_control();
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            let _ = write_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_escaped() {
        assert_eq!(
            escape("a\x1b]0;pwned\x07b\rc\nd\te\u{7f}\u{9b}2J\u{202e}f\u{2066}"),
            "a\\x1b]0;pwned\\x07b\\rc\\nd\\te\\x7f\\u{9b}2J\\u{202e}f\\u{2066}"
        );
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for text in ["ACINQ", "⚡ Zap ⚡", "a\\b", "", "ünïcödé 日本"] {
            assert!(
                matches!(escape(text), Cow::Borrowed(t) if t == text),
                "{text}"
            );
        }
    }

    #[test]
    fn escaped_pads_like_a_str() {
        assert_eq!(format!("[{:<5}]", Escaped("ab")), "[ab   ]");
        assert_eq!(format!("[{}]", Escaped("a\nb")), "[a\\nb]");
    }

    #[test]
    fn reports_keep_their_line_breaks_only() {
        assert_eq!(
            escape_report("one\ntwo\x1b[2J\r\n"),
            "one\ntwo\\x1b[2J\\r\n"
        );
        let json = serde_json::to_string_pretty(&serde_json::json!({"a": "\u{1b}\n\u{202e}"}))
            .expect("json");
        assert_eq!(escape_report(&json), json);
    }
}
