//! `dustwatch once`: one cycle against each configured node, then a readable summary.

use std::io::Write;

use super::error::AppError;
use super::output::write_output;
use crate::daemon::run_cycle;
use crate::lnd::client::LndClient;
use crate::lnd::flow_store::FlowStore;
use crate::plan::render::render_table;
use crate::settings::Settings;
use crate::sink::plan_file::PlanFileWriter;
use crate::sink::previous_plan::load_previous_digest;

/// Takes one snapshot per node, writes its plan and prints it. Every node is tried; if any
/// could not be reached the command exits 69 after the others, and a plan that could not be
/// written is printed anyway and then reported (exit 70).
pub async fn run(settings: &Settings, stdout: &mut (dyn Write + Send)) -> Result<(), AppError> {
    let nodes = settings.node_settings();
    let multi = !settings.nodes.is_empty();
    let mut unreachable = None;
    let mut unwritten = None;
    for (name, node) in &nodes {
        if multi {
            write_output(stdout, &format!("== node {name} ==\n"))?;
        }
        match once_for_node(name, node).await {
            Ok((table, write_error)) => {
                write_output(stdout, &table)?;
                if let Some(err) = write_error {
                    tracing::error!(node = %name, error = %err, "plan not written");
                    unwritten.get_or_insert(err);
                }
            }
            Err(err) => {
                tracing::error!(node = %name, error = %err, "cannot take a snapshot");
                unreachable.get_or_insert(err);
            }
        }
    }
    if let Some(err) = unreachable {
        return Err(AppError::LndUnreachable(Box::new(err)));
    }
    match unwritten {
        Some(err) => Err(AppError::Internal(Box::new(err))),
        None => Ok(()),
    }
}

async fn once_for_node(
    name: &str,
    settings: &Settings,
) -> Result<(String, Option<crate::sink::plan_file::PlanFileError>), crate::lnd::error::LndError> {
    let mut client =
        LndClient::with_flow_store(settings, FlowStore::shared(settings.analysis.flow_window))?;
    let writer = PlanFileWriter::from_settings(&settings.output);
    let previous = load_previous_digest(&writer);
    let report = run_cycle(&mut client, settings, &writer, previous.as_ref(), name).await?;
    Ok((render_table(&report.plan), report.write_error))
}
