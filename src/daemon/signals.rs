//! Unix signals as the daemon's [`super::Control`]: SIGHUP becomes a reload request,
//! SIGTERM or SIGINT the shutdown future. Kept apart so the loop never touches signals itself.

use std::io;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use super::Control;

/// Installs the handlers. Must be called inside a tokio runtime.
pub fn install() -> io::Result<Control<impl std::future::Future<Output = ()>>> {
    let mut hangup = signal(SignalKind::hangup())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let (reload_tx, reload_rx) = mpsc::channel(4);
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            // A full queue already holds a pending reload; dropping this one loses nothing.
            let _ = reload_tx.try_send(());
        }
    });
    let shutdown = async move {
        tokio::select! {
            _ = terminate.recv() => tracing::info!("SIGTERM received"),
            _ = interrupt.recv() => tracing::info!("SIGINT received"),
        }
    };
    Ok(Control {
        shutdown,
        reload: reload_rx,
    })
}
