//! Faults in the plan directory that a killed writer, a full disk or a wrong clock leave behind,
//! against the real writer on a real file system: stale temporary files are removed (a live
//! writer's are not), a disk that holds exactly `keep_plans` plans keeps accepting plans, and a
//! future-dated plan file does not keep a retention slot forever.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use dustwatch::sink::plan_file::{list_plan_files, PlanFileWriter, STALE_TEMP_AGE};
use rustix::fs::{flock, FlockOperation};
use serde_json::{json, Value};

/// 2026-11-24T03:50:00Z
const T0: i64 = 1_795_492_200;

fn plan(n: i64) -> Value {
    json!({ "schema_version": 1, "generated_at": T0 + n, "cycle": n })
}

fn file_names(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("?")
                .to_owned()
        })
        .collect()
}

/// A file at `path` last modified `age` ago.
fn aged_file(path: &Path, age: Duration) -> File {
    fs::write(path, b"half a plan").expect("write");
    let file = OpenOptions::new().write(true).open(path).expect("open");
    file.set_modified(SystemTime::now() - age)
        .expect("set mtime");
    file
}

#[test]
fn stale_temporary_files_are_removed_but_a_live_writers_are_not() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path();
    let old = STALE_TEMP_AGE + Duration::from_secs(60);
    let _ = aged_file(&dir.join(".plan-dead01.tmp"), old);
    let _ = aged_file(&dir.join(".plan-dead02.tmp"), Duration::from_secs(86_400));
    // A live writer: old modification time (a slow fsync), but it holds the lock.
    let live = aged_file(&dir.join(".plan-live01.tmp"), old);
    flock(&live, FlockOperation::NonBlockingLockExclusive).expect("lock");
    // Just created, not yet locked by its writer.
    let _ = aged_file(&dir.join(".plan-young1.tmp"), Duration::ZERO);
    // Not ours: other names, and a symlink with our name.
    let _ = aged_file(&dir.join("notes.tmp"), old);
    let _ = aged_file(&dir.join(".plan-.tmp"), old);
    let _ = aged_file(&dir.join("target"), old);
    std::os::unix::fs::symlink(dir.join("target"), dir.join(".plan-link01.tmp")).expect("symlink");

    let writer = PlanFileWriter::new(dir, 3);
    let (removed, failures) = writer.remove_stale_temps();
    assert!(failures.is_empty(), "{failures:?}");
    let mut removed = file_names(&removed);
    removed.sort();
    assert_eq!(removed, [".plan-dead01.tmp", ".plan-dead02.tmp"]);
    for kept in [
        ".plan-live01.tmp",
        ".plan-young1.tmp",
        "notes.tmp",
        ".plan-.tmp",
        "target",
        ".plan-link01.tmp",
    ] {
        assert!(
            fs::symlink_metadata(dir.join(kept)).is_ok(),
            "{kept} was removed"
        );
    }

    // Retention removes them too, once the writer died (its lock went with it).
    drop(live);
    let written = writer.write(&plan(0), T0).expect("write");
    assert_eq!(
        file_names(&written.stale_temps_removed),
        [".plan-live01.tmp"]
    );
    assert!(!dir.join(".plan-live01.tmp").exists());
    assert!(dir.join(".plan-young1.tmp").exists());
}

#[test]
fn a_future_dated_plan_file_does_not_keep_a_retention_slot() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path();
    let future = dir.join("plan-20991231T000000Z.json");
    fs::write(&future, "{}").expect("write");
    let writer = PlanFileWriter::new(dir, 2);
    for n in 0..3 {
        let _ = writer.write(&plan(n), T0 + n).expect("write");
    }
    assert!(!future.exists(), "the future-dated file holds a slot");
    assert_eq!(
        file_names(&list_plan_files(dir).expect("list")),
        [
            "plan-20261124T035001Z.json.zst",
            "plan-20261124T035002Z.json.zst"
        ]
    );
}

/// Environment variable that turns the ignored helper test below into the child half of
/// `a_disk_that_holds_exactly_keep_plans_plans_keeps_accepting_plans`.
const TMPFS_DIR_ENV: &str = "DUSTWATCH_TEST_TMPFS_DIR";

/// A plan of five 4 KiB pages on tmpfs.
fn padded_plan(n: i64) -> Value {
    json!({ "schema_version": 1, "cycle": n, "padding": "x".repeat(18_000) })
}

#[test]
fn a_disk_that_holds_exactly_keep_plans_plans_keeps_accepting_plans() {
    // A real full disk: a 48 KiB tmpfs (12 pages) holds two 5-page plans but not a third. It is
    // mounted in a new user and mount namespace (`unshare -rm`), so no root is needed where
    // unprivileged user namespaces are allowed; elsewhere the test says so and skips.
    let root = tempfile::tempdir().expect("tempdir");
    let mount = root.path().join("disk");
    fs::create_dir(&mount).expect("mkdir");
    let exe = std::env::current_exe().expect("test binary path");
    let output = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "/bin/sh", "-c"])
        .arg(r#"mount -t tmpfs -o size=48k dustwatch-test "$1" || exit 77; shift; exec "$@""#)
        .arg("sh")
        .arg(&mount)
        .arg(&exe)
        .args([
            "--exact",
            "tmpfs_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(TMPFS_DIR_ENV, &mount)
        .output();
    let output = match output {
        Ok(output) => output,
        Err(err) => {
            eprintln!("skipped: cannot run unshare ({err})");
            return;
        }
    };
    if output.status.code() == Some(77)
        || String::from_utf8_lossy(&output.stderr).contains("unshare failed")
    {
        eprintln!(
            "skipped: no tmpfs in a user namespace here: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return;
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("child: all plans written"),
        "child failed: {}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Child half of `a_disk_that_holds_exactly_keep_plans_plans_keeps_accepting_plans`; runs with
/// the plan directory on a 48 KiB tmpfs.
#[test]
#[ignore = "helper: run by a_disk_that_holds_exactly_keep_plans_plans_keeps_accepting_plans"]
fn tmpfs_child() {
    let Some(mount) = std::env::var_os(TMPFS_DIR_ENV) else {
        println!("skipped: only meaningful as the child of the full-disk test");
        return;
    };
    let dir = PathBuf::from(mount).join("plans");
    let writer = PlanFileWriter::new(&dir, 2);
    for n in 0..2 {
        let written = writer.write(&padded_plan(n), T0 + n).expect("fits");
        assert!(written.pruned_for_room.is_empty());
    }
    // The disk now holds exactly keep_plans plans: every further plan needs the oldest gone.
    for n in 2..6 {
        let written = writer
            .write(&padded_plan(n), T0 + n)
            .unwrap_or_else(|err| panic!("plan {n} on a disk holding keep_plans plans: {err}"));
        assert_eq!(written.pruned_for_room.len(), 1, "plan {n}: {written:?}");
        let names = file_names(&list_plan_files(&dir).expect("list"));
        assert_eq!(names.len(), 2, "{names:?}");
        let latest: Value =
            serde_json::from_slice(&fs::read(dir.join("latest.json")).expect("read"))
                .expect("json");
        assert_eq!(latest["cycle"], n);
    }
    println!("child: all plans written");
}
