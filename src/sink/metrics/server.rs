//! The HTTP edge: a small HTTP/1.1 server answering `GET /metrics` and nothing else.
//!
//! Prometheus scrapes once every few seconds at most, so one task per connection and a
//! response built in memory are enough. Memory stays bounded however clients behave: at most
//! [`ServeLimits::max_connections`] connections are served (more are closed at once), a
//! connection whose client stops reading is closed after [`ServeLimits::write_timeout`] without
//! progress, and every client is sent the same encoded body ([`Metrics::encode_shared`]), so a
//! 13 MB scrape is held once, not once per client. Shutdown is injected as a future (the daemon passes
//! its shutdown signal, tests pass a oneshot): when it resolves the listener is dropped (no new
//! connections), open connections finish the request in flight and close, and `serve` returns
//! once they are gone or [`DRAIN_TIMEOUT`] has passed.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Sleep;

use super::Metrics;

/// The only path that serves metrics.
pub const METRICS_PATH: &str = "/metrics";

/// What the body is: the OpenMetrics text format prometheus-client writes (Prometheus
/// negotiates it by default and parses it natively).
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// How long a client may take to send its request headers before the connection is closed,
/// so a stalled client cannot hold a task (or delay shutdown) forever.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long shutdown waits for responses in flight before dropping the connections.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Pause after an accept error such as "too many open files", so the loop does not spin while
/// the condition lasts.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// What one metrics endpoint may hold, whatever its clients do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    /// Connections served at once; a connection beyond it is closed as soon as it is accepted.
    /// Prometheus needs one per server; a few spare are for people with curl.
    pub max_connections: usize,
    /// How long a response may make no progress (the client reads nothing) before its
    /// connection is closed.
    pub write_timeout: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            max_connections: 16,
            write_timeout: Duration::from_secs(30),
        }
    }
}

/// Serves `metrics` on `listener` until `shutdown` resolves, then drains open connections,
/// within the default [`ServeLimits`].
///
/// Never fails: an accept error or a broken connection is logged and the server keeps going,
/// because losing the metrics endpoint must not take the daemon down.
pub async fn serve(listener: TcpListener, metrics: Metrics, shutdown: impl Future) {
    serve_with_limits(listener, metrics, shutdown, ServeLimits::default()).await;
}

/// [`serve`] with explicit limits.
pub async fn serve_with_limits(
    listener: TcpListener,
    metrics: Metrics,
    shutdown: impl Future,
    limits: ServeLimits,
) {
    let local = listener.local_addr().ok();
    tracing::info!(address = ?local, path = METRICS_PATH, "serving metrics");
    let (stop_tx, stop_rx) = watch::channel(());
    let mut connections = JoinSet::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut refused: u64 = 0;
    tokio::pin!(shutdown);

    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                        // Closed at once: holding it would be what the limit prevents.
                        refused += 1;
                        if refused.is_power_of_two() {
                            tracing::warn!(
                                %peer,
                                limit = limits.max_connections,
                                refused,
                                "metrics endpoint: too many open connections; closing new ones"
                            );
                        }
                        drop(stream);
                        continue;
                    };
                    tracing::debug!(%peer, "metrics connection");
                    let stream = WriteTimeout::new(stream, limits.write_timeout);
                    connections.spawn(serve_connection(stream, metrics.clone(), stop_rx.clone(), slot));
                }
                Err(err) => {
                    tracing::warn!(error = %err, "metrics endpoint: accept failed");
                    if pause_after_accept_error(&err) {
                        tokio::select! {
                            _ = &mut shutdown => break,
                            () = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => {}
                        }
                    }
                }
            },
            // Reap finished connections so the set does not grow with every scrape.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }

    drop(listener);
    // Receivers wake on this even though the value is `()`: `send` marks it changed.
    let _ = stop_tx.send(());
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "metrics endpoint: connections still open after {DRAIN_TIMEOUT:?}, closing them"
        );
        connections.abort_all();
    }
    tracing::info!(address = ?local, "metrics endpoint stopped");
}

/// Errors that are about the process (file descriptors, memory), not one connection.
fn pause_after_accept_error(err: &io::Error) -> bool {
    !matches!(
        err.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

async fn serve_connection(
    stream: WriteTimeout<TcpStream>,
    metrics: Metrics,
    mut stop: watch::Receiver<()>,
    _slot: OwnedSemaphorePermit,
) {
    let service = service_fn(move |request: Request<Incoming>| {
        let response = respond(&metrics, request.method(), request.uri().path());
        async move { Ok::<_, Infallible>(response) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);

    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = stop.changed() => {
            // Finishes the response in flight, then closes; an idle keep-alive closes now.
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = result {
        tracing::debug!(error = %err, "metrics connection ended with an error");
    }
}

/// The whole routing table: `GET`/`HEAD /metrics`, 405 for other methods there, 404 elsewhere.
fn respond(metrics: &Metrics, method: &Method, path: &str) -> Response<Full<Bytes>> {
    if path != METRICS_PATH {
        return text_response(
            StatusCode::NOT_FOUND,
            format!("not found: metrics are served at {METRICS_PATH}\n"),
        );
    }
    if method != Method::GET && method != Method::HEAD {
        let mut response = text_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET and HEAD are allowed\n".to_string(),
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let mut response = Response::new(Full::new(metrics.encode_shared()));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(OPENMETRICS_CONTENT_TYPE),
    );
    response
}

/// A stream whose writes fail with `TimedOut` once they have made no progress for `timeout`
/// (the client stopped reading and both socket buffers are full). Reads pass through.
struct WriteTimeout<S> {
    inner: S,
    timeout: Duration,
    /// Started when a write first returns `Pending`; cleared by any progress.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<S> WriteTimeout<S> {
    fn new(inner: S, timeout: Duration) -> Self {
        WriteTimeout {
            inner,
            timeout,
            stalled: None,
        }
    }

    /// Turns a write's `Pending` into an error once the stall has lasted `timeout`.
    fn check<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match polled {
            Poll::Ready(result) => {
                self.stalled = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let timeout = self.timeout;
                let stall = self
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match stall.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("the client read nothing for {timeout:?}"),
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteTimeout<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.check(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.check(cx, polled)
    }

    /// Forwarded, so hyper queues the shared body instead of copying it into its own buffer.
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        self.check(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.check(cx, polled)
    }
}

fn text_response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let metrics = Metrics::new();
        assert_eq!(
            respond(&metrics, &Method::GET, "/metrics").status(),
            StatusCode::OK
        );
        assert_eq!(
            respond(&metrics, &Method::HEAD, "/metrics").status(),
            StatusCode::OK
        );
        let post = respond(&metrics, &Method::POST, "/metrics");
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(post.headers()[ALLOW], "GET, HEAD");
        assert_eq!(
            respond(&metrics, &Method::GET, "/").status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            respond(&metrics, &Method::GET, "/metrics/").status(),
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn accept_errors_about_one_connection_do_not_pause() {
        assert!(!pause_after_accept_error(&io::Error::from(
            io::ErrorKind::ConnectionAborted
        )));
        assert!(pause_after_accept_error(&io::Error::other(
            "too many open files"
        )));
    }
}
