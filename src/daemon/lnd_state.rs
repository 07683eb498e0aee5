//! LND's state as the daemon reports it: a short description for logs and STATUS lines, the
//! metrics' state names, and logging each change of state once.

use super::LoopState;
use crate::lnd::error::LndError;

/// A short, stable description of LND's state for logs and STATUS lines: state changes are
/// detected by comparing these.
pub(super) fn lnd_status_of(result: &Result<(), &LndError>) -> String {
    match result {
        Ok(()) => "ready".to_string(),
        Err(LndError::NotReady { state }) => format!("not ready: {state}"),
        Err(LndError::Unreachable { .. }) => "unreachable".to_string(),
        Err(LndError::Timeout { .. }) => "timing out".to_string(),
        Err(LndError::BadMacaroon { .. }) => "rejecting the macaroon".to_string(),
        Err(LndError::TlsPinMismatch { .. }) => "presenting another TLS certificate".to_string(),
        Err(other) => format!("failing: {other}"),
    }
}

pub(super) fn set_lnd_status<S>(state: &mut LoopState<S>, status: String, err: Option<&LndError>) {
    if state.progress.lnd_status == status {
        return;
    }
    let node = &state.node;
    match err {
        None => tracing::info!(%node, lnd_state = %status, "LND is ready"),
        Some(err) if err.is_transient() => {
            tracing::warn!(%node, lnd_state = %status, error = %err, "LND unavailable; retrying with backoff")
        }
        Some(err) => tracing::error!(
            %node,
            lnd_state = %status,
            error = %err,
            "LND refuses dustwatch; fix the named file or setting (retrying at the longest backoff)"
        ),
    }
    state.progress.lnd_status = status;
}

/// LND's state as the metrics name it (`sink::metrics::LND_STATES`, plus names for refusals).
pub(super) fn metric_lnd_state(result: Result<(), &LndError>) -> String {
    use crate::lnd::error::LndState;
    match result {
        Ok(()) => "server_active".into(),
        Err(LndError::NotReady { state }) => match state {
            LndState::WaitingToStart => "waiting_to_start".into(),
            LndState::NonExisting => "non_existing".into(),
            LndState::Locked => "locked".into(),
            LndState::Unlocked => "unlocked".into(),
            LndState::RpcActive => "rpc_active".into(),
            LndState::ServerActive => "server_active".into(),
            LndState::Unrecognized(n) => format!("unrecognized_{n}"),
        },
        Err(LndError::Unreachable { .. } | LndError::Timeout { .. }) => "unreachable".into(),
        Err(LndError::BadMacaroon { .. }) => "macaroon_rejected".into(),
        Err(LndError::TlsPinMismatch { .. }) => "tls_certificate_mismatch".into(),
        Err(_) => "error".into(),
    }
}
