//! The daemon loop (`dustwatch::daemon::run`) against the simulated LND over TLS: plan files,
//! LND down at start, restarted, locked, refusing the macaroon, a ListChannels answer above
//! 4 MiB, an unwritable plan directory, reloads, shutdown during a cycle, channel events,
//! sd_notify messages, alert logging, and that the macaroon never reaches a log.
//!
//! Synchronisation is by explicit signals: the loop's `Progress` watch channel, the
//! [`Observed`] source that reports when the loop asks for a snapshot or a subscription, and
//! the simulator's fault switches. Two things the loop does not publish are checked at a
//! short cadence instead: whether the simulator has an event subscriber, and (by re-sending)
//! whether a channel event reached the loop. Poll intervals and backoffs are short real
//! durations that only set the loop's cadence; every wait is bounded by [`PATIENCE`], a guard
//! against a hung test, never a way to let something happen.
//!
//! Every test captures the logs of the whole run at TRACE level (dustwatch, tonic, h2, the
//! simulator) with dustwatch's own JSON formatter, and checks at the end that no form of the
//! macaroon appears in them.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dustwatch::daemon::notify::{Notice, RecordingNotifier};
use dustwatch::daemon::{self, Control, LoopOutputs, Progress};
use dustwatch::lnd::client::LndClient;
use dustwatch::lnd::convert::MAX_FEE_EXPOSURE_KEY;
use dustwatch::lnd::error::LndError;
use dustwatch::lnd::source::{ChannelEvents, NodeSource};
use dustwatch::logging;
use dustwatch::model::NodeSnapshot;
use dustwatch::plan::{read_plan, AlertCode, Plan, SCHEMA_VERSION};
use dustwatch::settings::{LogFormat, LogSettings, Settings};
use dustwatch::sim::{ChannelEvent, RpcState, SimHandle};
use dustwatch::sink::alerts::{is_journal_news, is_resolved_htlc, transitions, Transition};
use dustwatch::sink::plan_file::{list_plan_files, read_plan_text};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing_subscriber::fmt::MakeWriter;

mod common;

use common::{start_sim, temp_files};

/// Upper bound on any wait: only reached when the behaviour under test is broken.
const PATIENCE: Duration = Duration::from_secs(180);

/// How long one attempt at delivering a channel event may take before it is sent again
/// (events sent while the loop is not subscribed are lost, as with LND).
const EVENT_RETRY: Duration = Duration::from_millis(500);

/// Cadence for checking state the loop does not publish (the simulator's subscriber count).
const POLL_CADENCE: Duration = Duration::from_millis(5);

// ---------- logs ----------

/// Everything logged during a test, as written by dustwatch's JSON formatter.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn bytes(&self) -> Vec<u8> {
        self.0.lock().expect("log buffer lock").clone()
    }

    /// The events (one JSON object per line, in order) whose line passes `keep` (a cheap text filter: a TRACE run logs
    /// tens of thousands of transport events, not worth parsing to find a few).
    fn events_where(&self, keep: impl Fn(&str) -> bool) -> Vec<Value> {
        String::from_utf8_lossy(&self.bytes())
            .lines()
            .filter(|line| keep(line))
            .map(|line| serde_json::from_str(line).expect("each log line is one JSON object"))
            .collect()
    }

    /// Events whose message is exactly `message`.
    fn with_message(&self, message: &str) -> Vec<Value> {
        self.events_where(|line| line.contains(message))
            .into_iter()
            .filter(|e| e["message"] == message)
            .collect()
    }

    /// dustwatch's own events (alerts, cycles), without the transport's.
    fn dustwatch_events(&self) -> Vec<Value> {
        self.events_where(|line| line.contains("\"target\":\"dustwatch::"))
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("log buffer lock")
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> MakeWriter<'w> for Logs {
    type Writer = Logs;
    fn make_writer(&'w self) -> Self::Writer {
        self.clone()
    }
}

/// Captures every event at TRACE level on this thread (the tests run on a current-thread
/// runtime, so the daemon, the client and the simulator all log here) until the guard drops.
fn capture_logs() -> (Logs, tracing::dispatcher::DefaultGuard) {
    let logs = Logs::default();
    let settings = LogSettings {
        format: LogFormat::Json,
        level: "trace".into(),
    };
    let built = logging::build(&settings, None, logs.clone(), false, || {
        Err(std::io::Error::other("no journal in tests"))
    })
    .expect("logging builds");
    let guard = tracing::dispatcher::set_default(&built.dispatch);
    (logs, guard)
}

/// The macaroon must not appear in the logs in any form: raw, hex (either case), base64, or
/// as a Debug-printed byte list.
fn assert_macaroon_never_logged(logs: &Logs, macaroon: &[u8]) {
    common::assert_macaroon_absent(&logs.bytes(), macaroon, "in the logs");
}

// ---------- simulator and settings ----------

fn macaroon_of(sim: &SimHandle) -> Vec<u8> {
    std::fs::read(sim.macaroon_path()).expect("read the macaroon")
}

/// Settings for a loop watching `sim` and writing to `plan_dir`, with a fast cadence.
fn settings_for(sim: &SimHandle, plan_dir: &Path) -> Settings {
    let mut settings = Settings::default();
    settings.lnd.host = "127.0.0.1".into();
    settings.lnd.port = sim.addr().port();
    settings.lnd.tls_cert_path = sim.cert_path().to_path_buf();
    settings.lnd.macaroon_path = sim.macaroon_path().to_path_buf();
    settings.lnd.connect_timeout = Duration::from_secs(30);
    settings.lnd.request_timeout = Duration::from_secs(60);
    settings.poll.interval = Duration::from_millis(25);
    settings.poll.event_debounce = Duration::from_millis(10);
    settings.poll.backoff_initial = Duration::from_millis(5);
    settings.poll.backoff_max = Duration::from_millis(50);
    settings.poll.shutdown_timeout = Duration::from_secs(5);
    settings.output.plan_dir = plan_dir.to_path_buf();
    settings.output.keep_plans = 10_000;
    // One plan per cycle, as these tests count them.
    settings.output.plan_refresh = Duration::ZERO;
    settings
}

/// The same, but cycles run only at start, after a reload and after channel events.
fn event_driven_settings(sim: &SimHandle, plan_dir: &Path) -> Settings {
    let mut settings = settings_for(sim, plan_dir);
    settings.poll.interval = Duration::from_secs(3600);
    settings
}

fn latest(plan_dir: &Path) -> (Vec<u8>, Plan) {
    let bytes = std::fs::read(plan_dir.join("latest.json")).expect("latest.json exists");
    let plan = read_plan(std::str::from_utf8(&bytes).expect("UTF-8")).expect("a valid plan");
    (bytes, plan)
}

fn plan_files(plan_dir: &Path) -> Vec<PathBuf> {
    list_plan_files(plan_dir).expect("list plan files")
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

// ---------- the loop under test ----------

/// What the loop asked of LND, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Snapshot,
    Subscribe,
}

/// The real client, reporting each request the loop makes before passing it on.
struct Observed {
    inner: LndClient,
    calls: mpsc::UnboundedSender<Call>,
    /// Runs before a subscription is passed on (to break LND at exactly that moment).
    before_subscribe: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl NodeSource for Observed {
    fn fetch_snapshot(&mut self) -> impl Future<Output = Result<NodeSnapshot, LndError>> + Send {
        let _ = self.calls.send(Call::Snapshot);
        self.inner.fetch_snapshot()
    }

    fn subscribe_channel_events(
        &mut self,
    ) -> impl Future<Output = Result<ChannelEvents, LndError>> + Send {
        let _ = self.calls.send(Call::Subscribe);
        if let Some(hook) = &self.before_subscribe {
            hook();
        }
        self.inner.subscribe_channel_events()
    }
}

/// A running `daemon::run` and the handles that steer and observe it.
struct Daemon {
    progress: watch::Receiver<Progress>,
    notifier: RecordingNotifier,
    calls: mpsc::UnboundedReceiver<Call>,
    reload_tx: mpsc::Sender<()>,
    next_settings: Arc<Mutex<Result<Settings, String>>>,
    stop_tx: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Daemon {
    fn start(settings: Settings) -> Self {
        Self::start_with_hook(settings, None)
    }

    fn start_with_hook(
        settings: Settings,
        before_subscribe: Option<Arc<dyn Fn() + Send + Sync>>,
    ) -> Self {
        let (progress_tx, progress) = watch::channel(Progress::default());
        let (calls_tx, calls) = mpsc::unbounded_channel();
        let (reload_tx, reload_rx) = mpsc::channel(4);
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let next_settings = Arc::new(Mutex::new(Ok(settings.clone())));
        let notifier = RecordingNotifier::default();

        let reload_source = next_settings.clone();
        let loop_notifier = notifier.clone();
        let task = tokio::spawn(async move {
            daemon::run(
                settings,
                move |s: &Settings| {
                    Ok(Observed {
                        inner: LndClient::new(&s.lnd)?,
                        calls: calls_tx.clone(),
                        before_subscribe: before_subscribe.clone(),
                    })
                },
                move || reload_source.lock().expect("settings lock").clone(),
                Control {
                    shutdown: async move {
                        let _ = stop_rx.await;
                    },
                    reload: reload_rx,
                },
                &loop_notifier,
                LoopOutputs {
                    node: "test".into(),
                    progress: progress_tx,
                    metrics: None,
                    heartbeat: Default::default(),
                },
            )
            .await;
        });
        Daemon {
            progress,
            notifier,
            calls,
            reload_tx,
            next_settings,
            stop_tx: Some(stop_tx),
            task: Some(task),
        }
    }

    /// Waits until the published progress satisfies `done`.
    async fn wait_for(&mut self, what: &str, done: impl FnMut(&Progress) -> bool) -> Progress {
        let outcome = tokio::time::timeout(PATIENCE, self.progress.wait_for(done))
            .await
            .map(|waited| waited.map(|progress| progress.clone()));
        match outcome {
            Ok(Ok(progress)) => progress,
            Ok(Err(_)) => panic!("the loop ended while waiting for {what}"),
            Err(_) => panic!(
                "no {what} within {PATIENCE:?}; progress: {:?}",
                self.progress_now()
            ),
        }
    }

    fn progress_now(&self) -> Progress {
        self.progress.borrow().clone()
    }

    /// Waits until the loop makes request `want` (earlier requests are skipped).
    async fn next_call(&mut self, want: Call) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match tokio::time::timeout_at(deadline, self.calls.recv()).await {
                Ok(Some(call)) if call == want => return,
                Ok(Some(_)) => continue,
                Ok(None) => panic!("the loop ended while waiting for a {want:?} request"),
                Err(_) => panic!("no {want:?} request within {PATIENCE:?}"),
            }
        }
    }

    /// Sends a reload request; the loop will get `next` from its reload function.
    async fn reload(&mut self, next: Result<Settings, String>) {
        *self.next_settings.lock().expect("settings lock") = next;
        self.reload_tx.send(()).await.expect("the loop listens");
    }

    fn is_running(&self) -> bool {
        self.task.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Asks the loop to stop and waits for it; returns how long stopping took.
    async fn stop(&mut self) -> Duration {
        let started = Instant::now();
        if let Some(stop) = self.stop_tx.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(PATIENCE, task)
                .await
                .expect("the loop stops")
                .expect("the loop did not panic");
        }
        started.elapsed()
    }

    fn notices(&self) -> Vec<Notice> {
        self.notifier.notices()
    }
}

/// A channel event the simulator can send at any time.
fn some_event(sim: &SimHandle) -> ChannelEvent {
    ChannelEvent::Active {
        channel_point: sim.with_state(|n| n.channels[0].channel_point.to_string()),
    }
}

/// Sends a channel event until the loop reports it saw one more than before (an event sent
/// before the loop is subscribed is lost, as with LND).
async fn deliver_event(sim: &SimHandle, daemon: &mut Daemon) {
    let seen = daemon.progress_now().events_seen;
    let deadline = Instant::now() + PATIENCE;
    loop {
        sim.emit_event(some_event(sim));
        let arrived = tokio::time::timeout(
            EVENT_RETRY,
            daemon.progress.wait_for(|p| p.events_seen > seen),
        )
        .await
        .is_ok();
        if arrived {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no channel event reached the loop; progress {:?}",
            daemon.progress_now()
        );
    }
}

/// Waits until the simulator has an open SubscribeChannelEvents stream.
async fn wait_for_subscriber(sim: &SimHandle) {
    let deadline = Instant::now() + PATIENCE;
    while sim.event_subscribers() == 0 {
        assert!(Instant::now() < deadline, "the loop never subscribed");
        tokio::time::sleep(POLL_CADENCE).await;
    }
}

fn count(notices: &[Notice], wanted: &Notice) -> usize {
    notices.iter().filter(|n| *n == wanted).count()
}

fn statuses(notices: &[Notice]) -> Vec<&str> {
    notices
        .iter()
        .filter_map(|n| match n {
            Notice::Status(text) => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

/// READY comes first, STOPPING exactly once and last.
fn assert_ready_first_stopping_last(notices: &[Notice]) {
    assert_eq!(notices.first(), Some(&Notice::Ready), "{notices:?}");
    assert_eq!(notices.last(), Some(&Notice::Stopping), "{notices:?}");
    assert_eq!(count(notices, &Notice::Stopping), 1, "{notices:?}");
}

// ---------- a. a full cycle ----------

#[tokio::test]
async fn a_full_cycle_writes_a_valid_plan_with_restricted_modes() {
    let (logs, _guard) = capture_logs();
    let (sim, _sim_dir) = start_sim(12, 5).await;
    let out = tempfile::tempdir().expect("tempdir");
    let plan_dir = out.path().join("plans");
    let mut daemon = Daemon::start(event_driven_settings(&sim, &plan_dir));

    let first = daemon.wait_for("first plan", |p| p.cycles_ok >= 1).await;
    assert!(first.last_write_ok, "{first:?}");
    assert_eq!(first.lnd_status, "ready");
    assert_eq!(first.last_error, None);
    assert_eq!(first.failing_streak, 0);
    // A second cycle, triggered by a channel event (the poll interval is an hour).
    deliver_event(&sim, &mut daemon).await;
    daemon.stop().await;
    let done = daemon.progress_now();
    assert_eq!(done.cycles_ok, 2);

    let (latest_bytes, plan) = latest(&plan_dir);
    assert_eq!(plan.schema_version, SCHEMA_VERSION);
    assert_eq!(plan.schema_version, 3);
    let open_channels = sim.with_state(|n| n.channels.len());
    assert_eq!(plan.channels.len(), open_channels);
    assert_eq!(plan.summary.total_channels as usize, open_channels);
    assert_eq!(plan.source.kind, "lnd_grpc");
    assert_eq!(plan.source.detail, sim.addr().to_string());
    assert_eq!(Some(&plan.generated_at), done.last_plan_at.as_ref());

    // One history file per cycle, the newest identical to latest.json.
    let files = plan_files(&plan_dir);
    assert_eq!(files.len() as u64, done.cycles_ok, "{files:?}");
    let newest = read_plan_text(files.last().expect("a plan file")).expect("read");
    assert_eq!(newest.as_bytes(), latest_bytes);
    assert_eq!(mode(&plan_dir), 0o750);
    assert_eq!(mode(&plan_dir.join("latest.json")), 0o640);
    for file in &files {
        assert_eq!(mode(file), 0o640, "{}", file.display());
    }
    assert!(temp_files(&plan_dir).is_empty());

    // sd_notify: READY first, STATUS with the outcome, WATCHDOG after each cycle, STOPPING last.
    let notices = daemon.notices();
    assert_ready_first_stopping_last(&notices);
    let ready_status = notices
        .iter()
        .position(|n| matches!(n, Notice::Status(s) if s.starts_with("LND ready; last cycle")))
        .expect("a STATUS line after the first cycle");
    assert_eq!(notices.get(ready_status + 1), Some(&Notice::Watchdog));
    assert!(
        statuses(&notices)
            .iter()
            .any(|s| s.contains(&format!("{open_channels} channels"))),
        "{notices:?}"
    );
    assert!(count(&notices, &Notice::Watchdog) as u64 >= done.cycles_ok);

    assert_eq!(logs.with_message("LND is ready").len(), 1);
    assert_macaroon_never_logged(&logs, &macaroon_of(&sim));
}

// ---------- b. LND down at start ----------

#[tokio::test]
async fn lnd_down_at_start_then_up() {
    let (logs, _guard) = capture_logs();
    let (sim, _sim_dir) = start_sim(8, 6).await;
    sim.stop().await;
    let out = tempfile::tempdir().expect("tempdir");
    let plan_dir = out.path().join("plans");
    let mut daemon = Daemon::start(settings_for(&sim, &plan_dir));

    let down = daemon
        .wait_for("failures while LND is down", |p| p.failing_streak >= 3)
        .await;
    assert_eq!(down.cycles_ok, 0);
    assert_eq!(down.lnd_status, "unreachable");
    let error = down.last_error.expect("the failure is described");
    assert!(
        error.contains(&format!("cannot reach LND at {}", sim.addr())),
        "{error}"
    );
    assert!(!plan_dir.join("latest.json").exists());
    assert!(daemon.is_running());

    sim.restart().await.expect("restart on the same port");
    let up = daemon
        .wait_for("a plan once LND is up", |p| p.cycles_ok >= 1)
        .await;
    assert_eq!(up.failing_streak, 0);
    assert_eq!(up.lnd_status, "ready");
    assert!(up.last_write_ok);
    let (_, plan) = latest(&plan_dir);
    assert_eq!(plan.channels.len(), sim.with_state(|n| n.channels.len()));
    daemon.stop().await;

    // Each change of LND's state is logged once, not on every retry.
    let unavailable = logs.with_message("LND unavailable; retrying with backoff");
    assert_eq!(unavailable.len(), 1, "{unavailable:?}");
    assert_eq!(unavailable[0]["level"], "WARN");
    assert_eq!(unavailable[0]["lnd_state"], "unreachable");
    assert_eq!(logs.with_message("LND is ready").len(), 1);

    let notices = daemon.notices();
    assert_ready_first_stopping_last(&notices);
    let lines = statuses(&notices);
    let retrying = lines
        .iter()
        .position(|s| s.starts_with("LND unreachable; retrying in"))
        .expect("a STATUS line while LND is down");
    let ready = lines
        .iter()
        .position(|s| s.starts_with("LND ready; last cycle"))
        .expect("a STATUS line once it is up");
    assert!(retrying < ready, "{lines:?}");
    // The loop pings the watchdog while it waits for LND on purpose.
    assert!(count(&notices, &Notice::Watchdog) as u64 >= down.failing_streak);
    assert_macaroon_never_logged(&logs, &macaroon_of(&sim));
}

// ---------- c. LND restarted mid-run ----------

#[tokio::test]
async fn lnd_restarted_mid_run_recovers_and_resubscribes() {
    let (logs, _guard) = capture_logs();
    let (sim, _sim_dir) = start_sim(8, 7).await;
    let out = tempfile::tempdir().expect("tempdir");
    let plan_dir = out.path().join("plans");
    let mut daemon = Daemon::start(settings_for(&sim, &plan_dir));
    daemon.wait_for("cycles", |p| p.cycles_ok >= 2).await;
    deliver_event(&sim, &mut daemon).await;

    sim.stop().await;
    let down = daemon
        .wait_for("failures while LND is stopped", |p| p.failing_streak >= 3)
        .await;
    assert_eq!(down.lnd_status, "unreachable");
    assert!(daemon.is_running());

    sim.restart().await.expect("restart on the same port");
    let before = down.cycles_ok;
    let up = daemon
        .wait_for("recovery", |p| {
            p.cycles_ok > before && p.failing_streak == 0
        })
        .await;
    assert_eq!(up.lnd_status, "ready");
    assert_eq!(up.reloads_applied, 0, "recovered without a reload");
    // The event subscription is re-established: events reach the loop again.
    deliver_event(&sim, &mut daemon).await;
    daemon.stop().await;

    let unavailable = logs.with_message("LND unavailable; retrying with backoff");
    assert_eq!(unavailable.len(), 1, "{unavailable:?}");
    assert_eq!(unavailable[0]["lnd_state"], "unreachable");
    assert_eq!(logs.with_message("LND is ready").len(), 2);
    assert_macaroon_never_logged(&logs, &macaroon_of(&sim));
}

// ---------- d. wallet locked, then starting, then ready ----------

#[tokio::test]
async fn wallet_locked_then_unlocked() {
    let (logs, _guard) = capture_logs();
    let (sim, _sim_dir) = start_sim(6, 8).await;
    sim.lock_wallet();
    let out = tempfile::tempdir().expect("tempdir");
    let plan_dir = out.path().join("plans");
    let mut daemon = Daemon::start(settings_for(&sim, &plan_dir));

    let locked = daemon
        .wait_for("failures while locked", |p| p.failing_streak >= 2)
        .await;
    assert_eq!(locked.cycles_ok, 0);
    assert_eq!(
        locked.lnd_status,
        "not ready: wallet locked (run `lncli unlock`)"
    );
    assert!(
        locked
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("wallet locked")),
        "{locked:?}"
    );

    sim.set_rpc_state(RpcState::Unlocked, None);
    daemon
        .wait_for("the starting state", |p| {
            p.lnd_status == "not ready: wallet unlocked, RPC server starting"
        })
        .await;

    sim.clear_rpc_state();
    let ready = daemon.wait_for("a plan", |p| p.cycles_ok >= 1).await;
    assert_eq!(ready.lnd_status, "ready");
    assert!(ready.last_write_ok);
    daemon.stop().await;

    let states: Vec<Value> = logs
        .with_message("LND unavailable; retrying with backoff")
        .into_iter()
        .map(|e| e["lnd_state"].clone())
        .collect();
    assert_eq!(
        states,
        [
            "not ready: wallet locked (run `lncli unlock`)",
            "not ready: wallet unlocked, RPC server starting"
        ],
        "one log line per state change"
    );
    let lines = statuses(&daemon.notices()).join("\n");
    assert!(
        lines.contains("LND not ready: wallet locked (run `lncli unlock`); retrying in"),
        "{lines}"
    );
    assert_macaroon_never_logged(&logs, &macaroon_of(&sim));
}

// ---------- e. ListChannels above 4 MiB ----------

#[tokio::test]
async fn list_channels_above_four_mib_gives_a_full_plan() {
    let (logs, _guard) = capture_logs();
    let (sim, _sim_dir) = start_sim(10, 9).await;
    let size = sim.grow_list_channels_past(5 * 1024 * 1024);
    assert!(size > 4 * 1024 * 1024, "{size} bytes");
    let channels = sim.with_state(|n| n.channels.len());
    let out = tempfile::tempdir().expect("tempdir");
    let plan_dir = out.path().join("plans");
    let mut daemon = Daemon::start(event_driven_settings(&sim, &plan_dir));

    let done = daemon
        .wait_for("the first cycle", |p| p.cycles_ok + p.cycles_failed >= 1)
        .await;
    assert_eq!(done.cycles_ok, 1, "{done:?}");
    assert!(done.last_write_ok);
    daemon.stop().await;
    let (_, plan) = latest(&plan_dir);
    assert_eq!(plan.channels.len(), channels);
    assert_macaroon_never_logged(&logs, &macaroon_of(&sim));
}

// ---------- f. a bad macaroon ----------

#[tokio::test]
async fn bad_macaroon_is_named_retried_at_the_capped_backoff_and_recovers() {
    let (logs, _guard) = capture_logs();
    let (sim, _sim_dir) = start_sim(6, 10).await;
    let good = macaroon_of(&sim);
    let wrong = dustwatch::sim::macaroon::mint();
    std::fs::write(sim.macaroon_path(), &wrong).expect("write the wrong macaroon");
    let out = tempfile::tempdir().expect("tempdir");
    let plan_dir = out.path().join("plans");
    let mut settings = settings_for(&sim, &plan_dir);
    let initial = Duration::from_millis(2);
    let cap = Duration::from_millis(400);
    settings.poll.backoff_initial = initial;
    settings.poll.backoff_max = cap;
    let mut daemon = Daemon::start(settings);

    let refused = daemon
        .wait_for("repeated refusals", |p| p.failing_streak >= 5)
        .await;
    assert!(daemon.is_running(), "a bad macaroon never ends the loop");
    assert_eq!(refused.cycles_ok, 0);
    assert_eq!(refused.lnd_status, "rejecting the macaroon");
    let error = refused.last_error.expect("described");
    let path = sim.macaroon_path().display().to_string();
    assert!(error.contains("rejected the macaroon"), "{error}");
    assert!(error.contains(&path), "the error names the file: {error}");

    // Logged once as an error naming the file, although it failed at least five times.
    let refusals = logs.with_message(
        "LND refuses dustwatch; fix the named file or setting (retrying at the longest backoff)",
    );
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert_eq!(refusals[0]["level"], "ERROR");
    assert!(
        refusals[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains(&path)),
        "{:?}",
        refusals[0]
    );

    // The retry delays the loop chose (it logs each one) jump to the cap at once: an
    // exponential backoff from 2 ms would keep the first four at or below 2, 4, 8 and 16 ms.
    // Drawn uniformly from [1 ms, 400 ms], all four stay below 16 ms with probability 2e-6.
    let delays: Vec<Duration> = logs
        .with_message("cycle failed")
        .iter()
        .map(|e| {
            humantime::parse_duration(e["retry_in"].as_str().expect("retry_in"))
                .expect("a duration")
        })
        .collect();
    assert!(delays.len() >= 4, "{delays:?}");
    assert!(delays.iter().all(|d| *d <= cap), "capped: {delays:?}");
    assert!(
        delays[..4].iter().any(|d| *d > initial * 8),
        "saturated at once: {delays:?}"
    );

    // Restoring the file is enough: the loop re-reads it before each retry.
    std::fs::write(sim.macaroon_path(), &good).expect("restore the macaroon");
    let ok = daemon
        .wait_for("recovery", |p| p.cycles_ok >= 1 && p.failing_streak == 0)
        .await;
    assert_eq!(ok.lnd_status, "ready");
    assert_eq!(ok.reloads_applied, 0);
    daemon.stop().await;
    assert_macaroon_never_logged(&logs, &good);
    assert_macaroon_never_logged(&logs, &wrong);
}

// ---------- g. an unwritable plan directory ----------

#[tokio::test]
async fn unwritable_plan_dir_keeps_the_previous_plan_and_the_loop_going() {
    let (logs, _guard) = capture_logs();
    let (sim, _sim_dir) = start_sim(6, 11).await;
    let out = tempfile::tempdir().expect("tempdir");
    let good_dir = out.path().join("plans");
    let good = settings_for(&sim, &good_dir);
    let mut daemon = Daemon::start(good.clone());
    daemon
        .wait_for("a written plan", |p| p.cycles_ok >= 1 && p.last_write_ok)
        .await;

    // A directory below a regular file cannot be created, not even by root.
    let blocker = out.path().join("not-a-directory");
    std::fs::write(&blocker, b"keep me").expect("write the blocker");
    let bad_dir = blocker.join("plans");
    let mut bad = good.clone();
    bad.output.plan_dir = bad_dir.clone();
    daemon.reload(Ok(bad)).await;
    let switched = daemon
        .wait_for("the reload", |p| p.reloads_applied == 1)
        .await;
    // From here on nothing may touch the good directory.
    let (before_bytes, _) = latest(&good_dir);
    let before_files = plan_files(&good_dir);

    let failing = daemon
        .wait_for("cycles that cannot write", |p| {
            p.cycles_ok >= switched.cycles_ok + 2 && !p.last_write_ok
        })
        .await;
    assert!(daemon.is_running());
    assert_eq!(
        failing.failing_streak, 0,
        "LND is fine; only the write fails"
    );
    assert_eq!(failing.lnd_status, "ready");
    let error = failing.last_error.expect("the write error is reported");
    assert!(
        error.contains(&bad_dir.display().to_string()),
        "names the path: {error}"
    );

    assert_eq!(latest(&good_dir).0, before_bytes, "previous plan intact");
    assert_eq!(plan_files(&good_dir), before_files);
    assert!(temp_files(&good_dir).is_empty());
    assert_eq!(std::fs::read(&blocker).expect("blocker"), b"keep me");
    let write_errors =
        logs.with_message("could not write the plan; the previous plan files are kept");
    assert!(!write_errors.is_empty());
    assert_eq!(write_errors[0]["level"], "ERROR");
    assert!(statuses(&daemon.notices())
        .iter()
        .any(|s| s.ends_with("PLAN NOT WRITTEN")));

    // Back to a good directory: plans are written again.
    daemon.reload(Ok(good)).await;
    let written = daemon
        .wait_for("a written plan again", |p| {
            p.reloads_applied == 2 && p.cycles_ok > failing.cycles_ok && p.last_write_ok
        })
        .await;
    assert_eq!(written.last_error, None);
    daemon.stop().await;
    let (after_bytes, _) = latest(&good_dir);
    assert_ne!(after_bytes, before_bytes);
    assert_macaroon_never_logged(&logs, &macaroon_of(&sim));
}

// ---------- reload ----------

#[tokio::test]
async fn reload_keeps_the_old_config_when_the_new_one_is_bad() {
    let (logs, _guard) = capture_logs();
    let (sim, _sim_dir) = start_sim(6, 12).await;
    let out = tempfile::tempdir().expect("tempdir");
    let first_dir = out.path().join("plans");
    let settings = event_driven_settings(&sim, &first_dir);
    let mut daemon = Daemon::start(settings.clone());
    daemon
        .wait_for("the first cycle", |p| p.cycles_ok == 1)
        .await;

    daemon
        .reload(Err("dustwatch.toml line 3: expected `=`".into()))
        .await;
    let rejected = daemon
        .wait_for("the rejected reload", |p| p.reloads_rejected == 1)
        .await;
    assert_eq!(rejected.reloads_applied, 0);
    assert_eq!(rejected.cycles_ok, 1, "a rejected reload changes nothing");
    let failures = logs.with_message("reload failed; keeping the previous configuration");
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0]["level"], "ERROR");
    assert_eq!(failures[0]["error"], "dustwatch.toml line 3: expected `=`");

    // A good reload is applied at once and runs a cycle with the new settings.
    let second_dir = out.path().join("plans-2");
    let mut next = settings.clone();
    next.output.plan_dir = second_dir.clone();
    daemon.reload(Ok(next)).await;
    let applied = daemon
        .wait_for("the applied reload", |p| {
            p.reloads_applied == 1 && p.cycles_ok == 2
        })
        .await;
    assert!(applied.last_write_ok);
    let (_, plan) = latest(&second_dir);
    assert_eq!(plan.changes.previous_generated_at, rejected.last_plan_at);
    assert_eq!(plan_files(&first_dir).len(), 1);
    daemon.stop().await;

    // RELOADING then READY for each request, good or bad.
    let notices = daemon.notices();
    assert_ready_first_stopping_last(&notices);
    let reloading: Vec<usize> = notices
        .iter()
        .enumerate()
        .filter(|(_, n)| **n == Notice::Reloading)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(reloading.len(), 2, "{notices:?}");
    for i in reloading {
        assert_eq!(notices[i + 1], Notice::Ready, "{notices:?}");
    }
    assert_eq!(count(&notices, &Notice::Ready), 3);
    assert_macaroon_never_logged(&logs, &macaroon_of(&sim));
}

// ---------- i. shutdown during a cycle ----------

/// A loop with one plan written, then a cycle stuck on a slow LND (started by a reload, so
/// the test knows exactly when it runs).
async fn loop_with_a_cycle_in_flight(
    sim: &SimHandle,
    plan_dir: &Path,
    delay: Duration,
    shutdown_timeout: Duration,
) -> Daemon {
    let mut settings = event_driven_settings(sim, plan_dir);
    settings.lnd.request_timeout = Duration::from_secs(3600);
    settings.poll.shutdown_timeout = shutdown_timeout;
    let mut daemon = Daemon::start(settings.clone());
    daemon.next_call(Call::Snapshot).await;
    daemon
        .wait_for("the first plan", |p| p.cycles_ok == 1)
        .await;
    // The subscription must be in place before LND slows down, or it would be the slow call.
    daemon.next_call(Call::Subscribe).await;
    wait_for_subscriber(sim).await;

    sim.set_delay(delay);
    daemon.reload(Ok(settings)).await;
    daemon.next_call(Call::Snapshot).await;
    daemon
}

#[tokio::test]
async fn shutdown_abandons_a_stuck_cycle_after_the_timeout() {
    let (logs, _guard) = capture_logs();
    let (sim, _sim_dir) = start_sim(6, 13).await;
    let out = tempfile::tempdir().expect("tempdir");
    let plan_dir = out.path().join("plans");
    let timeout = Duration::from_millis(300);
    let mut daemon =
        loop_with_a_cycle_in_flight(&sim, &plan_dir, Duration::from_secs(3600), timeout).await;
    let (before, _) = latest(&plan_dir);

    let took = daemon.stop().await;
    assert!(took >= timeout, "the cycle had its chance: {took:?}");
    assert_eq!(daemon.progress_now().cycles_ok, 1);
    assert_eq!(latest(&plan_dir).0, before, "the plan on disk is intact");
    assert_eq!(plan_files(&plan_dir).len(), 1);
    assert!(temp_files(&plan_dir).is_empty());
    assert_eq!(
        logs.with_message("stopping: abandoned the running cycle")
            .len(),
        1
    );
    assert_ready_first_stopping_last(&daemon.notices());
    sim.set_delay(Duration::ZERO);
    assert_macaroon_never_logged(&logs, &macaroon_of(&sim));
}

#[tokio::test]
async fn shutdown_lets_a_running_cycle_finish_within_the_timeout() {
    let (logs, _guard) = capture_logs();
    let (sim, _sim_dir) = start_sim(3, 14).await;
    let out = tempfile::tempdir().expect("tempdir");
    let plan_dir = out.path().join("plans");
    let mut daemon = loop_with_a_cycle_in_flight(
        &sim,
        &plan_dir,
        Duration::from_millis(50),
        Duration::from_secs(30),
    )
    .await;

    daemon.stop().await;
    assert_eq!(
        plan_files(&plan_dir).len(),
        2,
        "the running cycle wrote its plan"
    );
    assert!(temp_files(&plan_dir).is_empty());
    latest(&plan_dir);
    assert_eq!(logs.with_message("last cycle finished").len(), 1);
    assert!(logs
        .with_message("stopping: abandoned the running cycle")
        .is_empty());
    assert_ready_first_stopping_last(&daemon.notices());
    assert_macaroon_never_logged(&logs, &macaroon_of(&sim));
}

/// Subscribing asks LND for its state first; on a hung LND that call must not hold up a
/// shutdown until the request timeout.
#[tokio::test]
async fn shutdown_is_not_held_up_by_a_subscription_to_a_hung_lnd() {
    let (logs, _guard) = capture_logs();
    let (sim, _sim_dir) = start_sim(3, 15).await;
    let sim = Arc::new(sim);
    let out = tempfile::tempdir().expect("tempdir");
    let plan_dir = out.path().join("plans");
    let mut settings = event_driven_settings(&sim, &plan_dir);
    settings.lnd.request_timeout = Duration::from_secs(3600);
    settings.poll.shutdown_timeout = Duration::from_millis(100);
    let hung = sim.clone();
    let mut daemon = Daemon::start_with_hook(
        settings,
        Some(Arc::new(move || hung.set_delay(Duration::from_secs(3600)))),
    );
    daemon
        .wait_for("the first plan", |p| p.cycles_ok == 1)
        .await;
    daemon.next_call(Call::Subscribe).await;

    let took = daemon.stop().await;
    assert!(took < Duration::from_secs(30), "stopping took {took:?}");
    assert_ready_first_stopping_last(&daemon.notices());
    sim.set_delay(Duration::ZERO);
    assert_macaroon_never_logged(&logs, &macaroon_of(&sim));
}

// ---------- k. alerts ----------

/// Splits the alert events of a run by cycle: element `i` holds the alert events logged
/// before cycle `i` finished (and after cycle `i - 1` did); the last element holds whatever
/// came after the last finished cycle.
fn alert_events_by_cycle(events: &[Value]) -> Vec<Vec<Value>> {
    let mut cycles = vec![Vec::new()];
    for event in events {
        if event.get("alert").is_some() {
            cycles.last_mut().expect("never empty").push(event.clone());
        } else if event["message"] == "cycle finished" {
            cycles.push(Vec::new());
        }
    }
    cycles
}

#[tokio::test]
async fn alerts_are_logged_when_they_appear_not_on_every_cycle() {
    let (logs, _guard) = capture_logs();
    let (sim, _sim_dir) = start_sim(40, 21).await;
    let out = tempfile::tempdir().expect("tempdir");
    let plan_dir = out.path().join("plans");
    let mut daemon = Daemon::start(settings_for(&sim, &plan_dir));
    daemon.wait_for("three cycles", |p| p.cycles_ok >= 3).await;
    daemon.stop().await;

    let first_plan_text = read_plan_text(&plan_files(&plan_dir)[0]).expect("first plan file");
    let first_plan = read_plan(&first_plan_text).expect("valid");
    assert!(
        !first_plan.alerts.is_empty(),
        "the scenario must have alerts for this test to mean anything"
    );
    let by_cycle = alert_events_by_cycle(&logs.dustwatch_events());
    assert!(by_cycle.len() >= 4, "three cycles finished");
    let first = &by_cycle[0];
    let mut no_plan = first_plan.clone();
    no_plan.alerts.clear();
    assert_eq!(
        logged_events(first),
        expected_events(&no_plan, &first_plan),
        "every alert of the first plan raised once"
    );
    for event in first {
        let alert = first_plan
            .alerts
            .iter()
            .find(|a| {
                event["alert"] == a.code.as_str()
                    && event["chan_id"] == a.chan_id.map(|c| c.to_string()).unwrap_or_default()
            })
            .expect("the event is one of the plan's alerts");
        let level = match alert.severity {
            dustwatch::plan::Severity::Error => "ERROR",
            dustwatch::plan::Severity::Warn => "WARN",
        };
        assert_eq!(event["level"], level, "{event}");
        assert_eq!(event["node"], "test");
        assert_eq!(event["message"], alert.message.text().as_ref());
    }
    for (i, later) in by_cycle.iter().enumerate().skip(1) {
        assert!(
            later.is_empty(),
            "cycle {} repeated alerts: {later:?}",
            i + 1
        );
    }

    // A restarted daemon takes the previous plan from latest.json: still nothing to repeat.
    let logged_before = logs.dustwatch_events().len();
    let mut again = Daemon::start(settings_for(&sim, &plan_dir));
    again.wait_for("a cycle", |p| p.cycles_ok >= 1).await;
    again.stop().await;
    let after_restart = &logs.dustwatch_events()[logged_before..];
    assert!(
        after_restart.iter().all(|e| e.get("alert").is_none()),
        "alerts repeated after a restart"
    );
    assert_macaroon_never_logged(&logs, &macaroon_of(&sim));
}

/// (state, code, chan_id) of each transition, as the log events should carry them.
fn expected_events(previous: &Plan, current: &Plan) -> Vec<(String, String, String)> {
    let still_open = |chan| {
        current
            .channels
            .binary_search_by_key(&chan, |c| c.chan_id)
            .is_ok()
    };
    transitions(&previous.alerts, &current.alerts)
        .into_iter()
        .filter(|t| !is_resolved_htlc(t, still_open) && is_journal_news(t, still_open))
        .map(|t| {
            let (state, alert) = match t {
                Transition::Raised(a) => ("raised", a),
                Transition::Escalated { to, .. } => ("escalated", to),
                Transition::Eased { to, .. } => ("eased", to),
                Transition::Cleared(a) => ("cleared", a),
            };
            (
                state.to_string(),
                alert.code.as_str().to_string(),
                alert.chan_id.map(|c| c.to_string()).unwrap_or_default(),
            )
        })
        .collect()
}

fn logged_events(events: &[Value]) -> Vec<(String, String, String)> {
    events
        .iter()
        .map(|e| {
            let field = |name: &str| e[name].as_str().unwrap_or_default().to_string();
            (field("state"), field("alert"), field("chan_id"))
        })
        .collect()
}

/// Channel events trigger cycles (the poll interval is an hour), several events close together
/// trigger one; each cycle logs exactly the alert transitions between its plan and the last.
#[tokio::test]
async fn channel_events_trigger_cycles_and_alert_transitions_are_logged() {
    let (logs, _guard) = capture_logs();
    let (sim, _sim_dir) = start_sim(40, 21).await;
    let out = tempfile::tempdir().expect("tempdir");
    let plan_dir = out.path().join("plans");
    let mut settings = event_driven_settings(&sim, &plan_dir);
    settings.poll.event_debounce = Duration::from_millis(200);
    let mut daemon = Daemon::start(settings);
    daemon
        .wait_for("the first cycle", |p| p.cycles_ok == 1)
        .await;
    let mut plans = vec![latest(&plan_dir).1];
    wait_for_subscriber(&sim).await;

    let highest = plans[0].summary.highest_fee_exposure_sat;
    assert!(highest > 0);
    let near_limit = (highest * 10).div_ceil(9); // exposure at 90% of the limit
    let steps: [(&str, String); 4] = [
        ("near", near_limit.to_string()),
        ("over", "1".to_string()),
        ("restored", "500000".to_string()),
        ("unchanged", "500000".to_string()),
    ];
    for (step, (name, limit)) in steps.iter().enumerate() {
        sim.set_debug_config(MAX_FEE_EXPOSURE_KEY, Some(limit));
        let before = daemon.progress_now();
        for _ in 0..3 {
            sim.emit_event(some_event(&sim));
        }
        let after = daemon
            .wait_for(name, |p| p.cycles_ok > before.cycles_ok)
            .await;
        assert_eq!(after.cycles_ok, before.cycles_ok + 1, "{name}: one cycle");
        assert_eq!(after.events_seen, before.events_seen + 3, "{name}");
        plans.push(latest(&plan_dir).1);
        let by_cycle = alert_events_by_cycle(&logs.dustwatch_events());
        assert_eq!(
            logged_events(&by_cycle[step + 1]),
            expected_events(&plans[step], &plans[step + 1]),
            "{name}"
        );
    }
    daemon.stop().await;

    let has = |plan: &Plan, code: AlertCode| plan.alerts.iter().any(|a| a.code == code);
    assert!(has(&plans[1], AlertCode::FeeExposureNearLimit));
    assert!(has(&plans[2], AlertCode::FeeExposureOverLimit));
    assert!(!has(&plans[3], AlertCode::FeeExposureOverLimit));
    let by_cycle = alert_events_by_cycle(&logs.dustwatch_events());
    let states = |i: usize| -> Vec<String> {
        logged_events(&by_cycle[i])
            .into_iter()
            .map(|(s, _, _)| s)
            .collect()
    };
    assert!(
        states(2).iter().any(|s| s == "escalated"),
        "{:?}",
        by_cycle[2]
    );
    assert!(
        states(3).iter().any(|s| s == "cleared"),
        "{:?}",
        by_cycle[3]
    );
    assert!(by_cycle[4].is_empty(), "no change, no alert lines");
    let escalated = by_cycle[2]
        .iter()
        .find(|e| e["state"] == "escalated")
        .expect("escalated");
    assert_eq!(escalated["alert"], "fee_exposure_over_limit");
    assert_eq!(escalated["level"], "ERROR");
    assert_macaroon_never_logged(&logs, &macaroon_of(&sim));
}
