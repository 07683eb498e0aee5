//! Offline snapshots from the JSON that `lncli` prints, one file per command: `channels`
//! (`listchannels`), `getinfo`, `pending` (`pendingchannels`), `feereport`.
//!
//! `dustwatch analyze --listchannels F [--getinfo F] [--pendingchannels F] [--feereport F]` reads
//! the output of `lncli listchannels`, `getinfo`, `pendingchannels` and `feereport` into the
//! same [`NodeSnapshot`] the gRPC path produces, so a node can be analysed without a connection.
//!
//! # What `lncli` prints
//!
//! `lncli` marshals responses with protojson using LND's `ProtoJSONMarshalOpts`: proto field
//! names (`snake_case`), every field present even when zero (`EmitUnpopulated`), 64-bit integers
//! as decimal strings, 32-bit ones as JSON numbers, enums by name (`"ANCHORS"`), bytes as hex.
//! Versions differ, and all of them are accepted:
//!
//! * LND ≤ 0.9 had no `commitment_type` (LND ≤ 0.5 not even `initiator`), ≤ 0.10 no
//!   `local_constraints`/`remote_constraints`; jsonpb-era `lncli` printed bytes (`hash_lock`)
//!   as base64. A missing field takes LND's meaning: no `commitment_type` is `LEGACY` (or
//!   `STATIC_REMOTE_KEY` when the old `static_remote_key` flag says so), no `initiator` is
//!   [`Initiator::Unknown`](crate::model::Initiator::Unknown), no constraints are `None`.
//! * Since LND 0.19, `lncli listchannels` rewrites `chan_id`: the short channel id moves to
//!   `scid` (plus `scid_str`, `"BLOCKxTXxOUT"`) and `chan_id` becomes the 32-byte BOLT 2
//!   channel id in hex. The short channel id is what dustwatch calls `chan_id`, so `scid` wins
//!   whenever it is present. `custom_channel_data` is printed as a JSON object; it is ignored.
//! * Integers are accepted as JSON numbers or decimal strings; unknown fields are ignored.
//!
//! # Errors and warnings
//!
//! A file that is not what it claims to be (not JSON, top level not an object, `channels` not
//! an array, a broken `block_height`) is an [`LncliError`] naming the file, the JSON path and
//! what was expected. One unreadable channel, HTLC or fee row is not: it is skipped and named in
//! the snapshot's `warnings` together with its JSON path, and the rest is analysed. Numbers out
//! of their possible range (negative amounts, more than 21 million BTC) are clamped, each with
//! a warning for its channel.

mod channel;
mod channels;
mod feereport;
mod fields;
mod fwdinghistory;
mod getinfo;
mod pending;
mod scid;
mod stream;

use std::fs::File;
use std::io::Read as _;
use std::path::PathBuf;

use serde_json::Value;
use thiserror::Error;

use crate::model::{ForwardingFlow, NodeSnapshot, SnapshotSource, SnapshotWarning};
use crate::snapshot::json::{FieldError, JsonPath, Obj};

/// The `lncli` output files of one node; only `listchannels` is required.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LncliFiles {
    /// `lncli listchannels` output.
    pub listchannels: PathBuf,
    /// `lncli getinfo` output: without it the block height (and so HTLC expiry) is unknown.
    pub getinfo: Option<PathBuf>,
    /// `lncli pendingchannels` output.
    pub pendingchannels: Option<PathBuf>,
    /// `lncli feereport` output: our routing policy per channel.
    pub feereport: Option<PathBuf>,
}

/// One `lncli` output already in memory, with the name to use for it in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LncliText<'a> {
    /// How errors and warnings name the file (usually its path).
    pub name: &'a str,
    /// The JSON text exactly as `lncli` printed it.
    pub json: &'a str,
}

/// The in-memory counterpart of [`LncliFiles`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LncliTexts<'a> {
    pub listchannels: LncliText<'a>,
    pub getinfo: Option<LncliText<'a>>,
    pub pendingchannels: Option<LncliText<'a>>,
    pub feereport: Option<LncliText<'a>>,
}

/// Why a set of `lncli` files could not be turned into a snapshot. Every variant names the file.
#[derive(Debug, Error)]
pub enum LncliError {
    /// The file could not be read (missing, unreadable, not UTF-8).
    #[error("{file}: cannot read the file: {cause}")]
    Read { file: String, cause: std::io::Error },
    /// The text is not JSON (or nests deeper than the parser's limit of 128 levels).
    #[error("{file}: not valid JSON: {detail}")]
    Syntax { file: String, detail: String },
    /// The JSON is not shaped like this `lncli` command's output.
    #[error("{file}: at `{path}`: expected {expected}, found {found}")]
    Shape {
        file: String,
        /// JSON path of the offending value, e.g. `channels` or `block_height`.
        path: String,
        expected: String,
        found: String,
    },
}

impl LncliError {
    /// The file the error is about, as it was named to the reader.
    pub fn file(&self) -> &str {
        match self {
            LncliError::Read { file, .. }
            | LncliError::Syntax { file, .. }
            | LncliError::Shape { file, .. } => file,
        }
    }

    fn shape(file: &str, error: FieldError) -> Self {
        LncliError::Shape {
            file: file.to_owned(),
            path: error.path.to_string(),
            expected: error.expected,
            found: error.found,
        }
    }
}

/// The `source.kind` of snapshots read by this module.
pub const SOURCE_KIND: &str = "lncli_json";

/// Reads `lncli` output files into a normalized [`NodeSnapshot`] taken at `taken_at_unix`.
///
/// Every file is opened first, so a missing one is reported before any content; then each is
/// read, used and dropped in turn, so no two are held at once (`listchannels` is tens of MB on
/// a big node). Errors name the file (as its path is displayed) and, for malformed content,
/// the JSON path.
pub fn snapshot_from_files(
    files: &LncliFiles,
    taken_at_unix: i64,
) -> Result<NodeSnapshot, LncliError> {
    let listchannels = open(&files.listchannels)?;
    let getinfo = files.getinfo.as_ref().map(open).transpose()?;
    let pendingchannels = files.pendingchannels.as_ref().map(open).transpose()?;
    let feereport = files.feereport.as_ref().map(open).transpose()?;

    let names: Vec<&str> = [Some(&listchannels), getinfo.as_ref()]
        .into_iter()
        .chain([pendingchannels.as_ref(), feereport.as_ref()])
        .flatten()
        .map(|(name, _)| name.as_str())
        .collect();
    let mut snapshot = NodeSnapshot::empty(taken_at_unix, source(&names));
    let mut warnings = Vec::new();
    let listchannels = read_opened(listchannels)?;
    snapshot.channels = channels::read(&text(&listchannels), &mut warnings)?;
    drop(listchannels);
    let getinfo = getinfo.map(read_opened).transpose()?;
    add_getinfo(&mut snapshot, getinfo.as_ref().map(text), &mut warnings)?;
    if let Some(pending) = pendingchannels.map(read_opened).transpose()? {
        snapshot.pending_channels = pending::read(&text(&pending), &mut warnings)?;
    }
    if let Some(fees) = feereport.map(read_opened).transpose()? {
        feereport::apply(&text(&fees), &mut snapshot.channels, &mut warnings)?;
    }
    Ok(finish(snapshot, warnings))
}

/// A file opened for reading, with the name messages give it.
fn open(path: &PathBuf) -> Result<(String, File), LncliError> {
    let name = path.display().to_string();
    match File::open(path) {
        Ok(file) => Ok((name, file)),
        Err(cause) => Err(LncliError::Read { file: name, cause }),
    }
}

/// The whole text of an opened file, with its name.
fn read_opened((name, mut file): (String, File)) -> Result<(String, String), LncliError> {
    let mut json = String::new();
    match file.read_to_string(&mut json) {
        Ok(_) => Ok((name, json)),
        Err(cause) => Err(LncliError::Read { file: name, cause }),
    }
}

/// Borrows a `(name, contents)` pair read from disk as an [`LncliText`].
fn text((name, json): &(String, String)) -> LncliText<'_> {
    LncliText { name, json }
}

/// Reads `lncli` output already in memory into a normalized [`NodeSnapshot`].
///
/// The snapshot's `source` is `lncli_json` with the files' names; without `getinfo` the node's
/// block height is `None`; `feereport` fills each channel's `local_policy`; `pendingchannels`
/// fills `pending_channels`. Channels that cannot be read are left out and named in `warnings`.
pub fn snapshot_from_strs(
    texts: &LncliTexts<'_>,
    taken_at_unix: i64,
) -> Result<NodeSnapshot, LncliError> {
    let names: Vec<&str> = [
        Some(texts.listchannels),
        texts.getinfo,
        texts.pendingchannels,
        texts.feereport,
    ]
    .into_iter()
    .flatten()
    .map(|t| t.name)
    .collect();
    let mut snapshot = NodeSnapshot::empty(taken_at_unix, source(&names));
    let mut warnings = Vec::new();
    snapshot.channels = channels::read(&texts.listchannels, &mut warnings)?;
    add_getinfo(&mut snapshot, texts.getinfo, &mut warnings)?;
    if let Some(pending) = &texts.pendingchannels {
        snapshot.pending_channels = pending::read(pending, &mut warnings)?;
    }
    if let Some(fees) = &texts.feereport {
        feereport::apply(fees, &mut snapshot.channels, &mut warnings)?;
    }
    Ok(finish(snapshot, warnings))
}

/// The snapshot's `source`: `lncli_json` with the files' names.
fn source(names: &[&str]) -> SnapshotSource {
    SnapshotSource {
        kind: SOURCE_KIND.to_owned(),
        detail: names.join(", "),
    }
}

/// The node from `getinfo`; without it the block height (and so HTLC expiry) is unknown.
fn add_getinfo(
    snapshot: &mut NodeSnapshot,
    getinfo: Option<LncliText<'_>>,
    warnings: &mut Vec<SnapshotWarning>,
) -> Result<(), LncliError> {
    match getinfo {
        Some(getinfo) => snapshot.node = getinfo::read(&getinfo, warnings)?,
        None => snapshot.node.block_height = None,
    }
    Ok(())
}

/// The snapshot with its warnings, normalized.
fn finish(mut snapshot: NodeSnapshot, warnings: Vec<SnapshotWarning>) -> NodeSnapshot {
    snapshot.warnings = warnings;
    snapshot.normalize();
    snapshot
}

/// Adds `lncli fwdinghistory` output to a snapshot: its forwards become the snapshot's
/// [`ForwardingFlow`] over `window_secs` ending at the snapshot's time (flow is otherwise
/// unknown). Unreadable events are skipped and named in the snapshot's warnings.
pub fn apply_fwdinghistory(
    snapshot: &mut NodeSnapshot,
    text: &LncliText<'_>,
    window_secs: u64,
) -> Result<(), LncliError> {
    let events = fwdinghistory::read(text, &mut snapshot.warnings)?;
    snapshot.flow = Some(ForwardingFlow::from_events(
        &events,
        snapshot.taken_at_unix,
        window_secs,
    ));
    if !snapshot.source.detail.is_empty() {
        snapshot.source.detail.push_str(", ");
    }
    snapshot.source.detail.push_str(text.name);
    Ok(())
}

/// [`apply_fwdinghistory`] from a file on disk.
pub fn apply_fwdinghistory_file(
    snapshot: &mut NodeSnapshot,
    path: &std::path::Path,
    window_secs: u64,
) -> Result<(), LncliError> {
    let name = path.display().to_string();
    let json = std::fs::read_to_string(path).map_err(|cause| LncliError::Read {
        file: name.clone(),
        cause,
    })?;
    apply_fwdinghistory(
        snapshot,
        &LncliText {
            name: &name,
            json: &json,
        },
        window_secs,
    )
}

/// Parses one file (syntax only; [`root`] checks its shape).
fn parse_document(text: &LncliText<'_>) -> Result<Value, LncliError> {
    serde_json::from_str(text.json).map_err(|e| LncliError::Syntax {
        file: text.name.to_owned(),
        detail: e.to_string(),
    })
}

/// The top-level object of a parsed document, or an error saying what is there instead.
fn root<'a>(text: &LncliText<'_>, value: &'a Value) -> Result<Obj<'a>, LncliError> {
    Obj::new(
        value,
        JsonPath::root(),
        "a JSON object (the output of lncli)",
    )
    .map_err(|e| LncliError::shape(text.name, e))
}

/// A warning about one file, optionally about one channel.
fn warning(chan_id: Option<u64>, file: &str, message: impl std::fmt::Display) -> SnapshotWarning {
    SnapshotWarning {
        chan_id,
        message: format!("{file}: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(listchannels: &str) -> LncliTexts<'_> {
        LncliTexts {
            listchannels: LncliText {
                name: "lc.json",
                json: listchannels,
            },
            getinfo: None,
            pendingchannels: None,
            feereport: None,
        }
    }

    #[test]
    fn empty_channel_list_is_an_empty_snapshot() {
        let snap = snapshot_from_strs(&texts(r#"{"channels": []}"#), 7).unwrap();
        assert_eq!(snap.taken_at_unix, 7);
        assert_eq!(snap.source.kind, "lncli_json");
        assert_eq!(snap.source.detail, "lc.json");
        assert!(snap.channels.is_empty());
        assert_eq!(snap.node.block_height, None);
    }

    #[test]
    fn malformed_documents_name_file_and_path() {
        let err = snapshot_from_strs(&texts("not json"), 0).unwrap_err();
        assert!(matches!(err, LncliError::Syntax { .. }));
        assert!(
            err.to_string().starts_with("lc.json: not valid JSON"),
            "{err}"
        );

        let err = snapshot_from_strs(&texts("[1, 2]"), 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "lc.json: at `(top level)`: expected a JSON object (the output of lncli), \
             found an array of 2 item(s)"
        );

        let err = snapshot_from_strs(&texts(r#"{"channels": {"a": 1}}"#), 0).unwrap_err();
        assert!(
            matches!(&err, LncliError::Shape { path, found, .. } if path == "channels" && found == "an object"),
            "{err}"
        );

        let err = snapshot_from_strs(&texts("{}"), 0).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
        assert_eq!(err.file(), "lc.json");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let err = snapshot_from_strs(&texts(&deep), 0).unwrap_err();
        assert!(err.to_string().contains("recursion limit"), "{err}");
    }

    #[test]
    fn missing_file_is_a_read_error_naming_it() {
        let files = LncliFiles {
            listchannels: PathBuf::from("/nonexistent/dustwatch/listchannels.json"),
            getinfo: None,
            pendingchannels: None,
            feereport: None,
        };
        let err = snapshot_from_files(&files, 0).unwrap_err();
        assert!(matches!(err, LncliError::Read { .. }));
        assert!(err
            .to_string()
            .starts_with("/nonexistent/dustwatch/listchannels.json: cannot read"));
    }
}
