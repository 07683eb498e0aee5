//! The file layer: read the TOML file, check it against [`Settings`] with errors that carry the
//! line and the key, and remember the line of every key for later messages.
//!
//! The `config` crate merges layers but forgets where a value came from, so the file is first
//! parsed with `toml`, which keeps spans: a syntax error, an unknown key or a wrong type is reported
//! here, before any merging, with the file's path, the dotted key and its line.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use super::ConfigError;
use crate::settings::Settings;

/// A configuration file that parsed and matches the shape of [`Settings`].
#[derive(Debug, Clone)]
pub struct FileLayer {
    pub path: PathBuf,
    pub text: String,
    /// Dotted key → 1-based line where the key is written (a table's line is its header's).
    key_lines: BTreeMap<String, usize>,
}

impl FileLayer {
    /// The line where `key` is set in the file, if it is.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        self.key_lines.get(key).copied()
    }
}

/// Reads and checks the file at `path`.
///
/// A file that does not exist is `Ok(None)` unless `required`: the default path may be absent
/// (built-in defaults apply), a path the operator named may not.
pub fn read(path: &Path, required: bool) -> Result<Option<FileLayer>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == io::ErrorKind::NotFound && !required => return Ok(None),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Err(ConfigError::FileNotFound {
                path: path.to_path_buf(),
            })
        }
        Err(source) => {
            return Err(ConfigError::ReadFile {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    parse(path, text).map(Some)
}

/// Parses `text` (the contents of `path`) and checks it against [`Settings`].
pub fn parse(path: &Path, text: String) -> Result<FileLayer, ConfigError> {
    let document = DeTable::parse(&text).map_err(|err| file_error(path, &text, &err, None))?;
    let mut key_lines = BTreeMap::new();
    collect_key_lines(document.get_ref(), "", &text, &mut key_lines);

    // Deserializing into `Settings` applies its `deny_unknown_fields` and field types, with spans.
    if let Err(err) = toml::from_str::<Settings>(&text) {
        let key = err
            .span()
            .and_then(|span| key_at(document.get_ref(), span.start, ""));
        return Err(file_error(path, &text, &err, key));
    }
    drop(document);
    Ok(FileLayer {
        path: path.to_path_buf(),
        text,
        key_lines,
    })
}

fn file_error(path: &Path, text: &str, err: &toml::de::Error, key: Option<String>) -> ConfigError {
    ConfigError::File {
        path: path.to_path_buf(),
        line: err.span().map(|span| line_at(text, span.start)),
        key,
        message: err.message().trim_end().to_string(),
    }
}

/// 1-based line number of byte offset `pos`.
fn line_at(text: &str, pos: usize) -> usize {
    let end = pos.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn collect_key_lines(
    table: &DeTable<'_>,
    prefix: &str,
    text: &str,
    out: &mut BTreeMap<String, usize>,
) {
    for (key, value) in table.iter() {
        let path = join(prefix, key.get_ref());
        out.entry(path.clone())
            .or_insert_with(|| line_at(text, key.span().start));
        match value.get_ref() {
            DeValue::Table(inner) => collect_key_lines(inner, &path, text, out),
            // `[[nodes]]`: each table of the array is `nodes[i]`, as validation names it.
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let DeValue::Table(inner) = item.get_ref() {
                        collect_key_lines(inner, &format!("{path}[{i}]"), text, out);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The dotted key whose name or value covers byte offset `pos`, innermost first.
///
/// Container spans are not relied on (a `[section]` table's span need not cover its body), so
/// every nested table is searched before a value's own span is considered.
fn key_at(table: &DeTable<'_>, pos: usize, prefix: &str) -> Option<String> {
    for (key, value) in table.iter() {
        let path = join(prefix, key.get_ref());
        if key.span().contains(&pos) {
            return Some(path);
        }
        if let DeValue::Table(inner) = value.get_ref() {
            if let Some(found) = key_at(inner, pos, &path) {
                return Some(found);
            }
        }
    }
    table
        .iter()
        .find(|(_, value)| value.span().contains(&pos) || value.span().start == pos)
        .map(|(key, _)| join(prefix, key.get_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> ConfigError {
        parse(Path::new("/etc/dw.toml"), text.to_string()).expect_err("must be rejected")
    }

    fn line_and_key(err: ConfigError) -> (Option<usize>, Option<String>, String) {
        match err {
            ConfigError::File {
                line, key, message, ..
            } => (line, key, message),
            other => panic!("expected a file error, got {other:?}"),
        }
    }

    #[test]
    fn syntax_error_has_line() {
        let (line, _, message) = line_and_key(err("[lnd]\nhost = \"x\"\nport = \n"));
        assert_eq!(line, Some(3), "{message}");
    }

    #[test]
    fn unknown_key_in_section_names_key_and_line() {
        let (line, key, message) = line_and_key(err("# c\n[lnd]\nhost = \"x\"\nhots = \"y\"\n"));
        assert_eq!(line, Some(4));
        assert_eq!(key.as_deref(), Some("lnd.hots"));
        assert!(message.contains("hots"), "{message}");
    }

    #[test]
    fn unknown_nested_key_names_full_path() {
        let (line, key, _) =
            line_and_key(err("[analysis.health]\nbalance_weight = 0.5\nfoo = 1\n"));
        assert_eq!(line, Some(3));
        assert_eq!(key.as_deref(), Some("analysis.health.foo"));
    }

    #[test]
    fn unknown_section_names_it() {
        let (line, key, _) = line_and_key(err("[lnd]\nport = 1\n\n[lnx]\nport = 2\n"));
        assert_eq!(key.as_deref(), Some("lnx"));
        assert_eq!(line, Some(4));
    }

    #[test]
    fn wrong_type_names_key_and_line() {
        let (line, key, message) = line_and_key(err("[lnd]\nhost = \"h\"\nport = \"ten\"\n"));
        assert_eq!(line, Some(3));
        assert_eq!(key.as_deref(), Some("lnd.port"), "{message}");
    }

    #[test]
    fn bad_duration_names_key_and_line() {
        let (line, key, _) = line_and_key(err("[poll]\n\ninterval = \"soon\"\n"));
        assert_eq!(line, Some(3));
        assert_eq!(key.as_deref(), Some("poll.interval"));
    }

    #[test]
    fn bad_enum_names_key_and_line() {
        let (line, key, _) = line_and_key(err("[log]\nformat = \"xml\"\n"));
        assert_eq!(line, Some(2));
        assert_eq!(key.as_deref(), Some("log.format"));
    }

    #[test]
    fn bad_list_item_names_key() {
        let (line, key, _) =
            line_and_key(err("[analysis]\nfee_spike_multipliers = [2.0,\n  \"x\"]\n"));
        assert_eq!(key.as_deref(), Some("analysis.fee_spike_multipliers"));
        assert_eq!(line, Some(3));
    }

    #[test]
    fn dotted_keys_are_located() {
        let file = parse(
            Path::new("x.toml"),
            "lnd.port = 1\n[analysis]\nhealth.dust_weight = 0.3\n".to_string(),
        )
        .expect("valid");
        assert_eq!(file.line_of("lnd.port"), Some(1));
        assert_eq!(file.line_of("analysis.health.dust_weight"), Some(3));
        assert_eq!(file.line_of("analysis"), Some(2));
        assert_eq!(file.line_of("poll"), None);
    }

    #[test]
    fn missing_default_file_is_none_missing_explicit_is_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("absent.toml");
        assert!(read(&missing, false).expect("optional").is_none());
        assert!(matches!(
            read(&missing, true),
            Err(ConfigError::FileNotFound { path }) if path == missing
        ));
    }
}
