//! Reading plan files back: `latest.json` (whole or as a stream), the history listing, and one
//! file's JSON text, decompressed when it is a `.zst`.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::names::{scan_plan_files, COMPRESSED_SUFFIX};
use super::regular::{open_regular, read_regular_to_string, MAX_PLAN_FILE_BYTES};
use super::{PlanFileError, LATEST_FILE_NAME};

/// Loads the previous plan's JSON (`<dir>/latest.json`) at startup, so the first plan after a
/// restart can report changes. A missing file or directory is `None` (first run); anything
/// else that prevents reading it is an error naming the path.
pub fn read_latest(dir: &Path) -> Result<Option<String>, PlanFileError> {
    let path = dir.join(LATEST_FILE_NAME);
    match read_regular_to_string(&path, MAX_PLAN_FILE_BYTES) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(PlanFileError::Read { path, source }),
    }
}

/// Opens `<dir>/latest.json` for streaming, so the previous plan need not be held as text (a
/// 10,000-channel plan is ~100 MB). Same outcomes as [`read_latest`]: a missing file or
/// directory is `None`; a `latest.json` that is not a regular file, or cannot be opened, is an
/// error naming the path. Errors while reading the stream are the reader's to report.
pub fn open_latest(dir: &Path) -> Result<Option<File>, PlanFileError> {
    let path = dir.join(LATEST_FILE_NAME);
    // Non-blocking and checked: a FIFO named latest.json must not hang the daemon's start.
    match open_regular(&path) {
        Ok(file) => Ok(Some(file)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(PlanFileError::Read { path, source }),
    }
}

/// The timestamped plan files in `dir`, oldest first (by the timestamp and sequence in their
/// names). `latest.json`, temporaries and unrelated files are not listed. A missing directory
/// has no plan files.
pub fn list_plan_files(dir: &Path) -> Result<Vec<PathBuf>, PlanFileError> {
    match scan_plan_files(dir) {
        Ok(entries) => Ok(entries.into_iter().map(|entry| entry.path).collect()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(PlanFileError::Read {
            path: dir.to_path_buf(),
            source,
        }),
    }
}

/// A plan file's JSON text: decompressed when its name ends in `.zst`, read as it is otherwise
/// (`latest.json`, uncompressed history of older versions, files a user saved).
pub fn read_plan_text(path: &Path) -> Result<String, PlanFileError> {
    let read_error = |source| PlanFileError::Read {
        path: path.to_path_buf(),
        source,
    };
    let compressed = path
        .file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.ends_with(COMPRESSED_SUFFIX));
    if !compressed {
        return read_regular_to_string(path, MAX_PLAN_FILE_BYTES).map_err(read_error);
    }
    let decoder =
        zstd::Decoder::new(open_regular(path).map_err(read_error)?).map_err(read_error)?;
    let mut bytes = Vec::new();
    // Bounded like a plain plan file, so a hostile or corrupt archive cannot fill memory.
    decoder
        .take(MAX_PLAN_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_PLAN_FILE_BYTES {
        return Err(read_error(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("decompresses to more than {MAX_PLAN_FILE_BYTES} bytes; not a plan file"),
        )));
    }
    String::from_utf8(bytes).map_err(|e| read_error(io::Error::new(io::ErrorKind::InvalidData, e)))
}
