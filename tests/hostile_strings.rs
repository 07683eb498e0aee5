//! Strings LND hands over (a peer's alias is chosen by the peer) carrying terminal escapes, CR,
//! LF and a bidi override, through the simulated LND and the real binary: `once` and
//! `plan show` print them escaped, stderr carries none raw, and the JSON plan keeps them exact.

use std::process::{Command, Output, Stdio};

mod common;

use common::{lnd_env, start_sim_in};

/// Sets the terminal title, clears the screen, returns to the line start, forges a line and
/// reverses what follows; also a C1 CSI.
const HOSTILE: &str = "evil\u{1b}]0;pwned\u{7}\u{1b}[2J\r\nFAKE LINE\u{202e}gnp.exe\u{9b}31m";

async fn dustwatch(args: Vec<String>, env: Vec<(String, String)>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_dustwatch"))
            .args(&args)
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .output()
            .expect("run dustwatch")
    })
    .await
    .expect("join")
}

/// No raw control or bidi character other than line breaks, and no forged line.
fn assert_escaped(what: &str, text: &str) {
    for bad in ['\u{1b}', '\r', '\u{7}', '\u{9b}', '\u{202e}'] {
        assert!(
            !text.contains(bad),
            "{what} contains raw {:?}:\n{text}",
            bad
        );
    }
    assert!(
        !text.lines().any(|line| line.starts_with("FAKE LINE")),
        "{what} has a line forged by an LF in an alias:\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lnd_strings_are_escaped_in_text_and_logs_and_exact_in_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim_in(dir.path(), 12, 5).await;
    sim.set_untrusted_strings(HOSTILE, HOSTILE, HOSTILE);
    let plan_dir = dir.path().join("plans");
    let config = dir.path().join("dustwatch.toml");
    std::fs::write(
        &config,
        format!(
            "[output]\nplan_dir = {:?}\n",
            plan_dir.display().to_string()
        ),
    )
    .expect("config");

    let once = dustwatch(
        vec![
            "once".into(),
            "--config".into(),
            config.display().to_string(),
        ],
        lnd_env(&sim, "debug"),
    )
    .await;
    let stdout = String::from_utf8_lossy(&once.stdout);
    let stderr = String::from_utf8_lossy(&once.stderr);
    assert!(once.status.success(), "once failed: {stderr}");
    assert_escaped("once's output", &stdout);
    assert_escaped("once's log", &stderr);
    assert!(
        stdout.contains(r"evil\x1b]0;pwned\x07\x1b[2J\r\nFAKE LINE\u{202e}gnp.exe\u{9b}31m"),
        "the alias is shown, escaped:\n{stdout}"
    );

    // The plan file keeps LND's strings exactly.
    let latest = std::fs::read_to_string(plan_dir.join("latest.json")).expect("latest.json");
    let plan: serde_json::Value = serde_json::from_str(&latest).expect("json");
    assert_eq!(plan["source"]["node_alias"], HOSTILE);
    assert_eq!(plan["channels"][0]["peer_alias"], HOSTILE);

    let show = dustwatch(
        vec!["plan".into(), "show".into(), plan_dir.display().to_string()],
        vec![],
    )
    .await;
    assert!(show.status.success());
    assert_escaped("plan show", &String::from_utf8_lossy(&show.stdout));
    assert_eq!(
        show.stdout, once.stdout,
        "plan show prints what once printed"
    );

    let files = dustwatch::sink::plan_file::list_plan_files(&plan_dir).expect("list");
    let diff = dustwatch(
        vec![
            "plan".into(),
            "diff".into(),
            files[0].display().to_string(),
            plan_dir.join("latest.json").display().to_string(),
        ],
        vec![],
    )
    .await;
    assert!(
        diff.status.success(),
        "{}",
        String::from_utf8_lossy(&diff.stderr)
    );
    assert_escaped("plan diff", &String::from_utf8_lossy(&diff.stdout));
    sim.shutdown().await;
}
