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
use dustwatch::sim::{SimConfig, SimHandle, SimNode};
use dustwatch::sink::plan_file::list_plan_files;
use tokio::time::Instant;

/// Upper bound on any wait: only reached when the behaviour under test is broken.
const PATIENCE: Duration = Duration::from_secs(180);

/// How often the tests look at the daemon's files and stderr.
const POLL_CADENCE: Duration = Duration::from_millis(20);

async fn start_sim(dir: &Path, channels: usize, seed: u64) -> SimHandle {
    SimNode::start(SimConfig {
        channels,
        seed,
        data_dir: dir.join("lnd"),
        port: None,
    })
    .await
    .expect("simulator starts")
}

/// Environment that points the daemon at `sim` (the configuration file holds the rest).
/// Nothing else is inherited, so the developer's `DUSTWATCH_*` variables cannot interfere.
fn lnd_env(sim: &SimHandle) -> Vec<(String, String)> {
    vec![
        ("DUSTWATCH_LND__HOST".into(), "127.0.0.1".into()),
        ("DUSTWATCH_LND__PORT".into(), sim.addr().port().to_string()),
        (
            "DUSTWATCH_LND__TLS_CERT_PATH".into(),
            sim.cert_path().display().to_string(),
        ),
        (
            "DUSTWATCH_LND__MACAROON_PATH".into(),
            sim.macaroon_path().display().to_string(),
        ),
        ("RUST_LOG".into(), "trace".into()),
    ]
}

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

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with(".plan-") || name.ends_with(".tmp"))
                .collect()
        })
        .unwrap_or_default()
}

fn assert_valid_latest(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("latest.json")).expect("latest.json");
    read_plan(&text).expect("latest.json is a valid plan");
    text
}

/// The macaroon must not appear in stderr: raw, hex (either case), base64 or Debug-printed.
fn assert_macaroon_never_logged(stderr: &[u8], macaroon: &[u8]) {
    use base64::Engine as _;
    assert!(!stderr.is_empty());
    assert!(
        !stderr.windows(macaroon.len()).any(|w| w == macaroon),
        "raw macaroon bytes on stderr"
    );
    let text = String::from_utf8_lossy(stderr).to_lowercase();
    for (form, needle) in [
        ("hex", hex::encode(macaroon)),
        (
            "base64",
            base64::engine::general_purpose::STANDARD.encode(macaroon),
        ),
        ("Debug", format!("{macaroon:?}")),
    ] {
        assert!(
            !text.contains(&needle.to_lowercase()),
            "the macaroon ({form}) is on stderr"
        );
    }
}

/// Trace-level output really includes the gRPC transport (so the check above covers it).
fn assert_transport_traced(stderr: &str) {
    assert!(stderr.contains("TRACE"), "RUST_LOG=trace took effect");
    assert!(stderr.contains("h2::"), "h2's trace events are on stderr");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_with_a_bad_config_keeps_the_old_one_and_sigterm_exits_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(dir.path(), 8, 31).await;
    let plan_dir = dir.path().join("plans");
    let config = dir.path().join("dustwatch.toml");
    std::fs::write(&config, config_text(&plan_dir, "100ms", "")).expect("config");
    let mut daemon = Daemon::spawn(&config, &lnd_env(&sim));

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
    let sim = start_sim(dir.path(), 8, 32).await;
    let plan_dir = dir.path().join("plans");
    let config = dir.path().join("dustwatch.toml");
    // One cycle at start, then only on SIGHUP or channel events; LND calls never time out.
    std::fs::write(
        &config,
        config_text(&plan_dir, "1h", "shutdown_timeout = \"300ms\"")
            + "\n[lnd]\nrequest_timeout = \"1h\"\n",
    )
    .expect("config");
    let mut daemon = Daemon::spawn(&config, &lnd_env(&sim));
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
