//! The HTTP edge: a small HTTP/1.1 server answering `GET /metrics` and nothing else.
//!
//! Prometheus scrapes once every few seconds at most, so one task per connection and a
//! response built in memory are enough. Shutdown is injected as a future (the daemon passes
//! its shutdown signal, tests pass a oneshot): when it resolves the listener is dropped (no new
//! connections), open connections finish the request in flight and close, and `serve` returns
//! once they are gone or [`DRAIN_TIMEOUT`] has passed.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

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

/// Serves `metrics` on `listener` until `shutdown` resolves, then drains open connections.
///
/// Never fails: an accept error or a broken connection is logged and the server keeps going,
/// because losing the metrics endpoint must not take the daemon down.
pub async fn serve(listener: TcpListener, metrics: Metrics, shutdown: impl Future) {
    let local = listener.local_addr().ok();
    tracing::info!(address = ?local, path = METRICS_PATH, "serving metrics");
    let (stop_tx, stop_rx) = watch::channel(());
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);

    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tracing::debug!(%peer, "metrics connection");
                    connections.spawn(serve_connection(stream, metrics.clone(), stop_rx.clone()));
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

async fn serve_connection(stream: TcpStream, metrics: Metrics, mut stop: watch::Receiver<()>) {
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
    let mut response = Response::new(Full::new(Bytes::from(metrics.encode())));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(OPENMETRICS_CONTENT_TYPE),
    );
    response
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
