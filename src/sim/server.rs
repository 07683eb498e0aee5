//! One "generation" of the listening server: bind, accept TLS (h2 only), serve tonic over the
//! accepted streams, and stop hard.
//!
//! Stopping is what a dying LND looks like to clients: the listening socket closes (new
//! connections are refused) and every established connection is cut, streams included. A
//! restart is a new generation bound to the same address with the same certificate.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;

use super::service::{lock, LightningService, Shared, StateService};
use super::tls::{accept_h2_only, HandshakeError, SimConn};
use super::SimError;
use crate::lnd::pb;

/// Handshakes that may be in flight before the accept loop waits for the server to take them.
const ACCEPT_QUEUE: usize = 64;

/// A serving generation; dropping it without [`Generation::stop`] still cuts everything.
pub(super) struct Generation {
    kill: watch::Sender<bool>,
    accept_task: JoinHandle<()>,
    serve_task: JoinHandle<()>,
}

pub(super) async fn bind(addr: SocketAddr) -> Result<TcpListener, SimError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind { addr, source })
}

impl Generation {
    /// Starts serving on `listener` (already bound).
    pub fn start(listener: TcpListener, tls: Arc<ServerConfig>, shared: Arc<Shared>) -> Self {
        let (kill, kill_rx) = watch::channel(false);
        *lock(&shared.stopped) = kill_rx.clone();
        let (conn_tx, conn_rx) = mpsc::channel::<Result<SimConn, io::Error>>(ACCEPT_QUEUE);
        let accept_task = tokio::spawn(accept_loop(listener, tls, conn_tx, kill_rx));
        let lightning = pb::lightning_server::LightningServer::new(LightningService {
            shared: shared.clone(),
        });
        let htlc_router =
            pb::routerrpc::router_server::RouterServer::new(super::router::RouterService {
                shared: shared.clone(),
            });
        let state = pb::state_server::StateServer::new(StateService { shared });
        let router = tonic::transport::Server::builder()
            .add_service(lightning)
            .add_service(state)
            .add_service(htlc_router);
        let serve_task = tokio::spawn(async move {
            if let Err(e) = router
                .serve_with_incoming(ReceiverStream::new(conn_rx))
                .await
            {
                tracing::warn!(error = %e, "simulator: gRPC server ended with an error");
            }
        });
        Generation {
            kill,
            accept_task,
            serve_task,
        }
    }

    /// Closes the listening socket and cuts every connection; returns once the socket is
    /// closed, so the port can be bound again right away.
    pub async fn stop(mut self) {
        let _ = self.kill.send(true);
        self.accept_task.abort();
        self.serve_task.abort();
        // Both were aborted, so the results only say so; awaiting them is what guarantees the
        // listener has been dropped.
        let _ = (&mut self.accept_task).await;
        let _ = (&mut self.serve_task).await;
    }
}

impl Drop for Generation {
    fn drop(&mut self) {
        let _ = self.kill.send(true);
        self.accept_task.abort();
        self.serve_task.abort();
    }
}

/// Accepts TCP connections and hands each to its own handshake task, so one slow or
/// silent client cannot hold up the others.
async fn accept_loop(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    conns: mpsc::Sender<Result<SimConn, io::Error>>,
    kill: watch::Receiver<bool>,
) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Transient (e.g. too many open files): back off briefly and keep accepting.
                tracing::debug!(error = %e, "simulator: accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let tls = tls.clone();
        let conns = conns.clone();
        let mut kill_wait = kill.clone();
        let kill = kill.clone();
        tokio::spawn(async move {
            let handshake = tokio::select! {
                result = accept_h2_only(tcp, tls) => result,
                _ = kill_wait.wait_for(|k| *k) => return,
            };
            match handshake {
                Ok(stream) => {
                    let _ = conns.send(Ok(SimConn::new(stream, kill))).await;
                }
                Err(HandshakeError::NoAlpnH2) => {
                    tracing::debug!(%peer, "simulator: refused a TLS client without ALPN h2");
                }
                Err(e) => tracing::debug!(%peer, error = %e, "simulator: TLS handshake failed"),
            }
        });
    }
}
