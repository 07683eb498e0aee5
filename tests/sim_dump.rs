//! `dustwatch sim --dump-lncli DIR` writes a simulated node as `lncli` JSON that
//! `dustwatch analyze` reads back: the public-tools route to the performance figures.

use dustwatch::plan::read_plan;

mod common;

use common::dustwatch;

#[test]
fn a_dumped_node_is_analysed_offline_with_every_channel() {
    let root = tempfile::tempdir().expect("tempdir");
    let data = root.path().join("sim");
    let out = root.path().join("lncli");
    let dumped = dustwatch(&[
        "sim",
        "--channels",
        "60",
        "--seed",
        "3",
        "--data-dir",
        data.to_str().expect("utf-8"),
        "--dump-lncli",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(dumped.status.code(), Some(0), "{dumped:?}");
    let listed = String::from_utf8_lossy(&dumped.stdout);
    for name in [
        "listchannels.json",
        "getinfo.json",
        "pendingchannels.json",
        "feereport.json",
    ] {
        assert!(out.join(name).is_file(), "{name} missing");
        assert!(listed.contains(name), "{listed}");
    }
    // Dumping does not serve: no TLS identity was needed.
    assert!(!data.join("tls.cert").exists());

    let file = |name: &str| out.join(name).to_str().expect("utf-8").to_string();
    let analysed = dustwatch(&[
        "analyze",
        "--listchannels",
        &file("listchannels.json"),
        "--getinfo",
        &file("getinfo.json"),
        "--pendingchannels",
        &file("pendingchannels.json"),
        "--feereport",
        &file("feereport.json"),
        "--json",
    ]);
    assert_eq!(analysed.status.code(), Some(0), "{analysed:?}");
    let plan = read_plan(&String::from_utf8_lossy(&analysed.stdout)).expect("a v1 plan");
    assert_eq!(plan.channels.len(), 60);
    assert!(
        plan.source.warnings.is_empty(),
        "{:?}",
        plan.source.warnings
    );
    assert!(plan.source.block_height.is_some());
    assert!(plan.summary.pending_channels.opening >= 1);
}
