//! Plan file names: the UTC stamp and sequence they carry, parsing them back, and listing the
//! plan files of a directory in time order.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Oldest and newest instants a four-digit year can name: 0000-01-01T00:00:00Z and
/// 9999-12-31T23:59:59Z. Outside them a file name would no longer sort correctly.
pub(super) const MIN_NAMEABLE_UNIX: i64 = -62_167_219_200;
pub(super) const MAX_NAMEABLE_UNIX: i64 = 253_402_300_799;

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
pub(super) fn civil_from_days(days_since_epoch: i64) -> (i64, i64, i64) {
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

pub(super) fn plan_file_name_for_stamp(stamp: &str, sequence: u32) -> String {
    if sequence == 0 {
        format!("plan-{stamp}.json{COMPRESSED_SUFFIX}")
    } else {
        format!("plan-{stamp}_{sequence}.json{COMPRESSED_SUFFIX}")
    }
}

/// What history file names end with after `.json`: zstd-compressed.
pub(super) const COMPRESSED_SUFFIX: &str = ".zst";

/// A plan file found on disk, with the sort key parsed from its name.
#[derive(Debug)]
pub(super) struct PlanFileEntry {
    pub(super) stamp: String,
    pub(super) sequence: u32,
    pub(super) path: PathBuf,
}

/// Parses `plan-YYYYMMDDTHHMMSSZ.json` or `plan-YYYYMMDDTHHMMSSZ_N.json` (N ≥ 1, no leading
/// zero), either with `.zst` after it, into (stamp, sequence). Anything else is not a plan file and must never be pruned.
pub(super) fn parse_plan_file_name(name: &str) -> Option<(String, u32)> {
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
pub(super) fn scan_plan_files(dir: &Path) -> io::Result<Vec<PlanFileEntry>> {
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
pub(super) fn next_sequence(dir: &Path, stamp: &str) -> u32 {
    scan_plan_files(dir)
        .unwrap_or_default()
        .iter()
        .filter(|entry| entry.stamp == stamp)
        .map(|entry| entry.sequence.saturating_add(1))
        .max()
        .unwrap_or(0)
}
