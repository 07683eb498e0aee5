//! The metrics endpoint under clients that never read, over real TCP on 127.0.0.1: a
//! connection beyond the limit is closed at once, a stalled response is abandoned after the
//! write timeout, and every client shares one encoded body.

use std::time::Duration;

use dustwatch::sink::metrics::{serve_with_limits, Metrics, ServeLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;

/// Bigger than the kernel's socket buffers on both sides together (4 MiB send, small receive),
/// so a client that does not read stalls the server's write.
const BODY_BYTES: usize = 12 << 20;

/// Metrics whose exposition is about [`BODY_BYTES`]: LND states are exported verbatim.
fn big_metrics() -> Metrics {
    let metrics = Metrics::new();
    for node in 0..12 {
        metrics.set_lnd_state(&format!("node{node}"), &"x".repeat(BODY_BYTES / 12));
    }
    metrics
}

async fn start(limits: ServeLimits) -> (std::net::SocketAddr, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(serve_with_limits(
        listener,
        big_metrics(),
        async move {
            let _ = stopped.await;
        },
        limits,
    ));
    (addr, stop)
}

/// A client with a small receive buffer that sends a scrape request and then never reads.
async fn stalled_client(addr: std::net::SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("rcvbuf");
    let mut stream = socket.connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("send request");
    stream
}

/// Reads until the server closes; a reset counts as closed.
async fn read_to_close(stream: &mut TcpStream) -> usize {
    let mut total = 0;
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return total,
            Ok(n) => total += n,
        }
    }
}

#[tokio::test]
async fn connections_beyond_the_limit_are_closed_at_once() {
    let limits = ServeLimits {
        max_connections: 2,
        write_timeout: Duration::from_secs(3600),
    };
    let (addr, _stop) = start(limits).await;
    let _held = [stalled_client(addr).await, stalled_client(addr).await];
    let mut third = stalled_client(addr).await;
    // Without a limit the third client would be served megabytes; with one it gets nothing.
    let received = tokio::time::timeout(Duration::from_secs(60), read_to_close(&mut third))
        .await
        .expect("the third connection is closed, not held");
    assert_eq!(received, 0);
}

#[tokio::test(start_paused = true)]
async fn a_client_that_never_reads_is_dropped_after_the_write_timeout() {
    let limits = ServeLimits {
        max_connections: 4,
        write_timeout: Duration::from_secs(30),
    };
    let (addr, _stop) = start(limits).await;
    let mut client = stalled_client(addr).await;
    // Paused time: this returns once the runtime is idle past the write timeout, i.e. after the
    // server's stalled write has had its chance to time out.
    tokio::time::sleep(Duration::from_secs(120)).await;
    let received = read_to_close(&mut client).await;
    assert!(received > 0, "the request was never answered");
    assert!(
        received < BODY_BYTES,
        "the whole body ({received} bytes) was sent: the stalled connection was kept"
    );
}

#[test]
fn every_scrape_shares_one_encoded_body_until_something_changes() {
    let metrics = big_metrics();
    let first = metrics.encode_shared();
    let second = metrics.encode_shared();
    assert_eq!(first.as_ptr(), second.as_ptr(), "encoded once per client");
    assert_eq!(first, metrics.encode().as_bytes());
    metrics.set_lnd_state("node0", "server_active");
    let third = metrics.encode_shared();
    assert_ne!(third.as_ptr(), first.as_ptr(), "a change is re-encoded");
    assert!(String::from_utf8_lossy(&third).contains("server_active"));
}
