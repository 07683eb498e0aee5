//! The HTLC event stream end to end over TLS: the simulator refuses a forward that would push
//! a channel over its fee-exposure limit (as LND does, TEMPORARY_CHANNEL_FAILURE without
//! detail), the client reads the `LinkFailEvent`, the daemon counts it into the next snapshot and
//! the plan carries `htlc_refused_fee_exposure_likely`; an LND without routerrpc answers
//! Unimplemented and the daemon goes on.

use std::time::Duration;

use dustwatch::daemon::notify::RecordingNotifier;
use dustwatch::daemon::{self, Control, LoopOutputs, Progress};
use dustwatch::dust::{channel_dust, DustParams};
use dustwatch::lnd::client::LndClient;
use dustwatch::lnd::error::LndError;
use dustwatch::plan::{read_plan, AlertCode};
use dustwatch::settings::{AnalysisSettings, Settings};
use dustwatch::sim::router::ForwardOutcome;
use dustwatch::sim::SimHandle;
use dustwatch::sink::metrics::Metrics;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_stream::StreamExt;

mod common;

use common::start_sim;

const PATIENCE: Duration = Duration::from_secs(120);

fn settings_for(sim: &SimHandle, plan_dir: &std::path::Path) -> Settings {
    let mut settings = Settings::default();
    settings.lnd.host = "127.0.0.1".into();
    settings.lnd.port = sim.addr().port();
    settings.lnd.tls_cert_path = sim.cert_path().to_path_buf();
    settings.lnd.macaroon_path = sim.macaroon_path().to_path_buf();
    settings.poll.interval = Duration::from_millis(25);
    settings.poll.backoff_initial = Duration::from_millis(5);
    settings.poll.backoff_max = Duration::from_millis(50);
    settings.output.plan_dir = plan_dir.to_path_buf();
    // Every cycle's plan on disk: these tests read a channel's warnings from `latest.json`,
    // which the write rule otherwise leaves for the hourly refresh.
    settings.output.plan_refresh = Duration::ZERO;
    settings
}

/// An active channel whose local balance can pay a dust HTLC, and the node limit set just above
/// its current exposure, so one more 350-sat (trimmed) HTLC crosses it.
fn squeeze_limit(sim: &SimHandle) -> u64 {
    let (chan, exposure) = sim.with_state(|node| {
        let params = DustParams::from_settings(&AnalysisSettings::default(), None);
        let ch = node
            .channels
            .iter()
            .filter(|c| c.active && c.local_balance_sat > 100_000)
            .max_by_key(|c| c.local_balance_sat)
            .expect("an active channel with local balance");
        let dust = channel_dust(ch, Some(node.block_height), &params);
        (ch.chan_id, dust.max_fee_exposure_now_sat())
    });
    sim.set_debug_config(
        "channel-max-fee-exposure",
        Some(&(exposure + 10).to_string()),
    );
    chan
}

#[tokio::test]
async fn a_refused_forward_reaches_the_client_as_a_link_failure() {
    let (sim, _dir) = start_sim(12, 18).await;
    let chan = squeeze_limit(&sim);
    let settings = settings_for(&sim, std::path::Path::new("/nonexistent"));
    let mut client = LndClient::new(&settings.lnd).expect("client");
    let mut failures = client.link_failures().await.expect("subscribed");
    // The subscription is made by a task; wait for the node to see it before refusing.
    while sim.htlc_event_subscribers() == 0 {
        tokio::task::yield_now().await;
    }
    let outcome = sim.offer_forward(4242, chan, 350);
    assert!(
        matches!(outcome, ForwardOutcome::RefusedFeeExposure { .. }),
        "{outcome:?}"
    );
    let failure = failures.next().await.expect("an event").expect("no error");
    assert_eq!(failure.outgoing_chan_id, chan);
    assert_eq!(failure.incoming_chan_id, 4242);
    assert!(failure.is_fee_exposure_shaped(), "{failure:?}");

    // Under the limit, the same node adds the HTLC and says nothing.
    sim.set_debug_config("channel-max-fee-exposure", Some("100000000"));
    assert_eq!(sim.offer_forward(4242, chan, 350), ForwardOutcome::Added);
}

#[tokio::test]
async fn without_routerrpc_the_subscription_fails_with_unimplemented() {
    let (sim, _dir) = start_sim(12, 18).await;
    sim.set_router_unimplemented(true);
    let settings = settings_for(&sim, std::path::Path::new("/nonexistent"));
    let mut client = LndClient::new(&settings.lnd).expect("client");
    let mut failures = client.link_failures().await.expect("the call is made");
    let first = failures.next().await.expect("a status");
    assert!(
        matches!(
            first,
            Err(LndError::Rpc {
                code: tonic::Code::Unimplemented,
                ..
            })
        ),
        "{first:?}"
    );
    // Snapshots are unaffected.
    client
        .snapshot()
        .await
        .expect("the rest of LND still answers");
}

struct Running {
    progress: watch::Receiver<Progress>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

fn run_daemon(settings: Settings, metrics: Metrics, node: &str) -> Running {
    let node = node.to_string();
    let (progress_tx, progress) = watch::channel(Progress::default());
    let (_reload_tx, reload_rx) = mpsc::channel(1);
    let (stop, stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _keep_reload_open = _reload_tx;
        daemon::run(
            settings.clone(),
            |s: &Settings| LndClient::new(&s.lnd),
            move || Ok(settings.clone()),
            Control {
                shutdown: async move {
                    let _ = stop_rx.await;
                },
                reload: reload_rx,
            },
            &RecordingNotifier::default(),
            LoopOutputs {
                node,
                progress: progress_tx,
                metrics: Some(metrics),
                heartbeat: Default::default(),
            },
        )
        .await;
    });
    Running {
        progress,
        stop: Some(stop),
        task,
    }
}

impl Running {
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("the loop stops")
            .expect("no panic");
    }
}

#[tokio::test]
async fn the_daemon_counts_refusals_into_the_plan_and_the_metrics() {
    let (sim, dir) = start_sim(12, 18).await;
    let chan = squeeze_limit(&sim);
    let plan_dir = dir.path().join("plans");
    let metrics = Metrics::new();
    let mut running = run_daemon(settings_for(&sim, &plan_dir), metrics.clone(), "ops");

    tokio::time::timeout(PATIENCE, async {
        while sim.htlc_event_subscribers() == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the daemon subscribes to HTLC events");
    let outcome = sim.offer_forward(4242, chan, 350);
    assert!(matches!(outcome, ForwardOutcome::RefusedFeeExposure { .. }));

    // A later cycle's plan carries the inferred alert for that channel.
    let found = tokio::time::timeout(PATIENCE, async {
        loop {
            running
                .progress
                .changed()
                .await
                .expect("the loop is running");
            let Ok(text) = std::fs::read_to_string(plan_dir.join("latest.json")) else {
                continue;
            };
            let plan = read_plan(&text).expect("a valid plan");
            if let Some(alert) = plan
                .alerts
                .iter()
                .find(|a| a.code == AlertCode::HtlcRefusedFeeExposureLikely)
            {
                return alert.clone();
            }
        }
    })
    .await
    .expect("the alert appears");
    assert_eq!(found.chan_id, Some(chan));
    assert!(found.message.to_string().contains("Inferred"));

    let text = metrics.encode();
    let refused =
        format!("dustwatch_htlc_refused_forwards_total{{node=\"ops\",chan_id=\"{chan}\"}} 1");
    assert!(text.contains(&refused), "{text}");
    assert!(
        text.contains(
            "dustwatch_htlc_link_failures_total{node=\"ops\",wire_failure=\"temporary_channel_failure\"} 1"
        ),
        "{text}"
    );
    running.stop().await;
}

/// Collects formatted log lines for one test (the client logs on the test's own thread).
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn an_lnd_without_get_debug_info_is_said_once_and_snapshots_go_on() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (sim, _dir) = start_sim(12, 18).await;
    sim.set_debug_info_unimplemented(true);
    let settings = settings_for(&sim, std::path::Path::new("/nonexistent"));
    let mut client = LndClient::new(&settings.lnd).expect("client");
    for _ in 0..3 {
        let snapshot = client.snapshot().await.expect("snapshots go on");
        assert!(snapshot.node_exposure_limit.is_none());
        assert!(!snapshot.channels.is_empty());
    }
    let text = String::from_utf8(captured.0.lock().expect("log").clone()).expect("UTF-8");
    assert_eq!(
        text.matches("does not tell its fee-exposure limit").count(),
        1,
        "{text}"
    );
}

/// A single-node daemon (node `default`) labels its series with the node's alias from GetInfo.
#[tokio::test]
async fn a_single_node_daemon_is_labelled_with_the_nodes_alias() {
    let (sim, dir) = start_sim(12, 18).await;
    let alias = sim.with_state(|n| n.alias.clone());
    assert!(!alias.is_empty());
    let metrics = Metrics::new();
    let mut running = run_daemon(
        settings_for(&sim, &dir.path().join("plans")),
        metrics.clone(),
        dustwatch::settings::DEFAULT_NODE_NAME,
    );
    tokio::time::timeout(PATIENCE, running.progress.wait_for(|p| p.cycles_ok >= 1))
        .await
        .expect("a cycle succeeds")
        .expect("the loop is running");
    let text = metrics.encode();
    assert!(
        text.contains(&format!(
            "dustwatch_last_cycle_success{{node=\"{alias}\"}} 1"
        )),
        "{text}"
    );
    assert!(!text.contains("node=\"default\""), "{text}");
    running.stop().await;
}
