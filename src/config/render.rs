//! The effective configuration as TOML, for `dustwatch check-config`, with secrets redacted.
//!
//! Redaction works on the rendered text using `toml`'s spans, so the output keeps the field order
//! of [`Settings`] and any secret-like key added later is covered without touching this module.
//! Paths are never secret (`lnd.macaroon_path` is shown); the macaroon's bytes are never read here.

use toml::de::{DeTable, DeValue};

use crate::settings::Settings;

/// What a redacted value is replaced with (a TOML string, so the output still parses).
pub const REDACTED: &str = "\"<redacted>\"";

/// Parts of a key name that mark its value as a secret.
const SECRET_MARKERS: &[&str] = &[
    "secret",
    "password",
    "passphrase",
    "token",
    "api_key",
    "private_key",
    "macaroon_hex",
    "credential",
];

/// Suffixes that mark a value as a reference to a secret (a path), which is fine to show.
const REFERENCE_SUFFIXES: &[&str] = &["_path", "_file", "_dir"];

/// Errors while rendering; they indicate a bug, never bad user input.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot serialize settings as TOML: {0}")]
    Serialize(#[from] toml::ser::Error),
    #[error("rendered TOML does not parse back, refusing to print it unredacted: {0}")]
    Reparse(#[from] toml::de::Error),
}

/// `settings` as TOML (one `[section]` per struct, lists inline) with secret-like values
/// replaced by [`REDACTED`].
pub fn redacted_toml(settings: &Settings) -> Result<String, RenderError> {
    let text = toml::to_string(settings)?;
    redact_secrets(&text)
}

/// Whether the last segment of a dotted key names a secret value.
pub fn is_secret_key(key: &str) -> bool {
    let name = key.rsplit('.').next().unwrap_or(key).to_ascii_lowercase();
    SECRET_MARKERS.iter().any(|marker| name.contains(marker))
        && !REFERENCE_SUFFIXES
            .iter()
            .any(|suffix| name.ends_with(suffix))
}

/// `text` (TOML) with the values of secret-like keys replaced.
pub fn redact_secrets(text: &str) -> Result<String, RenderError> {
    let document = DeTable::parse(text)?;
    let mut spans = Vec::new();
    secret_value_spans(document.get_ref(), &mut spans);
    // Replace from the end so earlier spans stay valid.
    spans.sort_by_key(|span| std::cmp::Reverse(span.start));
    let mut out = text.to_string();
    for span in spans {
        out.replace_range(span, REDACTED);
    }
    Ok(out)
}

fn secret_value_spans(table: &DeTable<'_>, out: &mut Vec<std::ops::Range<usize>>) {
    for (key, value) in table.iter() {
        if is_secret_key(key.get_ref()) {
            out.push(value.span());
            continue;
        }
        match value.get_ref() {
            DeValue::Table(inner) => secret_value_spans(inner, out),
            DeValue::Array(items) => {
                for item in items.iter() {
                    if let DeValue::Table(inner) = item.get_ref() {
                        secret_value_spans(inner, out);
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_recognised_but_paths_are_not() {
        assert!(is_secret_key("lnd.macaroon_hex"));
        assert!(is_secret_key("metrics.basic_auth_password"));
        assert!(is_secret_key("API_KEY"));
        assert!(!is_secret_key("lnd.macaroon_path"));
        assert!(!is_secret_key("lnd.tls_cert_path"));
        assert!(!is_secret_key("secrets_dir"));
        assert!(!is_secret_key("lnd.host"));
    }

    #[test]
    fn redacts_values_in_sections_inline_tables_and_table_arrays() {
        let text = "[lnd]\nhost = \"h\"\nmacaroon_hex = \"0201abcd\"\nmacaroon_path = \"/m\"\n\
                    [metrics]\nauth = { user = \"u\", password = \"hunter2\" }\n\
                    [[nodes]]\ntoken = 'tok'\n";
        let out = redact_secrets(text).expect("valid toml");
        assert!(!out.contains("0201abcd"), "{out}");
        assert!(!out.contains("hunter2"), "{out}");
        assert!(!out.contains("tok'"), "{out}");
        assert!(out.contains("macaroon_path = \"/m\""), "{out}");
        assert!(out.contains("user = \"u\""), "{out}");
        assert_eq!(out.matches(REDACTED).count(), 3, "{out}");
        toml::from_str::<toml::Table>(&out).expect("redacted output is still TOML");
    }

    #[test]
    fn defaults_render_in_field_order_and_parse_back() {
        let text = redacted_toml(&Settings::default()).expect("renders");
        let lnd = text.find("[lnd]").expect("lnd section");
        let poll = text.find("[poll]").expect("poll section");
        let log = text.find("[log]").expect("log section");
        assert!(lnd < poll && poll < log, "{text}");
        let back: Settings = toml::from_str(&text).expect("parses back");
        assert_eq!(back, Settings::default());
    }
}
