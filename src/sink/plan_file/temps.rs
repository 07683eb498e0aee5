//! Temporary plan files (`.plan-XXXXXX.tmp`) and how a dead writer's leftovers are told apart
//! from a live writer's file.
//!
//! A writer holds an exclusive `flock` on its temporary file from creation until the file is
//! renamed into place or deleted; the kernel drops the lock when the process dies (SIGKILL,
//! OOM, watchdog), however it dies. A temporary file is stale, and removed, only when
//! * its name is exactly ours (`.plan-` + tempfile's random letters and digits + `.tmp`) and it
//!   is a regular file (never a symlink or anything the operator keeps there);
//! * it was last modified at least [`STALE_TEMP_AGE`] ago, which covers the instant between a
//!   writer creating the file and locking it, and a writer that does not lock (an older
//!   dustwatch), whose writes keep the modification time fresh;
//! * nobody holds its lock: the cleaner takes the lock itself (non-blocking) and deletes the
//!   file while holding it. A hard-linked second name shares the inode, so it shares the lock.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rustix::fs::{flock, FlockOperation, OFlags};

/// Temporary files start with a dot and end in `.tmp`, so they never match the plan-file
/// pattern and are never mistaken for (or pruned as) a plan.
pub const TEMP_PREFIX: &str = ".plan-";
pub const TEMP_SUFFIX: &str = ".tmp";

/// How long an unlocked temporary file must have been left unmodified before it counts as a
/// dead writer's leftover.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(60);

/// Takes the writer's lock on a temporary file it just created; held until `file` is closed.
pub fn lock_temp(file: &File) -> io::Result<()> {
    flock(file, FlockOperation::NonBlockingLockExclusive).map_err(io::Error::from)
}

/// Whether `name` is one of our temporary file names: `.plan-`, tempfile's random letters and
/// digits, `.tmp`.
pub fn is_temp_name(name: &str) -> bool {
    name.strip_prefix(TEMP_PREFIX)
        .and_then(|rest| rest.strip_suffix(TEMP_SUFFIX))
        .is_some_and(|random| {
            !random.is_empty() && random.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

/// Removes the stale temporary files in `dir` (see the module docs), judging age against
/// `now`. Returns what was removed and what could not be. A missing directory has none.
pub fn remove_stale_temps(
    dir: &Path,
    now: SystemTime,
) -> (Vec<PathBuf>, Vec<(PathBuf, io::Error)>) {
    let mut removed = Vec::new();
    let mut failures = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return (removed, failures),
        Err(err) => {
            failures.push((dir.to_path_buf(), err));
            return (removed, failures);
        }
    };
    for entry in entries.flatten() {
        let is_ours = entry.file_name().to_str().is_some_and(is_temp_name);
        if !is_ours {
            continue;
        }
        let path = entry.path();
        match remove_if_stale(&path, now) {
            Ok(true) => removed.push(path),
            Ok(false) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => failures.push((path, err)),
        }
    }
    (removed, failures)
}

/// Deletes `path` if it is a regular file, old enough and unlocked; says whether it did.
fn remove_if_stale(path: &Path, now: SystemTime) -> io::Result<bool> {
    let meta = fs::symlink_metadata(path)?;
    if !meta.file_type().is_file() {
        return Ok(false);
    }
    let age = now
        .duration_since(meta.modified()?)
        .unwrap_or(Duration::ZERO);
    if age < STALE_TEMP_AGE {
        return Ok(false);
    }
    // Non-blocking and no-follow: the name may have been replaced since the stat.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags((OFlags::NONBLOCK | OFlags::NOFOLLOW).bits() as i32)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Ok(false);
    }
    match flock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {}
        // A live writer holds it.
        Err(rustix::io::Errno::WOULDBLOCK) => return Ok(false),
        Err(err) => return Err(err.into()),
    }
    // Deleted while we hold the lock, so no writer can have taken it over in between.
    fs::remove_file(path)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_temporary_names_match() {
        assert!(is_temp_name(".plan-a1B2c3.tmp"));
        for other in [
            ".plan-.tmp",
            ".plan-abc.tmp.bak",
            "plan-abc.tmp",
            ".plan-ab/c.tmp",
            ".plan-ab c.tmp",
            ".other-abc.tmp",
            "latest.json",
        ] {
            assert!(!is_temp_name(other), "{other}");
        }
    }
}
