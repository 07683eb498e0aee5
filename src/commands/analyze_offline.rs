//! `dustwatch analyze`: a plan from files saved with `lncli`, no node needed.

use std::io::Write;

use super::error::AppError;
use super::output::write_output;
use crate::analyze::analyze;
use crate::cli::AnalyzeArgs;
use crate::plan::render::render_table;
use crate::plan::Plan;
use crate::settings::Settings;
use crate::sink::plan_file::PlanFileWriter;
use crate::sink::previous_plan::load_previous_digest;
use crate::snapshot::lncli::{apply_fwdinghistory_file, snapshot_from_files, LncliFiles};

/// Reads the files, analyses, prints a table (or the plan as JSON) and, with `--out`, writes
/// the plan files there (comparing with the `latest.json` already in that directory).
pub fn run(
    args: &AnalyzeArgs,
    settings: &Settings,
    stdout: &mut (dyn Write + Send),
) -> Result<(), AppError> {
    let files = LncliFiles {
        listchannels: args.listchannels.clone(),
        getinfo: args.getinfo.clone(),
        pendingchannels: args.pendingchannels.clone(),
        feereport: args.feereport.clone(),
    };
    let mut snapshot = snapshot_from_files(&files, crate::clock::unix_now())
        .map_err(|e| AppError::Input(Box::new(e)))?;
    if let Some(path) = &args.fwdinghistory {
        let window_secs = settings.analysis.flow_window.as_secs();
        apply_fwdinghistory_file(&mut snapshot, path, window_secs)
            .map_err(|e| AppError::Input(Box::new(e)))?;
    }
    for warning in &snapshot.warnings {
        match warning.chan_id {
            Some(chan_id) => tracing::warn!(chan_id, "{}", warning.message),
            None => tracing::warn!("{}", warning.message),
        }
    }
    let writer = args
        .out
        .as_ref()
        .map(|dir| PlanFileWriter::new(dir.clone(), settings.output.keep_plans));
    let previous = writer.as_ref().and_then(load_previous_digest);
    let plan = analyze(&snapshot, &settings.analysis, previous.as_ref());
    if let Some(writer) = &writer {
        let written = writer
            .write(&plan, snapshot.taken_at_unix)
            .map_err(|e| AppError::Internal(Box::new(e)))?;
        tracing::info!(path = %written.latest.display(), "plan written");
    }
    let written = if args.json {
        write_json(stdout, &plan)
    } else {
        write_output(stdout, &render_table(&plan))
    };
    // The process ends right after this command: freeing a big node's snapshot and plan
    // (100,000s of allocations) only costs CPU, so the memory is left to the exit.
    std::mem::forget(snapshot);
    std::mem::forget(plan);
    written
}

/// Streams the plan as compact JSON (`jq .` pretty-prints it; `plan show` is for people): a
/// big node's plan is tens of MB of text, not worth holding as one string. A closed pipe (`| head`) is not an error, as for [`write_output`].
fn write_json(stdout: &mut (dyn Write + Send), plan: &Plan) -> Result<(), AppError> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout);
    let result = serde_json::to_writer(&mut out, plan)
        .map_err(std::io::Error::from)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    match result {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => Ok(result?),
    }
}
