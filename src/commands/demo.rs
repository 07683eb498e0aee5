//! `dustwatch demo`: the real daemon loop against an embedded simulated LND, over TLS with a
//! pinned LND-like certificate and a macaroon, for a few cycles. Needs no setup and no node.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::error::AppError;
use super::output::write_output;
use crate::cli::DemoArgs;
use crate::daemon::notify::RecordingNotifier;
use crate::daemon::{self, Control, LoopOutputs, Progress};
use crate::lnd::client::LndClient;
use crate::lnd::flow_store::FlowStore;
use crate::plan::render::render_table;
use crate::settings::Settings;
use crate::sim::{SimConfig, SimNode};

/// Channels of the simulated node: enough for every kind of recommendation to show up.
const DEMO_CHANNELS: usize = 40;
/// Fixed seed, so every newcomer sees the same node.
const DEMO_SEED: u64 = 21;
/// Cycles when `--cycles` is not given.
const DEFAULT_CYCLES: u64 = 3;
/// Poll interval of the demo daemon; the simulated node evolves between cycles.
const DEMO_INTERVAL: Duration = Duration::from_secs(1);

/// Starts the simulator, runs the daemon loop until `cycles` plans were computed (or Ctrl-C),
/// then prints the newest plan as a table.
pub async fn run(
    args: &DemoArgs,
    base: &Settings,
    stdout: &mut (dyn Write + Send),
) -> Result<(), AppError> {
    let internal = |e: Box<dyn std::error::Error + Send + Sync>| AppError::Internal(e);
    let scratch = tempfile::Builder::new()
        .prefix("dustwatch-demo-")
        .tempdir()
        .map_err(|e| internal(Box::new(e)))?;
    let plan_dir: PathBuf = args
        .plan_dir
        .clone()
        .unwrap_or_else(|| scratch.path().join("plans"));
    let sim = SimNode::start(SimConfig {
        channels: DEMO_CHANNELS,
        seed: DEMO_SEED,
        data_dir: scratch.path().join("lnd"),
        port: None,
    })
    .await
    .map_err(|e| internal(Box::new(e)))?;

    let mut settings = base.clone();
    settings.lnd.host = "127.0.0.1".into();
    settings.lnd.port = sim.addr().port();
    settings.lnd.tls_cert_path = sim.cert_path().to_path_buf();
    settings.lnd.macaroon_path = sim.macaroon_path().to_path_buf();
    settings.poll.interval = DEMO_INTERVAL;
    settings.output.plan_dir = plan_dir.clone();

    let cycles = args.cycles.unwrap_or(DEFAULT_CYCLES).max(1);
    tracing::info!(
        lnd = %sim.addr(),
        cert = %sim.cert_path().display(),
        plan_dir = %plan_dir.display(),
        cycles,
        "demo: simulated LND started"
    );

    let (progress_tx, mut progress_rx) = watch::channel(Progress::default());
    let (_reload_tx, reload_rx) = mpsc::channel(1);
    let sim_for_ticks = &sim;
    let shutdown = async move {
        let mut ticked = 0;
        loop {
            tokio::select! {
                changed = progress_rx.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let done = progress_rx.borrow_and_update().cycles_ok;
                    if done >= cycles {
                        return;
                    }
                    // Let the node move between cycles: HTLCs settle, balances shift, blocks pass.
                    if done > ticked {
                        sim_for_ticks.tick();
                        ticked = done;
                    }
                }
                _ = tokio::signal::ctrl_c() => return,
            }
        }
    };
    let notifier = RecordingNotifier::default();
    daemon::run(
        settings.clone(),
        {
            let store = FlowStore::shared(settings.analysis.flow_window);
            // The simulated node's clock: its forwards carry its time, which runs ahead.
            let clock = sim.clock();
            move |s: &Settings| {
                let mut client = LndClient::with_flow_store(s, store.clone())?;
                client.set_clock(clock.clone());
                Ok(client)
            }
        },
        || Err("reload is not supported in the demo".to_string()),
        Control {
            shutdown,
            reload: reload_rx,
        },
        &notifier,
        LoopOutputs {
            node: "demo".into(),
            progress: progress_tx,
            metrics: None,
            heartbeat: Default::default(),
        },
    )
    .await;
    sim.shutdown().await;

    let plan = super::plans::load(&plan_dir).map_err(|e| internal(Box::new(e)))?;
    let mut text = render_table(&plan);
    text.push_str(&format!(
        "\nPlans written to {} (latest.json plus one file per cycle).\n",
        plan_dir.display()
    ));
    if args.plan_dir.is_none() {
        text.push_str("They were in a temporary directory and are removed now; pass --plan-dir DIR to keep them.\n");
    }
    write_output(stdout, &text)
}
