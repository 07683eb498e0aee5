//! The systemd notification protocol (`Type=notify`), behind a trait so the loop can be
//! tested without a notify socket.
//!
//! What the daemon says and when: `READY=1` once the configuration is valid; `STATUS=` with
//! LND's state and the last cycle's outcome; `WATCHDOG=1` after every cycle and on the
//! daemon's own timer while no loop is wedged (`super::watchdog`), so a wedged loop gets
//! restarted by systemd and a long wait does not;
//! `RELOADING=1` on SIGHUP followed by `READY=1`; `STOPPING=1` on SIGTERM.

use std::sync::{Arc, Mutex};

/// One notification to the service manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Ready,
    Reloading,
    Stopping,
    Watchdog,
    Status(String),
}

/// Where notifications go.
pub trait Notifier: Send + Sync {
    fn notify(&self, notice: Notice);
}

/// Talks to systemd through `$NOTIFY_SOCKET`; a no-op when not run by systemd.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemdNotifier;

impl Notifier for SystemdNotifier {
    fn notify(&self, notice: Notice) {
        use sd_notify::NotifyState;
        let result = match &notice {
            Notice::Ready => sd_notify::notify(false, &[NotifyState::Ready]),
            Notice::Reloading => match sd_notify::NotifyState::monotonic_usec_now() {
                Ok(now) => sd_notify::notify(false, &[NotifyState::Reloading, now]),
                Err(err) => Err(err),
            },
            Notice::Stopping => sd_notify::notify(false, &[NotifyState::Stopping]),
            Notice::Watchdog => sd_notify::notify(false, &[NotifyState::Watchdog]),
            Notice::Status(text) => sd_notify::notify(false, &[NotifyState::Status(text)]),
        };
        if let Err(err) = result {
            tracing::debug!(error = %err, ?notice, "sd_notify failed");
        }
    }
}

/// Records notifications in memory, for tests and for `dustwatch demo`.
#[derive(Debug, Default, Clone)]
pub struct RecordingNotifier {
    notices: Arc<Mutex<Vec<Notice>>>,
}

impl RecordingNotifier {
    /// Everything notified so far, in order.
    pub fn notices(&self) -> Vec<Notice> {
        match self.notices.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

impl Notifier for RecordingNotifier {
    fn notify(&self, notice: Notice) {
        match self.notices.lock() {
            Ok(mut guard) => guard.push(notice),
            Err(poisoned) => poisoned.into_inner().push(notice),
        }
    }
}
