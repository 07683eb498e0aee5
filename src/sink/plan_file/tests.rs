//! Unit tests of plan files: history compression, names and their order, parsing.

use std::os::unix::fs::MetadataExt;

use super::names::{civil_from_days, parse_plan_file_name, MAX_NAMEABLE_UNIX, MIN_NAMEABLE_UNIX};
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
