//! `WATCHDOG=1` on the daemon's own timer, so how long the loop waits on purpose (a long
//! `poll.interval`, `poll.backoff_max`, a slow LND answer) never gets a healthy daemon killed.
//!
//! What "wedged" means: a loop is wedged when one unit of its work (a cycle, or a subscription
//! attempt) has been running longer than [`wedged_after`], a bound above anything a healthy
//! cycle can take given the LND timeouts. Each loop marks its work with a [`Heartbeat`]; the
//! watchdog task pings every half `WatchdogSec` while no loop is wedged, and stops pinging (so
//! systemd restarts the service) once one is. Waiting between cycles is never wedged.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use crate::settings::LndSettings;

use super::notify::{Notice, Notifier};

/// Time a cycle may take beyond its LND requests: analysis and writing a ~100 MB plan on a
/// slow SD card.
const WORK_ALLOWANCE: Duration = Duration::from_secs(5 * 60);

/// LND requests one cycle makes one after another, each bounded by `lnd.request_timeout`.
const REQUESTS_PER_CYCLE: u32 = 8;

/// How long one cycle may run before its loop counts as wedged: connecting, every request of a
/// cycle timing out in turn, and [`WORK_ALLOWANCE`] (13 minutes with the default timeouts).
pub fn wedged_after(lnd: &LndSettings) -> Duration {
    lnd.connect_timeout + lnd.request_timeout * REQUESTS_PER_CYCLE + WORK_ALLOWANCE
}

/// Whether, and since when, one daemon loop is busy. Cheap to clone: clones share the state.
#[derive(Debug, Clone, Default)]
pub struct Heartbeat {
    busy_since: Arc<Mutex<Option<Instant>>>,
}

/// Marks its loop busy until dropped.
#[must_use = "the loop counts as busy only while the guard lives"]
pub struct Busy<'a>(&'a Heartbeat);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        *self.0.lock() = None;
    }
}

impl Heartbeat {
    /// Marks the loop busy (a cycle or a subscription attempt started) until the guard drops.
    pub fn busy(&self) -> Busy<'_> {
        *self.lock() = Some(Instant::now());
        Busy(self)
    }

    /// How long the current unit of work has been running; `None` while the loop waits.
    pub fn busy_for(&self) -> Option<Duration> {
        self.lock().map(|since| since.elapsed())
    }

    fn lock(&self) -> MutexGuard<'_, Option<Instant>> {
        // The value is a plain Option<Instant>: a panic elsewhere cannot leave it inconsistent.
        match self.busy_since.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// The watchdog interval systemd asks for (`WATCHDOG_USEC`, for this process), if any.
pub fn systemd_watchdog_interval() -> Option<Duration> {
    let mut usec = 0;
    (sd_notify::watchdog_enabled(false, &mut usec) && usec > 0).then(|| Duration::from_micros(usec))
}

/// Pings every `watchdog / 2` while no loop in `loops` (node name, heartbeat, wedge bound) is
/// wedged, until `stop` resolves. Logs once when it starts withholding pings, and once when a
/// wedged loop recovers.
pub async fn run<N: Notifier + ?Sized>(
    loops: Vec<(String, Heartbeat, Duration)>,
    watchdog: Duration,
    notifier: &N,
    stop: impl Future,
) {
    let mut ticks = tokio::time::interval((watchdog / 2).max(Duration::from_millis(1)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut withholding = false;
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = ticks.tick() => {}
        }
        let wedged = loops.iter().find_map(|(node, heartbeat, bound)| {
            heartbeat
                .busy_for()
                .filter(|busy| busy > bound)
                .map(|busy| (node, busy, bound))
        });
        match wedged {
            None => {
                if withholding {
                    tracing::info!(
                        "the daemon loop is making progress again; watchdog pings resume"
                    );
                    withholding = false;
                }
                notifier.notify(Notice::Watchdog);
            }
            Some((node, busy, bound)) => {
                if !withholding {
                    tracing::error!(
                        %node,
                        busy = %humantime::format_duration(Duration::from_secs(busy.as_secs())),
                        limit = %humantime::format_duration(*bound),
                        "a cycle has run past its limit: the loop is wedged; withholding the watchdog so systemd restarts dustwatch"
                    );
                    withholding = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::notify::RecordingNotifier;

    fn pings(notifier: &RecordingNotifier) -> usize {
        notifier
            .notices()
            .iter()
            .filter(|n| **n == Notice::Watchdog)
            .count()
    }

    #[tokio::test(start_paused = true)]
    async fn pings_while_idle_or_busy_within_the_bound_and_stops_when_wedged() {
        let heartbeat = Heartbeat::default();
        let notifier = RecordingNotifier::default();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let bound = Duration::from_secs(100);
        let task = {
            let (heartbeat, notifier) = (heartbeat.clone(), notifier.clone());
            tokio::spawn(async move {
                let loops = vec![("n".to_string(), heartbeat, bound)];
                run(loops, Duration::from_secs(20), &notifier, stop_rx).await;
            })
        };
        // Idle for a long interval: pings every 10 s regardless.
        tokio::time::sleep(Duration::from_secs(55)).await;
        assert_eq!(pings(&notifier), 6, "ticks at 0, 10, ..., 50 s");

        // A slow cycle (69 s) within the bound keeps the pings going.
        let busy = heartbeat.busy();
        tokio::time::sleep(Duration::from_secs(69)).await;
        let during_slow_cycle = pings(&notifier);
        assert_eq!(during_slow_cycle, 6 + 7);

        // Past the bound: no more pings.
        tokio::time::sleep(Duration::from_secs(100)).await;
        let wedged = pings(&notifier);
        assert!(wedged <= during_slow_cycle + 4, "{wedged}");
        tokio::time::sleep(Duration::from_secs(100)).await;
        assert_eq!(pings(&notifier), wedged, "pinged while wedged");

        // The cycle ends: pings resume.
        drop(busy);
        tokio::time::sleep(Duration::from_secs(25)).await;
        assert!(pings(&notifier) > wedged);
        let _ = stop_tx.send(());
        task.await.expect("watchdog task");
    }

    #[test]
    fn the_bound_follows_the_lnd_timeouts() {
        let lnd = LndSettings::default();
        assert_eq!(
            wedged_after(&lnd),
            Duration::from_secs(10 + 8 * 60 + 300),
            "defaults: connect 10 s, request 60 s"
        );
    }
}
