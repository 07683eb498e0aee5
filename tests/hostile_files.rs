//! `dustwatch plan show` and `plan diff` on files that are not regular files, over the real
//! binary: a FIFO is refused at once instead of waiting for a writer, and `/dev/zero` is
//! refused instead of being read forever.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::mkfifo;

/// Far longer than a refusal takes; reached only when the command hangs.
const PATIENCE: Duration = Duration::from_secs(60);

/// Runs dustwatch with `args`; kills it and fails if it has not finished within [`PATIENCE`].
fn dustwatch(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dustwatch"))
        .args(args)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dustwatch");
    let deadline = Instant::now() + PATIENCE;
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("dustwatch {args:?} still running after {PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn assert_refused(output: &Output, path: &Path, what: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(65), "stderr: {stderr}");
    assert!(
        stderr.contains(&path.display().to_string()) && stderr.contains(what),
        "the error names the file and what it is: {stderr}"
    );
}

#[test]
fn plan_show_refuses_a_fifo_named_latest_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let latest = dir.path().join("latest.json");
    mkfifo(&latest);
    let dir_arg = dir.path().display().to_string();
    let output = dustwatch(&["plan", "show", &dir_arg]);
    assert_refused(&output, &latest, "a FIFO, not a regular file");
}

#[test]
fn plan_diff_refuses_a_fifo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("plan.json");
    mkfifo(&fifo);
    let fifo_arg = fifo.display().to_string();
    let output = dustwatch(&["plan", "diff", &fifo_arg, &fifo_arg]);
    assert_refused(&output, &fifo, "a FIFO, not a regular file");
}

#[test]
fn plan_show_refuses_dev_zero() {
    let output = dustwatch(&["plan", "show", "/dev/zero"]);
    assert_refused(
        &output,
        Path::new("/dev/zero"),
        "a device, not a regular file",
    );
}
