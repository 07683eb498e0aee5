//! Black-box tests of the plan-file sink against a real filesystem: what lands on disk, with
//! which modes, what retention removes, and that every failure leaves the previous files intact.

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use dustwatch::sink::plan_file::{
    list_plan_files, open_latest, read_latest, read_plan_text, PlanFileError, PlanFileWriter,
    LATEST_FILE_NAME,
};
use serde::{Serialize, Serializer};
use serde_json::{json, Value};

/// 2026-11-24T03:50:00Z
const T0: i64 = 1_795_492_200;

fn plan(n: i64) -> Value {
    json!({ "schema_version": 1, "generated_at": T0 + n, "cycle": n })
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .into_string()
                .expect("utf-8")
        })
        .collect();
    names.sort();
    names
}

fn temp_leftovers(dir: &Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|name| name.starts_with(".plan-") || name.ends_with(".tmp"))
        .collect()
}

/// A plan file's JSON, decompressed where it is a history file.
fn parse(path: &Path) -> Value {
    serde_json::from_str(&read_plan_text(path).expect("read plan file")).expect("valid JSON")
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o7777
}

/// Root ignores permission bits, so permission-based failure tests cannot fail as root.
fn running_as_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

/// Every file in the directory with its exact bytes, to prove a failure changed nothing.
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    names(dir)
        .into_iter()
        .filter(|name| dir.join(name).is_file())
        .map(|name| {
            let bytes = fs::read(dir.join(&name)).expect("read");
            (name, bytes)
        })
        .collect()
}

/// A directory holding two plans written by the writer, as a "previous state" for failure tests.
fn dir_with_previous_plans() -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("plans");
    let writer = PlanFileWriter::new(&dir, 5);
    for n in 0..2 {
        let _ = writer.write(&plan(n), T0 + n).expect("write");
    }
    (root, dir)
}

#[test]
fn written_files_parse_back_and_latest_is_the_newest() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("plans");
    let writer = PlanFileWriter::new(&dir, 10);

    let mut written = Vec::new();
    for n in 0..3 {
        let outcome = writer.write(&plan(n), T0 + 60 * n).expect("write");
        assert!(outcome.prune_failures.is_empty());
        assert_eq!(outcome.latest, dir.join(LATEST_FILE_NAME));
        written.push(outcome.plan_file.expect("history kept"));
    }

    assert_eq!(
        written
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap())
            .collect::<Vec<_>>(),
        [
            "plan-20261124T035000Z.json.zst",
            "plan-20261124T035100Z.json.zst",
            "plan-20261124T035200Z.json.zst"
        ]
    );
    for (n, path) in written.iter().enumerate() {
        assert_eq!(parse(path), plan(n as i64));
    }
    let newest = read_plan_text(&written[2])
        .expect("read newest")
        .into_bytes();
    assert_eq!(
        fs::read(dir.join(LATEST_FILE_NAME)).expect("read latest"),
        newest
    );
    assert_eq!(
        read_latest(&dir)
            .expect("read_latest")
            .map(String::into_bytes),
        Some(newest)
    );
    assert_eq!(list_plan_files(&dir).expect("list"), written);
    assert!(temp_leftovers(&dir).is_empty());

    // latest.json is compact JSON for scripts, one line; history is its compressed copy.
    let latest = fs::read_to_string(dir.join(LATEST_FILE_NAME)).expect("read latest");
    assert_eq!(latest.lines().count(), 1, "{latest}");
    assert_ne!(
        fs::read(&written[2]).expect("read newest"),
        latest.as_bytes()
    );
}

#[test]
fn same_second_writes_get_unique_names_in_write_order() {
    let root = tempfile::tempdir().expect("tempdir");
    let writer = PlanFileWriter::new(root.path(), 10);
    for n in 0..3 {
        let _ = writer.write(&plan(n), T0).expect("write");
    }
    let listed = list_plan_files(root.path()).expect("list");
    let listed_names: Vec<_> = listed
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        listed_names,
        [
            "plan-20261124T035000Z.json.zst",
            "plan-20261124T035000Z_1.json.zst",
            "plan-20261124T035000Z_2.json.zst"
        ]
    );
    // Plain lexical order (what `ls` shows) is the write order too.
    let mut lexical = listed_names.clone();
    lexical.sort();
    assert_eq!(lexical, listed_names);
    for (n, path) in listed.iter().enumerate() {
        assert_eq!(parse(path), plan(n as i64));
    }
    assert_eq!(parse(&root.path().join(LATEST_FILE_NAME)), plan(2));
}

#[test]
fn retention_keeps_exactly_the_newest_n_and_nothing_else_is_touched() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path();
    // Things that are not plan files, some deliberately close to the pattern.
    fs::write(dir.join("notes.txt"), "operator notes").expect("write");
    fs::write(dir.join("plan-20000101T000000Z.json.bak"), "backup").expect("write");
    fs::write(dir.join("plan-old.json"), "other").expect("write");
    fs::create_dir(dir.join("plan-19990101T000000Z.json")).expect("mkdir");
    fs::write(dir.join("target.json"), "symlink target").expect("write");
    symlink(
        dir.join("target.json"),
        dir.join("plan-19980101T000000Z.json"),
    )
    .expect("symlink");
    let unrelated = names(dir);

    let writer = PlanFileWriter::new(dir, 3);
    let mut pruned = Vec::new();
    let mut written = Vec::new();
    for n in 0..6 {
        let outcome = writer.write(&plan(n), T0 + n).expect("write");
        assert!(
            outcome.prune_failures.is_empty(),
            "{:?}",
            outcome.prune_failures
        );
        pruned.extend(outcome.pruned);
        written.push(outcome.plan_file.expect("history kept"));
    }

    assert_eq!(list_plan_files(dir).expect("list"), written[3..]);
    assert_eq!(pruned, written[..3]);
    for path in &written[..3] {
        assert!(!path.exists(), "{} should be pruned", path.display());
    }
    let mut expected: Vec<String> = unrelated;
    expected.push(LATEST_FILE_NAME.into());
    expected.extend(
        written[3..]
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned()),
    );
    expected.sort();
    assert_eq!(names(dir), expected);
    assert_eq!(parse(&dir.join(LATEST_FILE_NAME)), plan(5));
}

#[test]
fn keep_plans_zero_keeps_only_latest() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path();
    let _ = PlanFileWriter::new(dir, 4)
        .write(&plan(0), T0)
        .expect("write");
    let outcome = PlanFileWriter::new(dir, 0)
        .write(&plan(1), T0 + 1)
        .expect("write");
    assert_eq!(outcome.plan_file, None);
    assert_eq!(outcome.pruned, [dir.join("plan-20261124T035000Z.json.zst")]);
    assert_eq!(names(dir), [LATEST_FILE_NAME]);
    assert_eq!(parse(&dir.join(LATEST_FILE_NAME)), plan(1));
}

#[test]
fn a_plan_stamped_earlier_than_history_is_still_kept() {
    // After a clock step backwards the newest write is the oldest name; latest.json must still
    // have its history entry.
    let root = tempfile::tempdir().expect("tempdir");
    let writer = PlanFileWriter::new(root.path(), 2);
    for n in 1..=3 {
        let _ = writer.write(&plan(n), T0 + 100 * n).expect("write");
    }
    let outcome = writer.write(&plan(0), T0).expect("write");
    let just_written = outcome.plan_file.expect("history kept");
    assert_eq!(
        list_plan_files(root.path()).expect("list"),
        [
            just_written,
            root.path().join("plan-20261124T035500Z.json.zst")
        ]
    );
    assert_eq!(parse(&root.path().join(LATEST_FILE_NAME)), plan(0));
}

#[test]
fn created_directory_is_0750_and_files_are_0640() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("state").join("plans");
    let outcome = PlanFileWriter::new(&dir, 3)
        .write(&plan(0), T0)
        .expect("write");
    assert_eq!(mode(&dir), 0o750);
    assert_eq!(mode(&outcome.plan_file.expect("history kept")), 0o640);
    assert_eq!(mode(&outcome.latest), 0o640);
}

#[test]
fn an_existing_directory_keeps_the_operators_mode() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("plans");
    fs::create_dir(&dir).expect("mkdir");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).expect("chmod");
    let outcome = PlanFileWriter::new(&dir, 3)
        .write(&plan(0), T0)
        .expect("write");
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&outcome.latest), 0o640);
}

#[test]
fn plan_dir_under_a_regular_file_is_an_error_naming_the_path() {
    // Fails for root too: no process can create a directory inside a regular file.
    let root = tempfile::tempdir().expect("tempdir");
    let file = root.path().join("not-a-dir");
    fs::write(&file, "x").expect("write");
    let dir = file.join("plans");
    let err = PlanFileWriter::new(&dir, 3)
        .write(&plan(0), T0)
        .expect_err("cannot create a directory under a file");
    assert!(matches!(err, PlanFileError::Directory { .. }), "{err:?}");
    assert!(err.to_string().contains(dir.to_str().unwrap()), "{err}");
    assert_eq!(names(root.path()), ["not-a-dir"]);

    let err = read_latest(&dir).expect_err("reading under a file fails");
    assert!(
        err.to_string()
            .contains(dir.join(LATEST_FILE_NAME).to_str().unwrap()),
        "{err}"
    );
}

#[test]
fn plan_dir_that_is_a_file_is_an_error_naming_the_path() {
    let root = tempfile::tempdir().expect("tempdir");
    let file = root.path().join("plans");
    fs::write(&file, "x").expect("write");
    let err = PlanFileWriter::new(&file, 3)
        .write(&plan(0), T0)
        .expect_err("a file is not a plan directory");
    assert!(err.to_string().contains(file.to_str().unwrap()), "{err}");
    assert_eq!(fs::read(&file).expect("read"), b"x");
}

#[test]
fn read_only_directory_fails_and_keeps_previous_files() {
    if running_as_root() {
        println!(
            "skipped: running as root, where directory permissions do not stop writes; \
             write_failure_mid_file_keeps_previous_files covers this case for root"
        );
        return;
    }
    let (_root, dir) = dir_with_previous_plans();
    let before = contents(&dir);
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o500)).expect("chmod");
    let result = PlanFileWriter::new(&dir, 5).write(&plan(9), T0 + 9);
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o750)).expect("chmod back");

    let err = result.expect_err("read-only directory");
    assert!(err.to_string().contains(dir.to_str().unwrap()), "{err}");
    assert_eq!(contents(&dir), before);
    assert!(temp_leftovers(&dir).is_empty());
}

/// Environment variable that turns the ignored helper test below into the child half of
/// `write_failure_mid_file_keeps_previous_files`.
const FULL_DISK_DIR_ENV: &str = "DUSTWATCH_TEST_FULL_DISK_DIR";

#[test]
fn write_failure_mid_file_keeps_previous_files() {
    // A file-size limit of 0 (RLIMIT_FSIZE, `ulimit -f 0`) makes every write() into a file fail
    // with EFBIG, like a full disk, and binds root as well. It is set only in a child process
    // (this test binary re-run on the helper test), with SIGXFSZ ignored so the write returns an
    // error instead of killing the process.
    let (_root, dir) = dir_with_previous_plans();
    let before = contents(&dir);

    let exe = std::env::current_exe().expect("test binary path");
    let output = Command::new("/bin/sh")
        .arg("-c")
        .arg(r#"trap '' XFSZ; ulimit -f 0 && exec "$0" "$@""#)
        .arg(&exe)
        .args([
            "--exact",
            "full_disk_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(FULL_DISK_DIR_ENV, &dir)
        .output()
        .expect("run child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("child: write failed as expected"),
        "child failed: {}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );

    assert_eq!(contents(&dir), before);
    assert!(temp_leftovers(&dir).is_empty());
    assert_eq!(
        read_latest(&dir).expect("read"),
        Some(read_plan_text(&dir.join("plan-20261124T035001Z.json.zst")).expect("read"))
    );
}

/// Child half of `write_failure_mid_file_keeps_previous_files`; runs under `ulimit -f 0`.
#[test]
#[ignore = "helper: run by write_failure_mid_file_keeps_previous_files in a child process"]
fn full_disk_child() {
    let Some(dir) = std::env::var_os(FULL_DISK_DIR_ENV) else {
        println!(
            "skipped: only meaningful as the child of write_failure_mid_file_keeps_previous_files"
        );
        return;
    };
    let dir = PathBuf::from(dir);
    let err = PlanFileWriter::new(&dir, 5)
        .write(&plan(9), T0 + 9)
        .expect_err("writes must fail under ulimit -f 0");
    assert!(matches!(err, PlanFileError::Write { .. }), "{err:?}");
    let expected_path = dir.join("plan-20261124T035009Z.json.zst");
    assert!(
        err.to_string().contains(expected_path.to_str().unwrap()),
        "{err}"
    );
    println!("child: write failed as expected: {err}");
}

#[test]
fn failure_to_replace_latest_rolls_back_the_new_plan_file() {
    // Deterministic for root as well: nothing can rename a file over a directory.
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path();
    let writer = PlanFileWriter::new(dir, 5);
    let _ = writer.write(&plan(0), T0).expect("write");
    fs::remove_file(dir.join(LATEST_FILE_NAME)).expect("rm latest");
    fs::create_dir(dir.join(LATEST_FILE_NAME)).expect("mkdir latest");
    fs::write(dir.join(LATEST_FILE_NAME).join("keep"), "x").expect("write");
    let before = contents(dir);

    let err = writer
        .write(&plan(1), T0 + 1)
        .expect_err("latest.json is a directory");
    assert!(matches!(err, PlanFileError::Write { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains(dir.join(LATEST_FILE_NAME).to_str().unwrap()),
        "{err}"
    );
    assert_eq!(contents(dir), before);
    assert_eq!(
        list_plan_files(dir).expect("list"),
        [dir.join("plan-20261124T035000Z.json.zst")]
    );
    assert!(temp_leftovers(dir).is_empty());
}

/// A plan whose serialization fails halfway through, like a map with a non-string key would.
struct Unserializable;

impl Serialize for Unserializable {
    fn serialize<S: Serializer>(&self, _serializer: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("plan refused to serialize"))
    }
}

#[test]
fn serialization_failure_leaves_everything_intact() {
    let (_root, dir) = dir_with_previous_plans();
    let before = contents(&dir);
    let err = PlanFileWriter::new(&dir, 1)
        .write(&Unserializable, T0 + 9)
        .expect_err("serialization fails");
    assert!(matches!(err, PlanFileError::Serialize { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(dir.to_str().unwrap()), "{message}");
    assert!(message.contains("plan refused to serialize"), "{message}");
    // Retention (keep 1) did not run either.
    assert_eq!(contents(&dir), before);
    assert!(temp_leftovers(&dir).is_empty());
}

#[test]
fn serialization_failure_does_not_create_the_directory() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("plans");
    let _ = PlanFileWriter::new(&dir, 3)
        .write(&Unserializable, T0)
        .expect_err("serialization fails");
    assert!(!dir.exists());
}

#[test]
fn unnameable_timestamp_is_an_error_and_writes_nothing() {
    let (_root, dir) = dir_with_previous_plans();
    let before = contents(&dir);
    let err = PlanFileWriter::new(&dir, 5)
        .write(&plan(0), i64::MAX)
        .expect_err("year beyond 9999");
    assert!(
        matches!(err, PlanFileError::TimestampOutOfRange { .. }),
        "{err:?}"
    );
    assert_eq!(contents(&dir), before);
}

#[test]
fn read_latest_missing_is_none() {
    let root = tempfile::tempdir().expect("tempdir");
    assert_eq!(read_latest(root.path()).expect("empty dir"), None);
    assert_eq!(
        read_latest(&root.path().join("absent")).expect("absent dir"),
        None
    );
    assert_eq!(
        list_plan_files(&root.path().join("absent")).expect("absent dir"),
        Vec::<PathBuf>::new()
    );
}

#[test]
fn read_latest_unreadable_is_an_error_naming_the_path() {
    let root = tempfile::tempdir().expect("tempdir");
    let latest = root.path().join(LATEST_FILE_NAME);

    fs::write(&latest, [0xff, 0xfe, b'{']).expect("write");
    let err = read_latest(root.path()).expect_err("not UTF-8");
    assert!(matches!(err, PlanFileError::Read { .. }), "{err:?}");
    assert!(err.to_string().contains(latest.to_str().unwrap()), "{err}");

    fs::remove_file(&latest).expect("rm");
    fs::create_dir(&latest).expect("mkdir");
    let err = read_latest(root.path()).expect_err("a directory");
    assert!(err.to_string().contains(latest.to_str().unwrap()), "{err}");
}

#[test]
fn open_latest_streams_what_read_latest_reads() {
    let root = tempfile::tempdir().expect("tempdir");
    assert!(open_latest(root.path()).expect("empty dir").is_none());
    assert!(open_latest(&root.path().join("absent"))
        .expect("absent dir")
        .is_none());

    let writer = PlanFileWriter::new(root.path(), 2);
    let written = writer
        .write(&serde_json::json!({"schema_version": 1}), 1_700_000_000)
        .expect("write");
    let mut streamed = Vec::new();
    std::io::Read::read_to_end(
        &mut open_latest(root.path()).expect("open").expect("present"),
        &mut streamed,
    )
    .expect("read");
    assert_eq!(
        Some(streamed),
        read_latest(root.path())
            .expect("read")
            .map(String::into_bytes)
    );

    fs::remove_file(&written.latest).expect("rm");
    fs::create_dir(&written.latest).expect("mkdir");
    let err = open_latest(root.path()).expect_err("a directory");
    assert!(matches!(err, PlanFileError::Read { .. }), "{err:?}");
    assert!(
        err.to_string().contains(written.latest.to_str().unwrap()),
        "{err}"
    );
}
