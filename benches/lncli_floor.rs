//! Where offline analyze's CPU goes, stage by stage, and the floor under it: reading
//! `listchannels.json` and deserializing it to `serde::de::IgnoredAny` (serde_json's parse,
//! nothing kept), the least any serde_json reading of the file can cost.
//!
//! ```text
//! cargo bench --bench dump_busy -- 10000 /tmp/dw/busy
//! cargo bench --bench lncli_floor -- /tmp/dw/busy [RUNS]
//! ```
//!
//! Each stage runs `RUNS` times (default 5); the figures are CPU time (all threads, from
//! /proc/self/task/*/schedstat), minimum and median. The process's start and exit are not in
//! them; `dustwatch analyze` measured whole (`/usr/bin/time`) adds those.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use dustwatch::analyze::analyze;
use dustwatch::settings::AnalysisSettings;
use dustwatch::snapshot::lncli::{snapshot_from_files, LncliFiles};
use serde::de::IgnoredAny;

/// CPU time of every thread of this process so far, in nanoseconds.
fn cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// Runs `stage` `runs` times; prints the minimum and median CPU time of one run.
fn measure<T>(name: &str, runs: usize, mut stage: impl FnMut() -> T) -> T {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let before = cpu_ns();
        let out = stage();
        times.push((cpu_ns() - before) as f64 / 1e6);
        // Dropped outside the timed part, as the command never drops them.
        last = Some(out);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{name:<52} min {:7.1} ms, median {:7.1} ms",
        times[0],
        times[times.len() / 2]
    );
    last.expect("runs is at least 1")
}

/// `dir/name` when that file exists.
fn optional(dir: &Path, name: &str) -> Option<PathBuf> {
    Some(dir.join(name)).filter(|path| path.exists())
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` adds `--bench`; flags are not ours.
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "busy-lncli".to_owned()));
    let runs: usize = args.next().map_or(Ok(5), |a| a.parse())?.max(1);
    let files = LncliFiles {
        listchannels: dir.join("listchannels.json"),
        getinfo: optional(&dir, "getinfo.json"),
        pendingchannels: optional(&dir, "pendingchannels.json"),
        feereport: optional(&dir, "feereport.json"),
    };
    let bytes = std::fs::metadata(&files.listchannels)?.len();
    println!(
        "{}: {:.1} MB, {runs} runs",
        files.listchannels.display(),
        bytes as f64 / 1e6
    );

    let text = measure("read listchannels (read_to_string)", runs, || {
        std::fs::read_to_string(&files.listchannels)
    })?;
    measure("deserialize listchannels to IgnoredAny", runs, || {
        serde_json::from_str::<IgnoredAny>(&text)
    })?;
    measure("read + deserialize to IgnoredAny (the floor)", runs, || {
        std::fs::read_to_string(&files.listchannels)
            .map_err(anyhow::Error::from)
            .and_then(|text| Ok(serde_json::from_str::<IgnoredAny>(&text)?))
    })?;
    drop(text);
    let now = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs())?;
    let snapshot = measure("snapshot from the four files (typed reading)", runs, || {
        snapshot_from_files(&files, now)
    })?;
    let settings = AnalysisSettings::default();
    let plan = measure("analyze", runs, || analyze(&snapshot, &settings, None));
    let mut written = 0;
    measure("plan as compact JSON (to a sink)", runs, || {
        let mut out = CountingSink(0);
        let result = serde_json::to_writer(&mut out, &plan);
        written = out.0;
        result
    })?;
    println!(
        "{} channels, {} HTLCs, plan {:.1} MB",
        snapshot.channels.len(),
        snapshot
            .channels
            .iter()
            .map(|c| c.pending_htlcs.len())
            .sum::<usize>(),
        written as f64 / 1e6
    );
    Ok(())
}

/// Counts the bytes written to it and keeps none.
struct CountingSink(usize);

impl std::io::Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
