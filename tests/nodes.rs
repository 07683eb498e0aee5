//! Several nodes in one daemon, black-box: the built `dustwatch run` binary watches two
//! simulated LND nodes configured as `[[nodes]]`, one of them stopped. The running node's
//! cycles go on unaffected, each node's plans land in its own directory, metrics carry the
//! node name, and SIGTERM stops both loops with exit 0.
//!
//! The daemon is another process: the test waits on its log lines (read from its stderr as
//! they are written), never for a fixed time.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use dustwatch::plan::read_plan;
use dustwatch::sim::{SimConfig, SimHandle, SimNode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const DEADLINE: Duration = Duration::from_secs(60);

async fn sim(dir: &Path, seed: u64) -> SimHandle {
    SimNode::start(SimConfig {
        channels: 6,
        seed,
        data_dir: dir.to_path_buf(),
        port: None,
    })
    .await
    .expect("simulator starts")
}

fn node_table(name: &str, sim: &SimHandle) -> String {
    format!(
        "[[nodes]]\nname = \"{name}\"\nlnd.host = \"127.0.0.1\"\nlnd.port = {}\n\
         lnd.tls_cert_path = \"{}\"\nlnd.macaroon_path = \"{}\"\n\n",
        sim.addr().port(),
        sim.cert_path().display(),
        sim.macaroon_path().display()
    )
}

fn plan_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("plan-") && n.ends_with(".json.zst"))
        })
        .collect();
    files.sort();
    files
}

/// The daemon's stderr, line by line, as it is written.
struct LogLines {
    rx: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl LogLines {
    fn follow(stderr: std::process::ChildStderr) -> Self {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        LogLines {
            rx,
            seen: Vec::new(),
        }
    }

    /// Blocks until `count` lines (in all, since the start) satisfy `matches`; a deadline only
    /// turns a hang into a failure.
    fn wait_for(&mut self, what: &str, count: usize, matches: impl Fn(&str) -> bool) {
        while self.seen.iter().filter(|l| matches(l)).count() < count {
            match self.rx.recv_timeout(DEADLINE) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "gave up waiting for {what}; dustwatch said:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    fn all(&mut self) -> String {
        while let Ok(line) = self.rx.recv_timeout(DEADLINE) {
            self.seen.push(line);
        }
        self.seen.join("\n")
    }
}

fn finished(node: &'static str) -> impl Fn(&str) -> bool {
    move |line: &str| line.contains("cycle finished") && line.contains(&format!("node={node}"))
}

async fn scrape(port: u16) -> String {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("metrics endpoint accepts");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("request sent");
    let mut body = String::new();
    stream
        .read_to_string(&mut body)
        .await
        .expect("response read");
    body
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_node_does_not_hold_up_the_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let alpha = sim(&dir.path().join("alpha-lnd"), 11).await;
    let beta = sim(&dir.path().join("beta-lnd"), 12).await;
    beta.stop().await;

    let plans = dir.path().join("plans");
    let metrics_port = free_port();
    let config = dir.path().join("dustwatch.toml");
    std::fs::write(
        &config,
        format!(
            "[poll]\ninterval = \"300ms\"\nbackoff_initial = \"200ms\"\nbackoff_max = \"1s\"\n\n\
             [output]\nplan_dir = \"{}\"\nplan_refresh = \"0s\"\n\n[metrics]\nlisten = \"127.0.0.1:{metrics_port}\"\n\n{}{}",
            plans.display(),
            node_table("alpha", &alpha),
            node_table("beta", &beta),
        ),
    )
    .expect("config written");

    let mut child = Command::new(env!("CARGO_BIN_EXE_dustwatch"))
        .args(["--config", config.to_str().expect("utf-8"), "run"])
        // A quiet cycle's line is DEBUG (see the daemon's cycle line); the test counts them all.
        .env("RUST_LOG", "info,dustwatch=debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dustwatch starts");

    let mut log = LogLines::follow(child.stderr.take().expect("stderr piped"));
    let alpha_dir = plans.join("alpha");
    let beta_dir = plans.join("beta");
    log.wait_for("beta's first failure", 1, |l| {
        l.contains("LND unavailable") && l.contains("node=beta")
    });
    log.wait_for("three alpha cycles", 3, finished("alpha"));
    assert!(
        plan_files(&alpha_dir).len() >= 3,
        "alpha writes a plan per cycle"
    );
    assert!(
        plan_files(&beta_dir).is_empty(),
        "the stopped node has no plan"
    );
    let latest = std::fs::read_to_string(alpha_dir.join("latest.json")).expect("alpha latest");
    let plan = read_plan(&latest).expect("alpha's plan is schema v1");
    assert_eq!(plan.channels.len(), 6);

    let metrics = scrape(metrics_port).await;
    let alpha_capacity: u64 = plan.summary.total_capacity_sat;
    assert!(
        metrics.contains(&format!(
            "dustwatch_capacity_sat{{node=\"alpha\"}} {alpha_capacity}"
        )),
        "alpha's series carry its name and its plan's values"
    );
    assert!(metrics.contains("dustwatch_last_cycle_success{node=\"alpha\"} 1"));
    assert!(
        metrics.contains("dustwatch_last_cycle_success{node=\"beta\"} 0"),
        "beta's failed cycles are visible: {}",
        metrics
            .lines()
            .filter(|l| l.contains("beta"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    // Beta comes back: its own loop picks it up; alpha was never affected.
    beta.restart().await.expect("beta restarts on its port");
    log.wait_for("a beta cycle after its restart", 1, finished("beta"));
    assert!(!plan_files(&beta_dir).is_empty());

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = child.wait().expect("dustwatch exits");
    let stderr = log.all();
    assert_eq!(exit.code(), Some(0), "stderr:\n{stderr}");
    assert!(stderr.contains("dustwatch stopped"), "{stderr}");
    for dir in [&alpha_dir, &beta_dir] {
        let leftovers: Vec<_> = std::fs::read_dir(dir)
            .expect("plan dir")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
    }
    alpha.shutdown().await;
    beta.shutdown().await;
}
