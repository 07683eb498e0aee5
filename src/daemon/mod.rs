//! The daemon loop: snapshot LND on an interval and soon after channel events, analyse, write
//! the plan, log alert transitions, and keep systemd informed. [`run`] is the loop and
//! [`run_cycle`] one cycle; [`backoff`] paces retries, [`notify`] talks to systemd, [`signals`]
//! turns SIGHUP/SIGTERM into [`Control`].
//!
//! Invariants:
//! * cycles never overlap: the loop runs one cycle at a time and schedules the next only after
//!   the current one finished (a slow cycle delays the next, it does not stack them);
//! * LND being down, locked, starting or refusing the macaroon never ends the loop: it retries
//!   with exponential backoff and jitter (a bad macaroon or certificate jumps to the capped
//!   backoff), logging each change of LND's state once, not every retry;
//! * the previous plan (from `latest.json` at start, then the last one computed) is passed to
//!   the analyzer, so `changes` and alert transitions are relative to it. Only its
//!   [`PlanDigest`] is kept (action ids, channels with outgoing dust, alerts, `generated_at`):
//!   a 10,000-channel plan is ~60 MB in memory, its digest a few MB. `latest.json` is read
//!   into a digest at start (only the digest's fields are kept), and each plan is dropped once it is written and
//!   digested, so between cycles the loop holds no plan at all;
//! * shutdown and reload arrive as parameters ([`Control`]), never globals, so tests drive them;
//! * on shutdown a running cycle gets `poll.shutdown_timeout` to finish, then is dropped; plan
//!   writes use temp files that are removed when dropped, so nothing half-written remains. A
//!   subscription attempt in flight is dropped at once (it must not wait for a hung LND).
//! * systemd hears STOPPING exactly once, as soon as the shutdown request is seen.

pub mod backoff;
mod cycle;
mod htlc_watch;
mod lnd_state;
pub mod notify;
pub mod signals;
pub mod watchdog;

use std::future::Future;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_stream::StreamExt;

use crate::clock::unix_now;
use crate::lnd::error::LndError;
use crate::lnd::source::{ChannelEvents, NodeSource};
use crate::plan::{Plan, PlanDigest};
use crate::settings::Settings;
use crate::sink::metrics::Metrics;
use crate::sink::plan_file::PlanFileWriter;
use crate::sink::previous_plan::load_previous_digest;

use backoff::Backoff;
use cycle::remove_stale_temps;
pub use cycle::{
    plan_is_news, run_cycle, run_cycle_writing, CycleReport, WriteWhen, WrittenPlan,
    URGENT_PRIORITY,
};
use htlc_watch::{HtlcWatch, WithLinkFailures};
use lnd_state::{lnd_status_of, metric_lnd_state, set_lnd_status};
use notify::{Notice, Notifier};
use watchdog::Heartbeat;

/// How the outside world steers a running loop.
pub struct Control<F> {
    /// Resolves when the daemon should stop (SIGTERM/SIGINT in production).
    pub shutdown: F,
    /// One message per reload request (SIGHUP in production).
    pub reload: mpsc::Receiver<()>,
}

/// Where the loop reports besides logs and plan files.
pub struct LoopOutputs {
    /// The node's name in logs, alerts and metrics (`default` for a single-node config).
    pub node: String,
    /// Receives a [`Progress`] after every cycle and every reload request.
    pub progress: watch::Sender<Progress>,
    /// Prometheus metrics, when the endpoint is enabled.
    pub metrics: Option<Metrics>,
    /// Marked busy while a cycle or a subscription attempt runs, for the watchdog task.
    pub heartbeat: Heartbeat,
}

/// What the loop has done so far; published on a watch channel after every cycle and every
/// reload request, so callers (tests, `demo`, metrics) can wait for progress without sleeping.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    pub cycles_ok: u64,
    pub cycles_failed: u64,
    /// Consecutive failed cycles since the last success.
    pub failing_streak: u64,
    pub reloads_applied: u64,
    pub reloads_rejected: u64,
    pub events_seen: u64,
    /// What the last failure was, for STATUS lines and tests.
    pub last_error: Option<String>,
    /// `generated_at` of the newest plan the loop computed.
    pub last_plan_at: Option<String>,
    /// Whether the newest plan reached disk.
    pub last_write_ok: bool,
    pub lnd_status: String,
}

/// The loop's mutable state between cycles.
struct LoopState<S> {
    settings: Settings,
    writer: PlanFileWriter,
    source: Option<S>,
    /// The digest of the last plan (never the plan: see the module docs).
    previous: Option<PlanDigest>,
    backoff: Backoff,
    event_backoff: Backoff,
    events: Option<ChannelEvents>,
    resubscribe_at: Instant,
    next_cycle_at: Instant,
    event_deadline: Option<Instant>,
    rng: StdRng,
    progress: Progress,
    node: String,
    metrics: Option<Metrics>,
    /// The HTLC event subscription and its per-channel link-failure counts.
    htlc: HtlcWatch,
    /// When the cycle line was last logged at INFO, and the HTLC clears and channel warnings counted since.
    cycle_line: CycleLine,
    /// What the plan last written says (`None` until one is, and after a failed write).
    last_written: Option<WrittenPlan>,
}

/// The cycle line is news only when the cycle logged transitions, or hourly as a heartbeat;
/// otherwise it is DEBUG, and the HTLCs resolved and warnings changed in between are added up for the next one.
#[derive(Debug, Default)]
struct CycleLine {
    last_info_at: Option<Instant>,
    htlcs_resolved: usize,
    warnings_changed: usize,
}

/// How long the journal can go without a cycle line at INFO.
const CYCLE_LINE_HEARTBEAT: Duration = Duration::from_secs(3600);

/// Runs the daemon until `control.shutdown` resolves. Never returns an error because of LND.
///
/// * `connect` builds a [`NodeSource`] from the current settings (it reads the certificate and
///   macaroon files, so it is called again after a failure, and after each reload);
/// * `reload` re-reads the configuration; an `Err` keeps the old configuration (logged);
/// * `outputs` names the node and says where progress and metrics go.
pub async fn run<S, C, R, N, F>(
    settings: Settings,
    mut connect: C,
    mut reload: R,
    mut control: Control<F>,
    notifier: &N,
    outputs: LoopOutputs,
) where
    S: NodeSource,
    C: FnMut(&Settings) -> Result<S, LndError>,
    R: FnMut() -> Result<Settings, String>,
    N: Notifier + ?Sized,
    F: Future<Output = ()>,
{
    let writer = PlanFileWriter::from_settings(&settings.output);
    remove_stale_temps(&writer);
    let previous = load_previous_digest(&writer);
    let now = Instant::now();
    let mut state = LoopState {
        backoff: Backoff::new(settings.poll.backoff_initial, settings.poll.backoff_max),
        event_backoff: Backoff::new(settings.poll.backoff_initial, settings.poll.backoff_max),
        htlc: HtlcWatch::new(Backoff::new(
            settings.poll.backoff_initial,
            settings.poll.backoff_max,
        )),
        settings,
        writer,
        source: None,
        previous,
        events: None,
        resubscribe_at: now,
        next_cycle_at: now,
        event_deadline: None,
        rng: StdRng::from_os_rng(),
        node: outputs.node,
        metrics: outputs.metrics,
        cycle_line: CycleLine::default(),
        last_written: None,
        progress: Progress {
            lnd_status: "connecting".into(),
            ..Progress::default()
        },
    };
    notifier.notify(Notice::Ready);
    notifier.notify(Notice::Status("started; connecting to LND".into()));
    let progress = outputs.progress;
    let heartbeat = outputs.heartbeat;
    tracing::info!(
        node = %state.node,
        lnd = %format!("{}:{}", state.settings.lnd.host, state.settings.lnd.port),
        plan_dir = %state.writer.dir().display(),
        interval = %humantime::format_duration(state.settings.poll.interval),
        "dustwatch running"
    );

    let shutdown = control.shutdown;
    tokio::pin!(shutdown);
    loop {
        let cycle_at = match state.event_deadline {
            Some(deadline) => deadline.min(state.next_cycle_at),
            None => state.next_cycle_at,
        };
        let want_events = state.events.is_none() && state.source.is_some();
        let want_htlc = state.htlc.wants_subscription() && state.source.is_some();
        let htlc_resubscribe_at = state.htlc.resubscribe_at();
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(()) = control.reload.recv() => {
                notifier.notify(Notice::Reloading);
                apply_reload(&mut state, &mut reload);
                notifier.notify(Notice::Ready);
                // Publish at once: with a long interval the next cycle may be far away, and a
                // rejected reload does not run one at all.
                let _ = progress.send(state.progress.clone());
            }
            event = next_event(&mut state.events) => {
                on_event(&mut state, event);
            }
            item = state.htlc.next() => {
                state.htlc.on_item(item, &state.node, state.metrics.as_ref(), &mut state.rng);
            }
            () = tokio::time::sleep_until(htlc_resubscribe_at), if want_htlc => {
                let stop = tokio::select! {
                    biased;
                    () = &mut shutdown => true,
                    () = subscribe_htlc(&mut state) => false,
                };
                if stop {
                    break;
                }
            }
            () = tokio::time::sleep_until(state.resubscribe_at), if want_events => {
                // Subscribing asks LND for its state first; a hung LND must not hold up a
                // shutdown until the request timeout.
                let _busy = heartbeat.busy();
                let stop = tokio::select! {
                    biased;
                    () = &mut shutdown => true,
                    () = subscribe(&mut state) => false,
                };
                if stop {
                    break;
                }
            }
            () = tokio::time::sleep_until(cycle_at) => {
                let busy = heartbeat.busy();
                let stopped = cycle(&mut state, &mut connect, notifier, &mut shutdown).await;
                drop(busy);
                let _ = progress.send(state.progress.clone());
                if stopped {
                    // `cycle` already said STOPPING when the shutdown request arrived.
                    tracing::info!("dustwatch stopped");
                    return;
                }
            }
        }
    }
    notifier.notify(Notice::Stopping);
    tracing::info!("dustwatch stopped");
}

/// The next channel event, or pending forever when there is no subscription (so `select!`
/// simply ignores the branch).
async fn next_event(
    events: &mut Option<ChannelEvents>,
) -> Option<Result<crate::lnd::source::ChannelEventKind, LndError>> {
    match events {
        Some(stream) => stream.next().await,
        None => std::future::pending().await,
    }
}

fn on_event(
    state: &mut LoopState<impl NodeSource>,
    event: Option<Result<crate::lnd::source::ChannelEventKind, LndError>>,
) {
    match event {
        Some(Ok(kind)) => {
            state.progress.events_seen += 1;
            tracing::debug!(?kind, "channel event");
            let deadline = Instant::now() + state.settings.poll.event_debounce;
            // Debounce: the first event of a burst sets the deadline, later ones ride along.
            state.event_deadline.get_or_insert(deadline);
        }
        Some(Err(err)) => {
            tracing::debug!(error = %err, "channel event subscription failed; resubscribing later");
            drop_subscription(state);
        }
        None => {
            tracing::debug!("channel event subscription ended; resubscribing later");
            drop_subscription(state);
        }
    }
}

fn drop_subscription(state: &mut LoopState<impl NodeSource>) {
    state.events = None;
    let delay = state.event_backoff.next_delay(&mut state.rng);
    state.resubscribe_at = Instant::now() + delay;
}

async fn subscribe<S: NodeSource>(state: &mut LoopState<S>) {
    let Some(source) = state.source.as_mut() else {
        return;
    };
    match source.subscribe_channel_events().await {
        Ok(stream) => {
            tracing::debug!("subscribed to channel events");
            state.events = Some(stream);
            state.event_backoff.reset();
        }
        Err(err) => {
            tracing::debug!(error = %err, "cannot subscribe to channel events yet");
            drop_subscription(state);
        }
    }
}

async fn subscribe_htlc<S: NodeSource>(state: &mut LoopState<S>) {
    let LoopState {
        source,
        htlc,
        node,
        rng,
        ..
    } = state;
    if let Some(source) = source.as_mut() {
        htlc.subscribe(source, node, unix_now(), rng).await;
    }
}

fn apply_reload<S>(
    state: &mut LoopState<S>,
    reload: &mut impl FnMut() -> Result<Settings, String>,
) {
    match reload() {
        Ok(new_settings) => {
            tracing::info!("configuration reloaded; reconnecting to LND with the new settings");
            state.writer = PlanFileWriter::from_settings(&new_settings.output);
            state.backoff = Backoff::new(
                new_settings.poll.backoff_initial,
                new_settings.poll.backoff_max,
            );
            state.event_backoff = state.backoff.clone();
            state.htlc.reset(state.backoff.clone());
            state.settings = new_settings;
            // Re-read the certificate and macaroon: drop the client and the subscription.
            state.source = None;
            state.events = None;
            state.next_cycle_at = Instant::now();
            state.resubscribe_at = Instant::now();
            state.progress.reloads_applied += 1;
        }
        Err(err) => {
            tracing::error!(error = %err, "reload failed; keeping the previous configuration");
            state.progress.reloads_rejected += 1;
        }
    }
}

/// Runs one cycle with shutdown racing it. Returns true when the daemon must stop.
async fn cycle<S, C, N, F>(
    state: &mut LoopState<S>,
    connect: &mut C,
    notifier: &N,
    shutdown: &mut std::pin::Pin<&mut F>,
) -> bool
where
    S: NodeSource,
    C: FnMut(&Settings) -> Result<S, LndError>,
    N: Notifier + ?Sized,
    F: Future<Output = ()>,
{
    state.event_deadline = None;
    let started = Instant::now();
    if state.source.is_none() {
        match connect(&state.settings) {
            Ok(source) => state.source = Some(source),
            Err(err) => {
                on_failure(state, &err, notifier, started.elapsed());
                return false;
            }
        }
    }
    let link_failures = state.htlc.take_window(unix_now());
    let LoopState {
        source,
        settings,
        writer,
        previous,
        node,
        htlc,
        last_written,
        ..
    } = state;
    let Some(source) = source.as_mut() else {
        htlc.restore_window(link_failures);
        return false;
    };
    let mut source = WithLinkFailures {
        source,
        counts: link_failures.clone(),
    };
    let outcome = {
        let when = WriteWhen::Changed {
            last_written: last_written.as_ref(),
        };
        let work = run_cycle_writing(&mut source, settings, writer, previous.as_ref(), node, when);
        tokio::pin!(work);
        tokio::select! {
            biased;
            out = &mut work => Some(out),
            () = shutdown.as_mut() => {
                notifier.notify(Notice::Stopping);
                tracing::info!(
                    timeout = %humantime::format_duration(settings.poll.shutdown_timeout),
                    "stopping: letting the running cycle finish"
                );
                match tokio::time::timeout(settings.poll.shutdown_timeout, &mut work).await {
                    Ok(out) => {
                        if let Ok(report) = &out {
                            tracing::info!(generated_at = %report.plan.generated_at, "last cycle finished");
                        }
                        return true;
                    }
                    Err(_) => {
                        tracing::warn!("stopping: abandoned the running cycle");
                        return true;
                    }
                }
            }
        }
    };
    match outcome {
        Some(Ok(report)) => on_success(state, report, notifier, started.elapsed()),
        Some(Err(err)) => {
            state.htlc.restore_window(link_failures);
            on_failure(state, &err, notifier, started.elapsed());
        }
        None => {}
    }
    false
}

/// A single-node daemon (node `default`) takes the node's alias, or its public key when the
/// alias is empty, from GetInfo as soon as LND answers, so that several daemons scraped by one
/// Prometheus never share a `node` label. Series recorded under `default` before are dropped.
fn name_node_from_lnd<S>(state: &mut LoopState<S>, plan: &Plan) {
    if state.node != crate::settings::DEFAULT_NODE_NAME {
        return;
    }
    let alias = plan.source.node_alias.trim();
    let name = if alias.is_empty() {
        plan.source.node_pubkey.trim()
    } else {
        alias
    };
    if name.is_empty() {
        return;
    }
    if let Some(metrics) = &state.metrics {
        metrics.forget_node(&state.node);
    }
    tracing::info!(node = %name, "node named after LND's alias (or public key)");
    state.node = name.to_string();
}

fn on_success<S>(
    state: &mut LoopState<S>,
    report: CycleReport,
    notifier: &(impl Notifier + ?Sized),
    took: Duration,
) {
    set_lnd_status(state, lnd_status_of(&Ok(())), None);
    name_node_from_lnd(state, &report.plan);
    if let Some(metrics) = &state.metrics {
        metrics.observe_plan(&state.node, &report.plan);
        // A plan that did not reach disk is a failed cycle for whoever alerts on it.
        let ok = report.write_error.is_none();
        metrics.observe_cycle(&state.node, took, ok, report.plan.source.taken_at_unix);
        metrics.set_lnd_state(&state.node, &metric_lnd_state(Ok(())));
    }
    state.backoff.reset();
    state.progress.cycles_ok += 1;
    state.progress.failing_streak = 0;
    state.progress.last_error = report.write_error.as_ref().map(|e| e.to_string());
    state.progress.last_write_ok = report.write_error.is_none();
    state.progress.last_plan_at = Some(report.plan.generated_at.clone());
    let summary = &report.plan.summary;
    let status = format!(
        "LND {}; last cycle {}: {} channels, {} alerts, {} actions{}",
        state.progress.lnd_status,
        report.plan.generated_at,
        report.plan.channels.len(),
        report.plan.alerts.len(),
        summary.recommended_actions,
        if report.write_error.is_some() {
            ", PLAN NOT WRITTEN"
        } else {
            ""
        }
    );
    let now = Instant::now();
    let line = &mut state.cycle_line;
    line.htlcs_resolved += report.journal.htlcs_resolved;
    line.warnings_changed += report.journal.warnings_changed;
    let news = report.journal.logged > 0
        || line
            .last_info_at
            .is_none_or(|at| now.duration_since(at) >= CYCLE_LINE_HEARTBEAT);
    macro_rules! cycle_line {
        ($level:ident) => {
            tracing::$level!(
                node = %state.node,
                channels = report.plan.channels.len(),
                alerts = report.plan.alerts.len(),
                actions = summary.recommended_actions,
                total_dust_sat = summary.total_dust_sat,
                alert_transitions = report.journal.logged,
                htlc_alerts_resolved = line.htlcs_resolved,
                channel_warnings_changed = line.warnings_changed,
                "cycle finished"
            )
        };
    }
    if news {
        cycle_line!(info);
        line.last_info_at = Some(now);
        line.htlcs_resolved = 0;
        line.warnings_changed = 0;
    } else {
        cycle_line!(debug);
    }
    if report.written {
        state.last_written = report
            .write_error
            .is_none()
            .then(|| WrittenPlan::of(&report.plan));
    }
    // Keep what the next cycle needs; the plan itself is dropped with `report`.
    state.previous = Some(PlanDigest::of(&report.plan));
    state.next_cycle_at = Instant::now() + state.settings.poll.interval;
    notifier.notify(Notice::Status(status));
    notifier.notify(Notice::Watchdog);
}

fn on_failure<S>(
    state: &mut LoopState<S>,
    err: &LndError,
    notifier: &(impl Notifier + ?Sized),
    took: Duration,
) {
    set_lnd_status(state, lnd_status_of(&Err(err)), Some(err));
    if let Some(metrics) = &state.metrics {
        metrics.observe_cycle(&state.node, took, false, unix_now());
        metrics.set_lnd_state(&state.node, &metric_lnd_state(Err(err)));
    }
    if !err.is_transient() {
        state.backoff.saturate();
    }
    if matches!(
        err,
        LndError::BadMacaroon { .. }
            | LndError::TlsPinMismatch { .. }
            | LndError::Unreachable { .. }
    ) {
        // Reconnect next time: re-reads the certificate and macaroon files.
        state.source = None;
        state.events = None;
        state.htlc.reset(state.backoff.clone());
    }
    let delay = state.backoff.next_delay(&mut state.rng);
    tracing::debug!(error = %err, retry_in = %humantime::format_duration(delay), "cycle failed");
    state.progress.cycles_failed += 1;
    state.progress.failing_streak += 1;
    state.progress.last_error = Some(err.to_string());
    state.next_cycle_at = Instant::now() + delay;
    notifier.notify(Notice::Status(format!(
        "LND {}; retrying in {}",
        state.progress.lnd_status,
        humantime::format_duration(Duration::from_secs(delay.as_secs()))
    )));
    // The loop itself is healthy: it is waiting for LND on purpose.
    notifier.notify(Notice::Watchdog);
}
