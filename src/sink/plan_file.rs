//! Plan files on disk: `<plan_dir>/plan-<UTC timestamp>.json.zst` for history (compact JSON,
//! zstd-compressed: a tenth of the disk) plus `latest.json` (compact JSON) for whoever wants
//! "the current plan" without listing the directory; `dustwatch plan show` prints either for
//! people.
//!
//! Invariants this module keeps, because users and scripts read these files while the daemon
//! writes them:
//!
//! * A reader never sees a half-written file: each file is written to a temporary file in the
//!   same directory, fsynced, renamed over its final name, and the directory is fsynced.
//!   The history file is the compressed copy of `latest.json`'s bytes, made under a temporary
//!   name and renamed the same way.
//! * A failed write (directory missing and not creatable, disk full, a plan that fails to
//!   serialize) returns an error naming the path and leaves the previous `latest.json` and plan
//!   files exactly as they were, with no temporary file left behind.
//! * Plan file names sort in time order and are unique: a second plan stamped with the same
//!   second gets `_1`, `_2`, … appended (`_` sorts after `.`, so the first file of that second
//!   stays first). Uncompressed `plan-….json` files of older versions are listed and pruned
//!   with the rest. Retention orders by the parsed (timestamp, sequence), never by mtime.
//! * Retention deletes only regular files whose name matches the plan-file pattern exactly;
//!   anything else the operator keeps in the directory is left alone. A plan file stamped later
//!   than the plan being written (a clock that was ahead, a hand-made name) counts as the
//!   oldest, so it cannot hold a retention slot forever.
//! * A dead writer's temporary files are removed at start and whenever retention runs; a live
//!   writer's never are (see [`temps`]).
//! * A full disk does not fail every cycle: when a write fails for lack of space, stale
//!   temporary files and the oldest plans beyond `keep_plans - 1` are removed and the write is
//!   tried once more; [`WrittenPlan::pruned_for_room`] says what that removed.
//!
//! The writer is generic over [`serde::Serialize`], so it does not depend on the plan type.

mod regular;
mod temps;

use std::fs::{self, DirBuilder, File, Permissions};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;
use tempfile::NamedTempFile;
use thiserror::Error;

use crate::settings::OutputSettings;

pub use regular::{open_regular, read_regular_to_string, MAX_PLAN_FILE_BYTES};
pub use temps::STALE_TEMP_AGE;
use temps::{lock_temp, TEMP_PREFIX, TEMP_SUFFIX};

/// Name of the file that always holds the most recently written plan.
pub const LATEST_FILE_NAME: &str = "latest.json";

/// Mode of every plan file: the service user writes, its group (e.g. a monitoring group) reads.
pub const PLAN_FILE_MODE: u32 = 0o640;

/// Mode of a plan directory this module creates. An existing directory keeps the operator's mode.
pub const PLAN_DIR_MODE: u32 = 0o750;

/// How many same-second names to try before giving up; only reachable if another process
/// keeps racing us for the same names.
const MAX_NAME_ATTEMPTS: u32 = 1000;

/// Oldest and newest instants a four-digit year can name: 0000-01-01T00:00:00Z and
/// 9999-12-31T23:59:59Z. Outside them a file name would no longer sort correctly.
const MIN_NAMEABLE_UNIX: i64 = -62_167_219_200;
const MAX_NAMEABLE_UNIX: i64 = 253_402_300_799;

/// Why a plan file could not be written or read. Every variant names the path involved.
#[derive(Debug, Error)]
pub enum PlanFileError {
    #[error("cannot serialize the plan for {dir}: {source}")]
    Serialize {
        dir: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "plan timestamp {unix} (unix seconds) is outside the years 0000-9999 and cannot name a plan file in {dir}"
    )]
    TimestampOutOfRange { dir: PathBuf, unix: i64 },
    #[error("plan directory {path}: {source}")]
    Directory { path: PathBuf, source: io::Error },
    #[error("cannot write plan file {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot read plan file {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot remove old plan file {path}: {source}")]
    Prune { path: PathBuf, source: io::Error },
}

impl PlanFileError {
    /// Whether this is a write that failed for lack of space (ENOSPC or a quota), the one
    /// failure that removing old files can fix.
    pub fn is_storage_full(&self) -> bool {
        match self {
            PlanFileError::Write { source, .. } | PlanFileError::Directory { source, .. } => {
                matches!(
                    source.kind(),
                    io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
                )
            }
            _ => false,
        }
    }
}

/// What a successful [`PlanFileWriter::write`] did.
#[derive(Debug)]
#[must_use = "prune failures are only reported here; log them"]
pub struct WrittenPlan {
    /// The new timestamped file; `None` when `keep_plans` is 0 (only `latest.json` is kept).
    pub plan_file: Option<PathBuf>,
    /// `latest.json`, now holding the same bytes as `plan_file`.
    pub latest: PathBuf,
    /// Old plan files removed by retention, oldest first.
    pub pruned: Vec<PathBuf>,
    /// Old plan files (or stale temporary files) retention could not remove. The plan itself
    /// was written; these only mean the directory holds more than it should.
    pub prune_failures: Vec<PlanFileError>,
    /// Stale temporary files (a killed writer's) removed, including those removed for room.
    pub stale_temps_removed: Vec<PathBuf>,
    /// Plan files removed before the write was retried because the disk was full; empty when
    /// the first attempt succeeded.
    pub pruned_for_room: Vec<PathBuf>,
}

/// Writes plans into one directory and keeps its history bounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanFileWriter {
    dir: PathBuf,
    keep_plans: usize,
}

impl PlanFileWriter {
    /// A writer for `dir` keeping the newest `keep_plans` timestamped files (`latest.json` is
    /// not counted). Nothing touches the disk until [`write`](Self::write).
    pub fn new(dir: impl Into<PathBuf>, keep_plans: usize) -> Self {
        PlanFileWriter {
            dir: dir.into(),
            keep_plans,
        }
    }

    /// A writer configured by the `[output]` section.
    pub fn from_settings(output: &OutputSettings) -> Self {
        Self::new(output.plan_dir.clone(), output.keep_plans)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn keep_plans(&self) -> usize {
        self.keep_plans
    }

    /// Serializes `plan` as compact JSON and writes it as `latest.json` and, compressed, as
    /// `plan-<generated_at>.json.zst`, then prunes history beyond `keep_plans`.
    ///
    /// `generated_at_unix` is the plan's own timestamp (UTC unix seconds), not the wall clock,
    /// so the file name matches the plan's `generated_at`. The directory is created with mode
    /// 0750 if it is missing.
    ///
    /// The JSON is streamed into one temporary file, never held in memory; the history file is
    /// compressed from that file.
    ///
    /// On error nothing visible has changed: the previous `latest.json` and plan files are
    /// intact, no temporary file remains, and a directory this call created for a plan that
    /// then failed to serialize is removed again. The one exception is a failing directory
    /// fsync after both renames, where the new files are in place but their durability is
    /// unknown.
    ///
    /// When the first attempt fails for lack of space (ENOSPC, EDQUOT), stale temporary files
    /// and the oldest plan files beyond `keep_plans - 1` are removed and the write is tried once
    /// more, so a disk that holds exactly `keep_plans` plans does not fail every cycle.
    pub fn write<T: Serialize + ?Sized>(
        &self,
        plan: &T,
        generated_at_unix: i64,
    ) -> Result<WrittenPlan, PlanFileError> {
        let (plan_file, latest) = match self.write_files(plan, generated_at_unix) {
            Err(err) if err.is_storage_full() => {
                let (stale, mut pruned_for_room) = self.make_room(generated_at_unix);
                if stale.is_empty() && pruned_for_room.is_empty() {
                    return Err(err);
                }
                let (plan_file, latest) = self.write_files(plan, generated_at_unix)?;
                let mut written = self.finish(plan_file, latest, generated_at_unix);
                written.stale_temps_removed.splice(0..0, stale);
                written.pruned_for_room.append(&mut pruned_for_room);
                return Ok(written);
            }
            other => other?,
        };
        Ok(self.finish(plan_file, latest, generated_at_unix))
    }

    /// Removes stale temporary files left by a killed writer (see [`temps`]); the daemon calls
    /// this at start. Returns what was removed and what could not be.
    pub fn remove_stale_temps(&self) -> (Vec<PathBuf>, Vec<PlanFileError>) {
        let (removed, failures) = temps::remove_stale_temps(&self.dir, SystemTime::now());
        let failures = failures
            .into_iter()
            .map(|(path, source)| PlanFileError::Prune { path, source })
            .collect();
        (removed, failures)
    }

    /// Retention after a successful write, packaged as a [`WrittenPlan`].
    fn finish(
        &self,
        plan_file: Option<PathBuf>,
        latest: PathBuf,
        generated_at_unix: i64,
    ) -> WrittenPlan {
        let (stale_temps_removed, mut prune_failures) = self.remove_stale_temps();
        let (pruned, mut failures) =
            self.prune(plan_file.as_deref(), generated_at_unix, self.keep_plans);
        prune_failures.append(&mut failures);
        WrittenPlan {
            plan_file,
            latest,
            pruned,
            prune_failures,
            stale_temps_removed,
            pruned_for_room: Vec::new(),
        }
    }

    /// Frees space for one more plan: stale temporary files, then the oldest plan files beyond
    /// `keep_plans - 1`, keeping at least the newest (which `latest.json` names).
    fn make_room(&self, generated_at_unix: i64) -> (Vec<PathBuf>, Vec<PathBuf>) {
        let (stale, _) = self.remove_stale_temps();
        let keep = match self.keep_plans {
            0 => 0,
            keep_plans => (keep_plans - 1).max(1),
        };
        let (pruned, _) = self.prune(None, generated_at_unix, keep);
        (stale, pruned)
    }

    /// One attempt at writing the plan file and `latest.json`, without retention.
    fn write_files<T: Serialize + ?Sized>(
        &self,
        plan: &T,
        generated_at_unix: i64,
    ) -> Result<(Option<PathBuf>, PathBuf), PlanFileError> {
        let stamp = format_utc_timestamp(generated_at_unix).ok_or_else(|| {
            PlanFileError::TimestampOutOfRange {
                dir: self.dir.clone(),
                unix: generated_at_unix,
            }
        })?;

        let created_dir = ensure_dir(&self.dir)?;
        let latest = self.dir.join(LATEST_FILE_NAME);
        let first_target = if self.keep_plans > 0 {
            self.dir.join(plan_file_name_for_stamp(&stamp, 0))
        } else {
            latest.clone()
        };

        // Both temporary names are complete and on disk before either rename, so a failure
        // while preparing them changes nothing visible (dropping a temporary name deletes it).
        let first = match serialize_temp(&self.dir, plan) {
            Ok(temp) => temp,
            Err(TempError::Serialize(source)) => {
                if created_dir {
                    // Only succeeds while empty: the temporary file is already gone.
                    let _ = fs::remove_dir(&self.dir);
                }
                return Err(PlanFileError::Serialize {
                    dir: self.dir.clone(),
                    source,
                });
            }
            Err(TempError::Io(source)) => {
                return Err(PlanFileError::Write {
                    path: first_target,
                    source,
                })
            }
        };
        let (plan_temp, latest_temp) = if self.keep_plans > 0 {
            let compressed =
                compressed_temp(&self.dir, &first).map_err(|source| PlanFileError::Write {
                    path: first_target.clone(),
                    source,
                })?;
            (Some(compressed), first.into_temp_path())
        } else {
            (None, first.into_temp_path())
        };

        // The persisted file stays open (and locked) until `latest.json` is in place, so its
        // hard-linked temporary second name is never mistaken for a dead writer's.
        let (plan_file, _plan_lock) = match plan_temp {
            Some(temp) => {
                let (path, file) = self.persist_unique(temp, &stamp)?;
                (Some(path), Some(file))
            }
            None => (None, None),
        };
        if let Err(err) = latest_temp.persist(&latest) {
            // Roll back the new history entry so the directory is exactly as before; the
            // error drops its temporary name, deleting it.
            if let Some(path) = &plan_file {
                let _ = fs::remove_file(path);
            }
            return Err(PlanFileError::Write {
                path: latest,
                source: err.error,
            });
        }
        sync_dir(&self.dir).map_err(|source| PlanFileError::Directory {
            path: self.dir.clone(),
            source,
        })?;

        Ok((plan_file, latest))
    }

    /// Renames `temp` to the first free `plan-<stamp>[_N].json`, never replacing an existing
    /// file (`persist_noclobber`), so two plans in the same second both survive.
    fn persist_unique(
        &self,
        temp: NamedTempFile,
        stamp: &str,
    ) -> Result<(PathBuf, File), PlanFileError> {
        let mut sequence = next_sequence(&self.dir, stamp);
        let mut temp = temp;
        let mut attempts = 0;
        loop {
            let target = self.dir.join(plan_file_name_for_stamp(stamp, sequence));
            match temp.persist_noclobber(&target) {
                Ok(file) => return Ok((target, file)),
                Err(err)
                    if err.error.kind() == io::ErrorKind::AlreadyExists
                        && attempts < MAX_NAME_ATTEMPTS =>
                {
                    temp = err.file;
                    sequence += 1;
                    attempts += 1;
                }
                Err(err) => {
                    return Err(PlanFileError::Write {
                        path: target,
                        source: err.error,
                    })
                }
            }
        }
    }

    /// Deletes the oldest plan files beyond `keep`. The file just written is always kept (even
    /// if a clock step made it older than the others), so `latest.json` always has a matching
    /// history entry when history is kept at all. Files stamped after `now_unix` (the plan being
    /// written) count as the oldest: no plan can have been written in the future.
    fn prune(
        &self,
        just_written: Option<&Path>,
        now_unix: i64,
        keep: usize,
    ) -> (Vec<PathBuf>, Vec<PlanFileError>) {
        let mut failures = Vec::new();
        let existing = match scan_plan_files(&self.dir) {
            Ok(files) => files,
            Err(source) => {
                failures.push(PlanFileError::Prune {
                    path: self.dir.clone(),
                    source,
                });
                return (Vec::new(), failures);
            }
        };
        let mut others: Vec<PlanFileEntry> = existing
            .into_iter()
            .filter(|entry| Some(entry.path.as_path()) != just_written)
            .collect();
        if let Some(now_stamp) = format_utc_timestamp(now_unix) {
            // Stable: future-dated files move to the front in their own order.
            others.sort_by_key(|entry| entry.stamp <= now_stamp);
        }
        let keep_others = match just_written {
            Some(_) => keep.saturating_sub(1),
            None => keep,
        };
        // `others` is oldest first; everything before the newest `keep_others` goes.
        let delete_count = others.len().saturating_sub(keep_others);
        let mut pruned = Vec::new();
        for entry in others.drain(..delete_count) {
            match fs::remove_file(&entry.path) {
                Ok(()) => pruned.push(entry.path),
                // Someone else (a concurrent `dustwatch once`) pruned it first: same outcome.
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(source) => failures.push(PlanFileError::Prune {
                    path: entry.path,
                    source,
                }),
            }
        }
        (pruned, failures)
    }
}

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

/// The file name for a plan stamped `generated_at_unix`: `plan-20261124T035000Z.json` for
/// sequence 0, `plan-20261124T035000Z_1.json` for the next plan of the same second. `None`
/// outside the years 0000-9999.
pub fn plan_file_name(generated_at_unix: i64, sequence: u32) -> Option<String> {
    format_utc_timestamp(generated_at_unix).map(|stamp| plan_file_name_for_stamp(&stamp, sequence))
}

/// Formats unix seconds as a compact ISO 8601 UTC timestamp, `YYYYMMDDTHHMMSSZ`. Fixed width,
/// so lexical order is time order. `None` outside the years 0000-9999.
pub fn format_utc_timestamp(unix: i64) -> Option<String> {
    if !(MIN_NAMEABLE_UNIX..=MAX_NAMEABLE_UNIX).contains(&unix) {
        return None;
    }
    let days = unix.div_euclid(86_400);
    let second_of_day = unix.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    Some(format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    ))
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`), exact for every day in range with no lookup tables.
fn civil_from_days(days_since_epoch: i64) -> (i64, i64, i64) {
    let z = days_since_epoch + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn plan_file_name_for_stamp(stamp: &str, sequence: u32) -> String {
    if sequence == 0 {
        format!("plan-{stamp}.json{COMPRESSED_SUFFIX}")
    } else {
        format!("plan-{stamp}_{sequence}.json{COMPRESSED_SUFFIX}")
    }
}

/// What history file names end with after `.json`: zstd-compressed.
const COMPRESSED_SUFFIX: &str = ".zst";

/// zstd's level for history: plans compress about tenfold at its fast default.
const ZSTD_LEVEL: i32 = 3;

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

/// A plan file found on disk, with the sort key parsed from its name.
#[derive(Debug)]
struct PlanFileEntry {
    stamp: String,
    sequence: u32,
    path: PathBuf,
}

/// Parses `plan-YYYYMMDDTHHMMSSZ.json` or `plan-YYYYMMDDTHHMMSSZ_N.json` (N ≥ 1, no leading
/// zero), either with `.zst` after it, into (stamp, sequence). Anything else is not a plan file and must never be pruned.
fn parse_plan_file_name(name: &str) -> Option<(String, u32)> {
    let name = name.strip_suffix(COMPRESSED_SUFFIX).unwrap_or(name);
    let rest = name.strip_prefix("plan-")?.strip_suffix(".json")?;
    let (stamp, sequence) = match rest.split_once('_') {
        Some((stamp, digits)) => {
            let well_formed = !digits.is_empty()
                && !digits.starts_with('0')
                && digits.bytes().all(|b| b.is_ascii_digit());
            if !well_formed {
                return None;
            }
            (stamp, digits.parse::<u32>().ok()?)
        }
        None => (rest, 0),
    };
    let bytes = stamp.as_bytes();
    let shape_ok = bytes.len() == 16
        && bytes[8] == b'T'
        && bytes[15] == b'Z'
        && bytes[..8].iter().all(u8::is_ascii_digit)
        && bytes[9..15].iter().all(u8::is_ascii_digit);
    shape_ok.then(|| (stamp.to_owned(), sequence))
}

/// Regular files in `dir` whose names are plan-file names, oldest first. Symlinks and
/// directories are skipped even when their names match.
fn scan_plan_files(dir: &Path) -> io::Result<Vec<PlanFileEntry>> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let Some((stamp, sequence)) = parse_plan_file_name(&name) else {
            continue;
        };
        if !entry.file_type()?.is_file() {
            continue;
        }
        entries.push(PlanFileEntry {
            stamp,
            sequence,
            path: entry.path(),
        });
    }
    entries.sort_by(|a, b| (&a.stamp, a.sequence).cmp(&(&b.stamp, b.sequence)));
    Ok(entries)
}

/// The first sequence number not yet used for `stamp`. Only a hint: the noclobber rename is
/// what guarantees uniqueness against a concurrent writer.
fn next_sequence(dir: &Path, stamp: &str) -> u32 {
    scan_plan_files(dir)
        .unwrap_or_default()
        .iter()
        .filter(|entry| entry.stamp == stamp)
        .map(|entry| entry.sequence.saturating_add(1))
        .max()
        .unwrap_or(0)
}

/// Creates the plan directory with mode 0750 if it does not exist, and says whether it did.
/// An existing directory is left as the operator made it (its mode is theirs to choose).
fn ensure_dir(dir: &Path) -> Result<bool, PlanFileError> {
    let dir_error = |source| PlanFileError::Directory {
        path: dir.to_path_buf(),
        source,
    };
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => return Ok(false),
        Ok(_) => {
            return Err(dir_error(io::Error::new(
                io::ErrorKind::NotADirectory,
                "exists but is not a directory",
            )))
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(dir_error(err)),
    }
    DirBuilder::new()
        .recursive(true)
        .mode(PLAN_DIR_MODE)
        .create(dir)
        .map_err(dir_error)?;
    // The umask may have narrowed the mode; set it exactly on the directory we created.
    fs::set_permissions(dir, Permissions::from_mode(PLAN_DIR_MODE)).map_err(dir_error)?;
    Ok(true)
}

/// Why a temporary plan file could not be prepared.
enum TempError {
    /// The value refused to serialize (nothing about the disk).
    Serialize(serde_json::Error),
    Io(io::Error),
}

/// A new temporary file in `dir` with mode 0640. The mode is set with fchmod, not at creation,
/// so the operator's umask cannot change the result.
fn new_temp(dir: &Path) -> io::Result<NamedTempFile> {
    let temp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)?;
    lock_temp(temp.as_file())?;
    temp.as_file()
        .set_permissions(Permissions::from_mode(PLAN_FILE_MODE))?;
    Ok(temp)
}

/// Streams `value` as compact JSON plus a final newline into a new temporary file in `dir` and
/// fsyncs it.
fn serialize_temp<T: Serialize + ?Sized>(
    dir: &Path,
    value: &T,
) -> Result<NamedTempFile, TempError> {
    let temp = new_temp(dir).map_err(TempError::Io)?;
    let mut out = BufWriter::with_capacity(1 << 16, temp.as_file());
    serde_json::to_writer(&mut out, value).map_err(|e| {
        if e.is_io() {
            TempError::Io(e.into())
        } else {
            TempError::Serialize(e)
        }
    })?;
    out.write_all(b"\n").map_err(TempError::Io)?;
    out.flush().map_err(TempError::Io)?;
    drop(out);
    temp.as_file().sync_all().map_err(TempError::Io)?;
    Ok(temp)
}

/// A new temporary file in `dir` holding `source`'s bytes zstd-compressed, fsynced.
fn compressed_temp(dir: &Path, source: &NamedTempFile) -> io::Result<NamedTempFile> {
    let temp = new_temp(dir)?;
    let mut reader = io::BufReader::with_capacity(1 << 16, source.reopen()?);
    let mut encoder = zstd::Encoder::new(
        BufWriter::with_capacity(1 << 16, temp.as_file()),
        ZSTD_LEVEL,
    )?;
    io::copy(&mut reader, &mut encoder)?;
    encoder.finish()?.flush()?;
    temp.as_file().sync_all()?;
    Ok(temp)
}

/// Makes the renames in `dir` durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    fn written_temp(dir: &Path, bytes: &[u8]) -> NamedTempFile {
        let temp = new_temp(dir).expect("temp file");
        temp.as_file().write_all(bytes).expect("write");
        temp.as_file().sync_all().expect("fsync");
        temp
    }

    #[test]
    fn history_is_the_compressed_plan_and_reads_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = format!("{{\"plan\": \"{}\"}}\n", "x".repeat(10_000));
        let source = written_temp(dir.path(), text.as_bytes());
        let compressed = compressed_temp(dir.path(), &source).expect("compressed");
        let meta = fs::metadata(compressed.path()).expect("stat");
        assert_eq!(meta.mode() & 0o777, PLAN_FILE_MODE);
        assert!(meta.len() < 1_000, "{} bytes", meta.len());
        let named = dir.path().join("plan-20261124T035000Z.json.zst");
        compressed.persist(&named).expect("persist");
        assert_eq!(read_plan_text(&named).expect("read"), text);
        // An uncompressed file reads as it is.
        let plain = dir.path().join("plan-20261124T035000Z.json");
        fs::write(&plain, &text).expect("write");
        assert_eq!(read_plan_text(&plain).expect("read"), text);
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_utc_timestamp(0).as_deref(), Some("19700101T000000Z"));
        // 2026-11-24T03:50:00Z
        assert_eq!(
            format_utc_timestamp(1_795_492_200).as_deref(),
            Some("20261124T035000Z")
        );
        // Leap day and the last second of a leap year.
        assert_eq!(
            format_utc_timestamp(951_782_400).as_deref(),
            Some("20000229T000000Z")
        );
        assert_eq!(
            format_utc_timestamp(1_735_689_599).as_deref(),
            Some("20241231T235959Z")
        );
        assert_eq!(
            format_utc_timestamp(-1).as_deref(),
            Some("19691231T235959Z")
        );
    }

    #[test]
    fn nameable_range_is_four_digit_years() {
        assert_eq!(
            format_utc_timestamp(MIN_NAMEABLE_UNIX).as_deref(),
            Some("00000101T000000Z")
        );
        assert_eq!(
            format_utc_timestamp(MAX_NAMEABLE_UNIX).as_deref(),
            Some("99991231T235959Z")
        );
        assert_eq!(format_utc_timestamp(MIN_NAMEABLE_UNIX - 1), None);
        assert_eq!(format_utc_timestamp(MAX_NAMEABLE_UNIX + 1), None);
        assert_eq!(format_utc_timestamp(i64::MIN), None);
    }

    #[test]
    fn every_day_of_a_400_year_cycle_round_trips_in_order() {
        // Consecutive days must produce strictly increasing, well-formed stamps.
        let mut previous = String::new();
        for day in -146_097..146_097_i64 {
            let stamp = format_utc_timestamp(day * 86_400).expect("in range");
            assert!(stamp > previous, "{stamp} after {previous}");
            let (year, month, day_of_month) = civil_from_days(day);
            assert!((1..=12).contains(&month) && (1..=31).contains(&day_of_month));
            assert!((1570..=2370).contains(&year));
            previous = stamp;
        }
    }

    #[test]
    fn names_sort_in_write_order_within_a_second() {
        let names: Vec<String> = (0..3)
            .map(|sequence| plan_file_name(1_795_492_200, sequence).expect("in range"))
            .collect();
        assert_eq!(names[0], "plan-20261124T035000Z.json.zst");
        assert_eq!(names[1], "plan-20261124T035000Z_1.json.zst");
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(sorted, names);
        let next_second = plan_file_name(1_795_492_201, 0).expect("in range");
        assert!(next_second > names[2]);
    }

    #[test]
    fn parses_only_exact_plan_file_names() {
        assert_eq!(
            parse_plan_file_name("plan-20261124T035000Z.json"),
            Some(("20261124T035000Z".into(), 0))
        );
        assert_eq!(
            parse_plan_file_name("plan-20261124T035000Z_12.json"),
            Some(("20261124T035000Z".into(), 12))
        );
        assert_eq!(
            parse_plan_file_name("plan-20261124T035000Z_12.json.zst"),
            Some(("20261124T035000Z".into(), 12))
        );
        for not_a_plan in [
            "latest.json",
            "plan-20261124T035000Z.json.bak",
            "plan-20261124T035000Z.json.zst.zst",
            "plan-20261124T035000Z.zst",
            "plan-20261124T035000Z_.json",
            "plan-20261124T035000Z_01.json",
            "plan-20261124T035000Z_1a.json",
            "plan-20261124T035000Z-1.json",
            "plan-2026112T035000Z.json",
            "plan-20261124X035000Z.json",
            "plan-20261124T035000.json",
            "plan-2026112AT035000Z.json",
            "myplan-20261124T035000Z.json",
            ".plan-abc123.tmp",
            "plan-20261124T035000Z_99999999999.json",
        ] {
            assert_eq!(parse_plan_file_name(not_a_plan), None, "{not_a_plan}");
        }
    }
}
