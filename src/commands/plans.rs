//! `dustwatch plan show` and `plan diff`: read plan files written by any dustwatch that
//! writes schema v1.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::AppError;
use super::output::write_output;
use crate::plan::diff::{diff, render_diff};
use crate::plan::render::render_table;
use crate::plan::{read_plan, render_channel, Plan};
use crate::settings::Settings;
use crate::sink::plan_file::{read_plan_text, PlanFileError, LATEST_FILE_NAME};

/// Why a plan could not be loaded; always names the file.
#[derive(Debug, thiserror::Error)]
pub enum PlanLoadError {
    #[error("cannot read plan file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a dustwatch plan: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: crate::plan::PlanError,
    },
}

/// Loads a plan from a file, or from `latest.json` when `target` is a directory. Only a
/// regular file of at most [`MAX_PLAN_FILE_BYTES`] is read: a FIFO or a device is refused at
/// once instead of hanging or reading forever.
pub fn load(target: &Path) -> Result<Plan, PlanLoadError> {
    let path = if target.is_dir() {
        target.join(LATEST_FILE_NAME)
    } else {
        target.to_path_buf()
    };
    // History files are zstd-compressed (`.json.zst`); `latest.json` is plain.
    let text = read_plan_text(&path).map_err(|err| match err {
        PlanFileError::Read { path, source } => PlanLoadError::Read { path, source },
        other => PlanLoadError::Read {
            path: path.clone(),
            source: std::io::Error::other(other.to_string()),
        },
    })?;
    read_plan(&text).map_err(|source| PlanLoadError::Parse { path, source })
}

/// `plan show [FILE|DIR]`; without a target, the latest plan of each configured node (the
/// plan directory itself for a single-node configuration).
pub fn show(
    target: Option<&Path>,
    channel: Option<u64>,
    settings: &Settings,
    stdout: &mut (dyn Write + Send),
) -> Result<(), AppError> {
    let load_input = |path: &Path| load(path).map_err(|e| AppError::Input(Box::new(e)));
    let render = |plan: &Plan| match channel {
        None => Ok(render_table(plan)),
        Some(chan_id) => render_channel(plan, chan_id)
            .ok_or_else(|| AppError::Input(format!("the plan has no channel {chan_id}").into())),
    };
    if let Some(target) = target {
        return write_output(stdout, &render(&load_input(target)?)?);
    }
    let nodes = settings.node_settings();
    let multi = !settings.nodes.is_empty();
    for (name, node) in &nodes {
        let plan = load_input(&node.output.plan_dir)?;
        if multi {
            write_output(stdout, &format!("== node {name} ==\n"))?;
        }
        write_output(stdout, &render(&plan)?)?;
    }
    Ok(())
}

/// `plan diff A B`: what changed from plan A to plan B.
pub fn diff_files(old: &Path, new: &Path, stdout: &mut (dyn Write + Send)) -> Result<(), AppError> {
    let a = load(old).map_err(|e| AppError::Input(Box::new(e)))?;
    let b = load(new).map_err(|e| AppError::Input(Box::new(e)))?;
    write_output(stdout, &render_diff(&diff(&a, &b)))
}
