//! The `dustwatch run` binary as systemd runs it, against an in-process simulated LND over
//! TLS: SIGHUP with a bad configuration keeps the old one, SIGHUP with a good one applies it,
//! SIGTERM during a cycle exits 0 within `shutdown_timeout` and leaves no temporary files, and
//! the macaroon never appears in the daemon's stderr at `RUST_LOG=trace`.
//!
//! The daemon is another process, so these tests observe it the way an operator would: files
//! in the plan directory and lines on stderr, checked at a short cadence with a generous
//! deadline. Signals go through `kill(1)` (the crate forbids unsafe code, so no libc).

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use dustwatch::plan::read_plan;
use dustwatch::sink::plan_file::list_plan_files;
use tokio::time::Instant;

mod common;

use common::{lnd_env, mkfifo, start_sim_in, temp_files};

/// Upper bound on any wait: only reached when the behaviour under test is broken.
const PATIENCE: Duration = Duration::from_secs(180);

/// How often the tests look at the daemon's files and stderr.
const POLL_CADENCE: Duration = Duration::from_millis(20);

fn config_text(plan_dir: &Path, interval: &str, extra_poll: &str) -> String {
    format!(
        "[poll]\ninterval = \"{interval}\"\nbackoff_initial = \"10ms\"\nbackoff_max = \"200ms\"\n{extra_poll}\n\
         [output]\nplan_dir = {:?}\nkeep_plans = 10000\nplan_refresh = \"0s\"\n",
        plan_dir.display().to_string()
    )
}

/// The daemon process; killed if a test fails before it exited.
struct Daemon {
    child: Child,
    stderr: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

impl Daemon {
    fn spawn(config: &Path, env: &[(String, String)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dustwatch"))
            .args(["run", "--config"])
            .arg(config)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start dustwatch");
        // Drain stderr continuously: at trace level it fills a pipe buffer quickly.
        let mut pipe = child.stderr.take().expect("piped stderr");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let sink = stderr.clone();
        let reader = std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .expect("stderr lock")
                    .extend_from_slice(&chunk[..n]);
            }
        });
        Daemon {
            child,
            stderr,
            reader: Some(reader),
        }
    }

    fn stderr_bytes(&self) -> Vec<u8> {
        self.stderr.lock().expect("stderr lock").clone()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr_bytes()).into_owned()
    }

    /// The last lines of stderr, for failure messages.
    fn stderr_tail(&self) -> String {
        let text = self.stderr();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits until `done` holds, checking at [`POLL_CADENCE`]; fails if the daemon exits.
    async fn wait_until(&mut self, what: &str, mut done: impl FnMut(&Daemon) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !done(self) {
            assert!(
                self.is_running(),
                "dustwatch exited while waiting for {what}:\n{}",
                self.stderr_tail()
            );
            assert!(
                Instant::now() < deadline,
                "no {what} within {PATIENCE:?}:\n{}",
                self.stderr_tail()
            );
            tokio::time::sleep(POLL_CADENCE).await;
        }
    }

    /// Waits for the process to exit; returns its status and whole stderr.
    async fn wait_exit(&mut self) -> (ExitStatus, String) {
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "dustwatch did not exit:\n{}",
                self.stderr_tail()
            );
            tokio::time::sleep(POLL_CADENCE).await;
        };
        if let Some(reader) = self.reader.take() {
            reader.join().expect("stderr reader");
        }
        (status, self.stderr())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.is_running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn plan_count(dir: &Path) -> usize {
    list_plan_files(dir).map(|files| files.len()).unwrap_or(0)
}

fn assert_valid_latest(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("latest.json")).expect("latest.json");
    read_plan(&text).expect("latest.json is a valid plan");
    text
}

/// The macaroon must not appear in stderr: raw, hex (either case), base64 or Debug-printed.
fn assert_macaroon_never_logged(stderr: &[u8], macaroon: &[u8]) {
    common::assert_macaroon_absent(stderr, macaroon, "on stderr");
}

/// Trace-level output really includes the gRPC transport (so the check above covers it).
fn assert_transport_traced(stderr: &str) {
    assert!(stderr.contains("TRACE"), "RUST_LOG=trace took effect");
    assert!(stderr.contains("h2::"), "h2's trace events are on stderr");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_with_a_bad_config_keeps_the_old_one_and_sigterm_exits_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim_in(dir.path(), 8, 31).await;
    let plan_dir = dir.path().join("plans");
    let config = dir.path().join("dustwatch.toml");
    std::fs::write(&config, config_text(&plan_dir, "100ms", "")).expect("config");
    let mut daemon = Daemon::spawn(&config, &lnd_env(&sim, "trace"));

    daemon
        .wait_until("latest.json", |_| plan_dir.join("latest.json").exists())
        .await;
    assert_valid_latest(&plan_dir);

    // A reload with invalid TOML is refused and the daemon goes on with the old settings.
    std::fs::write(&config, "[poll\ninterval = \n").expect("break the config");
    daemon.signal("HUP");
    daemon
        .wait_until("the reload failure on stderr", |d| {
            d.stderr()
                .contains("reload failed; keeping the previous configuration")
        })
        .await;
    let failure_line = daemon
        .stderr()
        .lines()
        .find(|l| l.contains("reload failed"))
        .map(str::to_string)
        .expect("the line");
    assert!(failure_line.contains("ERROR"), "{failure_line}");
    assert!(
        failure_line.contains(&config.display().to_string()),
        "names the file: {failure_line}"
    );
    let at_reload = plan_count(&plan_dir);
    daemon
        .wait_until("plans written after the failed reload", |_| {
            plan_count(&plan_dir) >= at_reload + 2
        })
        .await;
    assert!(daemon.is_running());

    // A good configuration is applied on the next SIGHUP: plans move to the new directory.
    let new_plan_dir = dir.path().join("plans-2");
    std::fs::write(&config, config_text(&new_plan_dir, "100ms", "")).expect("fix the config");
    daemon.signal("HUP");
    daemon
        .wait_until("a plan in the new directory", |_| {
            new_plan_dir.join("latest.json").exists()
        })
        .await;
    assert_valid_latest(&new_plan_dir);

    daemon.signal("TERM");
    let (status, stderr) = daemon.wait_exit().await;
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("SIGTERM received"));
    assert!(stderr.contains("dustwatch stopped"));
    assert!(stderr.contains("configuration reloaded"));
    for dir in [&plan_dir, &new_plan_dir] {
        assert!(temp_files(dir).is_empty(), "{:?}", temp_files(dir));
        assert_valid_latest(dir);
    }
    assert_transport_traced(&stderr);
    let macaroon = std::fs::read(sim.macaroon_path()).expect("macaroon");
    assert_macaroon_never_logged(stderr.as_bytes(), &macaroon);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_cycle_exits_zero_without_temp_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim_in(dir.path(), 8, 32).await;
    let plan_dir = dir.path().join("plans");
    let config = dir.path().join("dustwatch.toml");
    // One cycle at start, then only on SIGHUP or channel events; LND calls never time out.
    std::fs::write(
        &config,
        config_text(&plan_dir, "1h", "shutdown_timeout = \"300ms\"")
            + "\n[lnd]\nrequest_timeout = \"1h\"\n",
    )
    .expect("config");
    let mut daemon = Daemon::spawn(&config, &lnd_env(&sim, "trace"));
    daemon
        .wait_until("latest.json", |_| plan_dir.join("latest.json").exists())
        .await;
    let before = assert_valid_latest(&plan_dir);
    // Once subscribed to channel events, the only thing left to slow down is the next cycle.
    daemon
        .wait_until("the event subscription", |_| sim.event_subscribers() > 0)
        .await;

    // LND hangs; a reload starts a cycle at once, which then waits on LND.
    sim.set_delay(Duration::from_secs(3600));
    daemon.signal("HUP");
    // The reload drops the client; the cycle that follows connects afresh, and the transport
    // logs that at debug level. After that line the cycle is waiting on LND.
    let connecting = format!("connecting to {}", sim.addr());
    daemon
        .wait_until("the cycle after the reload", |d| {
            let text = d.stderr();
            text.split_once("configuration reloaded")
                .is_some_and(|(_, after)| after.contains(&connecting))
        })
        .await;
    daemon.signal("TERM");
    let (status, stderr) = daemon.wait_exit().await;
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("stopping: letting the running cycle finish"),
        "a cycle was running"
    );
    assert!(stderr.contains("stopping: abandoned the running cycle"));
    assert!(
        temp_files(&plan_dir).is_empty(),
        "{:?}",
        temp_files(&plan_dir)
    );
    assert_eq!(assert_valid_latest(&plan_dir), before, "the plan is intact");
    assert_eq!(plan_count(&plan_dir), 1);
    assert_transport_traced(&stderr);
    let macaroon = std::fs::read(sim.macaroon_path()).expect("macaroon");
    assert_macaroon_never_logged(stderr.as_bytes(), &macaroon);
    sim.set_delay(Duration::ZERO);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watchdog_is_pinged_between_cycles_however_long_the_interval() {
    // WatchdogSec=300ms against a one-hour interval: a daemon that pings only when a cycle ends
    // would be killed; one that pings on its own timer is not.
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim_in(dir.path(), 4, 41).await;
    let plan_dir = dir.path().join("plans");
    let config = dir.path().join("dustwatch.toml");
    std::fs::write(&config, config_text(&plan_dir, "1h", "")).expect("config");
    let socket_path = dir.path().join("notify.sock");
    let socket = tokio::net::UnixDatagram::bind(&socket_path).expect("notify socket");
    let mut env = lnd_env(&sim, "trace");
    env.push(("NOTIFY_SOCKET".into(), socket_path.display().to_string()));
    env.push(("WATCHDOG_USEC".into(), "300000".into()));
    // sd_notify honours WATCHDOG_USEC only with WATCHDOG_PID naming the process: the shell's
    // pid, which `exec` hands to dustwatch.
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(r#"WATCHDOG_PID=$$ exec "$0" run --config "$1""#)
        .arg(env!("CARGO_BIN_EXE_dustwatch"))
        .arg(&config)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start dustwatch");

    let mut buf = vec![0u8; 4096];
    let mut after_first_cycle = None;
    let result = tokio::time::timeout(PATIENCE, async {
        loop {
            let n = socket.recv(&mut buf).await.expect("recv");
            let message = String::from_utf8_lossy(&buf[..n]).into_owned();
            if message.contains("STATUS=LND ready; last cycle") && after_first_cycle.is_none() {
                after_first_cycle = Some(0);
            } else if message.trim() == "WATCHDOG=1" {
                if let Some(pings) = after_first_cycle.as_mut() {
                    *pings += 1;
                    if *pings >= 4 {
                        return;
                    }
                }
            }
        }
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        result.is_ok(),
        "watchdog pings after the first cycle: {after_first_cycle:?} within {PATIENCE:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_named_latest_json_neither_hangs_run_nor_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim_in(dir.path(), 4, 43).await;
    let plan_dir = dir.path().join("plans");
    std::fs::create_dir(&plan_dir).expect("mkdir");
    let config = dir.path().join("dustwatch.toml");
    std::fs::write(&config, config_text(&plan_dir, "1h", "")).expect("config");

    // `once`: the FIFO is ignored as a previous plan and replaced by the new latest.json.
    mkfifo(&plan_dir.join("latest.json"));
    let mut once = Command::new(env!("CARGO_BIN_EXE_dustwatch"))
        .args(["once", "--config"])
        .arg(&config)
        .env_clear()
        .envs(
            lnd_env(&sim, "trace")
                .into_iter()
                .filter(|(k, _)| k != "RUST_LOG"),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dustwatch once");
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = once.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = once.kill();
            panic!("dustwatch once hangs on a FIFO named latest.json");
        }
        tokio::time::sleep(POLL_CADENCE).await;
    };
    assert!(status.success(), "once: {status}");
    assert_valid_latest(&plan_dir);

    // `run`: starts, writes its first plan over the FIFO, and stops on SIGTERM.
    std::fs::remove_file(plan_dir.join("latest.json")).expect("rm");
    mkfifo(&plan_dir.join("latest.json"));
    let mut daemon = Daemon::spawn(&config, &lnd_env(&sim, "trace"));
    daemon
        .wait_until("a plan written over the FIFO", |_| {
            std::fs::metadata(plan_dir.join("latest.json")).is_ok_and(|m| m.is_file())
        })
        .await;
    assert!(daemon.stderr().contains("a FIFO, not a regular file"));
    daemon.signal("TERM");
    let (status, stderr) = daemon.wait_exit().await;
    assert!(status.success(), "run: {status}\n{stderr}");
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Whether `GET /metrics` on `port` answers 200.
fn scrape_ok(port: u16) -> bool {
    use std::io::Write as _;
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    if stream
        .write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_applies_log_level_and_moves_the_metrics_endpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim_in(dir.path(), 4, 47).await;
    let plan_dir = dir.path().join("plans");
    let config = dir.path().join("dustwatch.toml");
    let (first, second) = (free_port(), free_port());
    let config_with = |level: &str, port: u16| {
        format!(
            "{}\n[log]\nlevel = \"{level}\"\n\n[metrics]\nlisten = \"127.0.0.1:{port}\"\n",
            config_text(&plan_dir, "200ms", "")
        )
    };
    std::fs::write(&config, config_with("info", first)).expect("config");
    // log.level only counts without RUST_LOG.
    let env: Vec<(String, String)> = lnd_env(&sim, "trace")
        .into_iter()
        .filter(|(k, _)| k != "RUST_LOG")
        .collect();
    let mut daemon = Daemon::spawn(&config, &env);
    daemon
        .wait_until("metrics on the first port", |_| scrape_ok(first))
        .await;
    assert!(!daemon.stderr().contains("DEBUG"), "info level at start");

    std::fs::write(&config, config_with("debug", second)).expect("config");
    daemon.signal("HUP");
    daemon
        .wait_until("debug lines after the reload", |d| {
            let text = d.stderr();
            text.split_once("reload: log.level applied")
                .is_some_and(|(_, after)| after.contains("DEBUG"))
        })
        .await;
    daemon
        .wait_until("metrics on the second port", |_| scrape_ok(second))
        .await;
    assert!(!scrape_ok(first), "the old endpoint is closed");
    daemon.signal("TERM");
    let (status, stderr) = daemon.wait_exit().await;
    assert!(status.success(), "{status}\n{stderr}");
}
