//! `dustwatch once`: one cycle against LND, then a readable summary.

use std::io::Write;

use crate::cli::{write_output, AppError};
use crate::daemon::{load_previous_plan, run_cycle};
use crate::lnd::client::LndClient;
use crate::plan::render::render_table;
use crate::settings::Settings;
use crate::sink::plan_file::PlanFileWriter;

/// Takes one snapshot, writes the plan and prints it. Any failure to get a snapshot from LND
/// is exit 69; a plan that cannot be written is printed anyway and then reported (exit 70).
pub async fn run(settings: &Settings, stdout: &mut (dyn Write + Send)) -> Result<(), AppError> {
    let mut client =
        LndClient::new(&settings.lnd).map_err(|e| AppError::LndUnreachable(Box::new(e)))?;
    let writer = PlanFileWriter::from_settings(&settings.output);
    let previous = load_previous_plan(&writer);
    let report = run_cycle(&mut client, settings, &writer, previous.as_ref(), "default")
        .await
        .map_err(|e| AppError::LndUnreachable(Box::new(e)))?;
    write_output(stdout, &render_table(&report.plan))?;
    match report.write_error {
        Some(err) => Err(AppError::Internal(Box::new(err))),
        None => Ok(()),
    }
}
