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
//! File names live in `names`, reading plan files back in `read`.

mod names;
mod read;
mod regular;
mod temps;
#[cfg(test)]
mod tests;

use std::fs::{self, DirBuilder, File, Permissions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;
use tempfile::NamedTempFile;
use thiserror::Error;

use crate::settings::OutputSettings;

pub use names::{format_utc_timestamp, plan_file_name};
use names::{next_sequence, plan_file_name_for_stamp, scan_plan_files, PlanFileEntry};
pub use read::{list_plan_files, open_latest, read_latest, read_plan_text};
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

/// zstd's level for history: plans compress about tenfold at its fast default.
const ZSTD_LEVEL: i32 = 3;

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
