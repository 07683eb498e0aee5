//! Black-box tests of the metrics endpoint: a plan from the real analyzer is observed, the
//! endpoint is scraped over real HTTP on 127.0.0.1, the OpenMetrics text is parsed, and every
//! sample is checked against the plan it came from.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use dustwatch::analyze::analyze;
use dustwatch::model::{
    Channel, ExposureLimitSource, Htlc, NodeExposureLimit, NodeSnapshot, PendingChannel,
    PendingKind, SnapshotSource,
};
use dustwatch::plan::Plan;
use dustwatch::settings::AnalysisSettings;
use dustwatch::sink::metrics::{serve, Metrics, DRAIN_TIMEOUT, LND_STATES};
use dustwatch::testkit;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const BLOCK_HEIGHT: u32 = 850_000;
/// The node's own limit, as GetDebugInfo would report it: low enough that the dusty channel
/// below comes close to it.
const NODE_LIMIT_SAT: u64 = 20_000;
/// An alias that needs escaping and contains the characters a naive parser splits on.
const AWKWARD_ALIAS: &str = "ACINQ, \"the\" node=1 {x}";

// ---------------------------------------------------------------------------------------------
// A small, consistent node.

/// A busy kit channel of 1,000,000 sat at 2,500 sat/kw, carrying `htlcs`.
fn channel(chan_id: u64, alias: &str, local_sat: u64, htlcs: Vec<Htlc>) -> Channel {
    let mut ch = Channel {
        channel_point: format!("{chan_id:064x}:1").into(),
        remote_pubkey: format!("03{chan_id:064x}").into(),
        peer_alias: alias.into(),
        fee_per_kw: 2_500,
        total_satoshis_sent: 2_000_000,
        total_satoshis_received: 1_500_000,
        num_updates: 1_000,
        lifetime_secs: 60 * 86_400,
        uptime_secs: 59 * 86_400,
        pending_htlcs: htlcs,
        local_policy: None,
        ..testkit::channel(chan_id, 1_000_000, local_sat)
    };
    testkit::settle_balances(&mut ch);
    ch
}

fn htlc(htlc_index: u64, incoming: bool, amount_sat: u64, expires_in: u32) -> Htlc {
    testkit::htlc(htlc_index, incoming, amount_sat, BLOCK_HEIGHT + expires_in)
}

fn snapshot(channels: Vec<Channel>) -> NodeSnapshot {
    let mut snap = NodeSnapshot::empty(
        1_800_000_000,
        SnapshotSource {
            kind: "test".into(),
            detail: "tests/metrics.rs".into(),
        },
    );
    snap.node.block_height = Some(BLOCK_HEIGHT);
    snap.node.synced_to_chain = true;
    snap.node.alias = "alpha".into();
    snap.node_exposure_limit = Some(NodeExposureLimit {
        sat: NODE_LIMIT_SAT,
        source: ExposureLimitSource::LndChannelMaxFeeExposure,
    });
    snap.pending_channels = vec![PendingChannel {
        limbo_balance_sat: 150_000,
        blocks_til_maturity: Some(80),
        ..testkit::pending_channel(PendingKind::ForceClosing, 99, 400_000, 150_000)
    }];
    snap.channels = channels;
    snap.normalize();
    snap
}

/// Three channels: one carrying several dust HTLCs (one close to expiry) and a big one, one
/// quiet, one whose peer alias needs escaping.
fn node_plan() -> Plan {
    analyze(
        &snapshot(vec![
            channel(
                770_000_000_000_001,
                "dusty",
                400_000,
                vec![
                    htlc(0, false, 150, 12),
                    htlc(1, true, 300, 90),
                    htlc(2, false, 350, 40),
                    htlc(3, true, 120_000, 300),
                    // Dust on the peer's commitment (limit 573) but not on ours (354).
                    htlc(4, true, 450, 200),
                ],
            ),
            channel(770_000_000_000_002, "quiet", 500_000, Vec::new()),
            channel(770_000_000_000_003, AWKWARD_ALIAS, 200_000, Vec::new()),
        ]),
        &AnalysisSettings::default(),
        None,
    )
}

// ---------------------------------------------------------------------------------------------
// A raw HTTP/1.1 client and an OpenMetrics text parser, kept small on purpose.

struct HttpResponse {
    status: u16,
    headers: BTreeMap<String, String>,
    body: String,
}

async fn http(addr: SocketAddr, method: &str, path: &str) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    parse_response(&String::from_utf8(raw).expect("utf-8 response"))
}

fn parse_response(raw: &str) -> HttpResponse {
    let (head, body) = raw.split_once("\r\n\r\n").expect("header/body separator");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(':').expect("header line");
            (k.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    HttpResponse {
        status,
        headers,
        body: body.to_string(),
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

#[derive(Debug, Default)]
struct Exposition {
    /// Family name → type, from `# TYPE` lines.
    types: BTreeMap<String, String>,
    samples: Vec<Sample>,
}

impl Exposition {
    /// Samples named `name` whose labels include every pair of `labels`.
    fn find(&self, name: &str, labels: &[(&str, &str)]) -> Vec<&Sample> {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .collect()
    }

    /// The one sample named `name` with exactly these labels.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found: Vec<_> = self
            .find(name, labels)
            .into_iter()
            .filter(|s| s.labels.len() == labels.len())
            .collect();
        assert_eq!(found.len(), 1, "{name}{labels:?}: {found:?}");
        found[0].value
    }
}

/// Parses the OpenMetrics text format as far as the endpoint uses it: `# TYPE` lines, and
/// samples `name{k="v",...} value` with escaped label values.
fn parse_exposition(text: &str) -> Exposition {
    assert!(text.ends_with("# EOF\n"), "no # EOF terminator");
    let mut out = Exposition::default();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE line");
            let previous = out.types.insert(name.to_string(), kind.to_string());
            assert!(previous.is_none(), "family {name} described twice");
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        out.samples.push(parse_sample(line));
    }
    out
}

fn parse_sample(line: &str) -> Sample {
    let name_end = line
        .find(['{', ' '])
        .unwrap_or_else(|| panic!("no value in {line:?}"));
    let name = line[..name_end].to_string();
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(after_brace) = rest.strip_prefix('{') {
        let mut chars = after_brace.char_indices().peekable();
        let mut consumed = None;
        loop {
            // key
            let mut key = String::new();
            for (i, c) in chars.by_ref() {
                if c == '=' {
                    break;
                }
                if c == '}' && key.is_empty() {
                    consumed = Some(i + 1);
                    break;
                }
                key.push(c);
            }
            if consumed.is_some() {
                break;
            }
            assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "in {line:?}");
            let mut value = String::new();
            loop {
                let (_, c) = chars
                    .next()
                    .unwrap_or_else(|| panic!("open quote in {line:?}"));
                match c {
                    '"' => break,
                    '\\' => match chars.next().map(|(_, c)| c) {
                        Some('\\') => value.push('\\'),
                        Some('"') => value.push('"'),
                        Some('n') => value.push('\n'),
                        other => panic!("bad escape {other:?} in {line:?}"),
                    },
                    c => value.push(c),
                }
            }
            assert!(
                labels.insert(key.clone(), value).is_none(),
                "label {key} twice in {line:?}"
            );
            match chars.next() {
                Some((_, ',')) => continue,
                Some((i, '}')) => {
                    consumed = Some(i + 1);
                    break;
                }
                other => panic!("unexpected {other:?} after a label value in {line:?}"),
            }
        }
        rest = &after_brace[consumed.expect("closing brace")..];
    }
    let value = rest
        .trim()
        .split(' ')
        .next()
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("bad value in {line:?}"));
    Sample {
        name,
        labels,
        value,
    }
}

// ---------------------------------------------------------------------------------------------
// A served endpoint with its shutdown handle.

struct Endpoint {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

async fn start(metrics: Metrics) -> Endpoint {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, metrics, stopped));
    Endpoint { addr, stop, task }
}

impl Endpoint {
    async fn scrape(&self) -> Exposition {
        let response = http(self.addr, "GET", "/metrics").await;
        assert_eq!(response.status, 200, "{}", response.body);
        assert!(
            response.headers["content-type"].starts_with("application/openmetrics-text"),
            "{:?}",
            response.headers
        );
        parse_exposition(&response.body)
    }

    async fn shutdown(self) {
        self.stop.send(()).expect("server still running");
        self.task.await.expect("serve task");
    }
}

fn n(v: impl Into<f64>) -> f64 {
    v.into()
}

/// Sat amounts as the text format carries them (exact: test values are far below 2^53).
fn u(v: u64) -> f64 {
    v as f64
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn scraped_metrics_match_the_plan() {
    let plan = node_plan();
    let metrics = Metrics::new();
    metrics.observe_plan("alpha", &plan);
    metrics.observe_cycle("alpha", Duration::from_millis(1_250), true, 1_800_000_002);
    metrics.set_lnd_state("alpha", "server_active");
    let endpoint = start(metrics).await;
    let scraped = endpoint.scrape().await;

    // The fixture is what it claims to be.
    let dusty = &plan.channels[0];
    assert_eq!(&*dusty.peer_alias, "dusty");
    assert_eq!(dusty.dust.local_commitment.trimmed_htlc_count, 3);
    assert_eq!(dusty.dust.remote_commitment.trimmed_htlc_count, 4);
    assert_ne!(
        dusty.dust.local_commitment.fee_exposure_sat,
        dusty.dust.remote_commitment.fee_exposure_sat
    );
    assert!(dusty.dust.exposure_headroom_sat < i64::try_from(NODE_LIMIT_SAT).unwrap());

    // Per channel: every series, with node/chan_id/peer_alias labels, equal to the plan.
    for ch in &plan.channels {
        let chan_id = ch.chan_id.to_string();
        let id = [
            ("node", "alpha"),
            ("chan_id", chan_id.as_str()),
            ("peer_alias", ch.peer_alias.as_ref()),
            ("peer", ch.peer_pubkey.as_ref()),
        ];
        for (commitment, report) in [
            ("local", &ch.dust.local_commitment),
            ("remote", &ch.dust.remote_commitment),
        ] {
            let labels = [id[0], id[1], id[2], id[3], ("commitment", commitment)];
            assert_eq!(
                scraped.value("dustwatch_channel_fee_exposure_sat", &labels),
                u(report.fee_exposure_sat)
            );
            assert_eq!(
                scraped.value("dustwatch_channel_trimmed_htlc_sat", &labels),
                u(report.trimmed_htlc_sat)
            );
            assert_eq!(
                scraped.value("dustwatch_channel_trimmed_htlcs", &labels),
                n(report.trimmed_htlc_count)
            );
        }
        assert_eq!(
            scraped.value("dustwatch_channel_exposure_headroom_sat", &id),
            // i64 → f64 is exact for these small values.
            ch.dust.exposure_headroom_sat as f64
        );
        assert_eq!(
            scraped.value("dustwatch_channel_exposure_ratio", &id),
            ch.dust.exposure_ratio
        );
        assert_eq!(
            scraped.value("dustwatch_channel_health_score", &id),
            ch.health.health_score
        );
        assert_eq!(
            scraped.value("dustwatch_channel_force_close_fees_to_miners_sat", &id),
            u(ch.force_close.fees_to_miners_sat)
        );
        let nearest = ch.htlcs.iter().filter_map(|h| h.blocks_to_expiry).min();
        let expiry = scraped.find("dustwatch_channel_nearest_htlc_expiry_blocks", &id);
        match nearest {
            Some(blocks) => {
                assert_eq!(expiry.len(), 1);
                assert_eq!(expiry[0].value, blocks as f64);
            }
            None => assert!(expiry.is_empty(), "{expiry:?}"),
        }
    }
    // The soonest HTLC of the dusty channel expires in 12 blocks.
    assert_eq!(
        scraped.value(
            "dustwatch_channel_nearest_htlc_expiry_blocks",
            &[
                ("node", "alpha"),
                ("chan_id", "770000000000001"),
                ("peer_alias", "dusty"),
                ("peer", &format!("03{:064x}", 770000000000001u64))
            ]
        ),
        12.0
    );
    // The awkward alias survived escaping and parsing intact.
    assert_eq!(
        scraped
            .find(
                "dustwatch_channel_health_score",
                &[("peer_alias", AWKWARD_ALIAS)]
            )
            .len(),
        1
    );

    // Per node.
    let node = [("node", "alpha")];
    let s = &plan.summary;
    assert_eq!(
        scraped.value("dustwatch_capacity_sat", &node),
        u(s.total_capacity_sat)
    );
    assert_eq!(scraped.value("dustwatch_capacity_sat", &node), 3_000_000.0);
    assert_eq!(
        scraped.value("dustwatch_dust_sat", &node),
        u(s.total_dust_sat)
    );
    assert_eq!(scraped.value("dustwatch_dust_ratio", &node), s.dust_ratio);
    assert_eq!(
        scraped.value("dustwatch_local_balance_sat", &node),
        u(s.total_local_balance_sat)
    );
    assert_eq!(
        scraped.value("dustwatch_highest_fee_exposure_sat", &node),
        u(s.highest_fee_exposure_sat)
    );
    assert_eq!(
        scraped.value(
            "dustwatch_max_fee_exposure_sat",
            &[
                ("node", "alpha"),
                ("source", "lnd_channel_max_fee_exposure")
            ]
        ),
        u(NODE_LIMIT_SAT)
    );
    assert_eq!(
        scraped.value("dustwatch_active_channels", &node),
        n(s.active_channels)
    );
    for (status, count) in [
        ("healthy", s.channels_by_status.healthy),
        ("attention_needed", s.channels_by_status.attention_needed),
        ("unhealthy", s.channels_by_status.unhealthy),
    ] {
        assert_eq!(
            scraped.value(
                "dustwatch_channels",
                &[("node", "alpha"), ("status", status)]
            ),
            n(count)
        );
    }
    assert_eq!(
        scraped.value(
            "dustwatch_pending_channels",
            &[("node", "alpha"), ("state", "force_closing")]
        ),
        1.0
    );
    assert_eq!(
        scraped.value("dustwatch_limbo_balance_sat", &node),
        150_000.0
    );

    // Actions by kind add up to the plan's distinct actions, kind by kind.
    let mut by_kind: BTreeMap<String, f64> = BTreeMap::new();
    for action in plan.all_actions() {
        *by_kind.entry(action.kind.as_str().to_string()).or_default() += 1.0;
    }
    let actions = scraped.find("dustwatch_actions", &node);
    assert_eq!(actions.len(), 8, "one series per action kind");
    for sample in actions {
        let kind = &sample.labels["kind"];
        assert_eq!(
            sample.value,
            by_kind.get(kind).copied().unwrap_or(0.0),
            "{kind}"
        );
    }
    assert!(
        !by_kind.is_empty(),
        "fixture: the plan recommends something"
    );

    // Alerts by code and severity.
    let mut by_code: BTreeMap<(String, String), f64> = BTreeMap::new();
    for alert in &plan.alerts {
        *by_code
            .entry((
                alert.code.as_str().to_string(),
                alert.severity.as_str().to_string(),
            ))
            .or_default() += 1.0;
    }
    assert!(!by_code.is_empty(), "fixture: the plan has alerts");
    let alerts = scraped.find("dustwatch_alerts", &node);
    assert_eq!(alerts.len(), 26, "every code × severity");
    for sample in alerts {
        let key = (
            sample.labels["code"].clone(),
            sample.labels["severity"].clone(),
        );
        assert_eq!(
            sample.value,
            by_code.get(&key).copied().unwrap_or(0.0),
            "{key:?}"
        );
    }

    // Cycle, plan time and LND state.
    assert_eq!(
        scraped.value("dustwatch_last_cycle_duration_seconds", &node),
        1.25
    );
    assert_eq!(scraped.value("dustwatch_last_cycle_success", &node), 1.0);
    assert_eq!(
        scraped.value("dustwatch_last_cycle_timestamp_seconds", &node),
        1_800_000_002.0
    );
    assert_eq!(
        scraped.value("dustwatch_plan_timestamp_seconds", &node),
        1_800_000_000.0
    );
    assert_eq!(
        scraped.value(
            "dustwatch_cycles_total",
            &[("node", "alpha"), ("result", "ok")]
        ),
        1.0
    );
    let states = scraped.find("dustwatch_lnd_state", &node);
    assert_eq!(states.len(), LND_STATES.len());
    for sample in states {
        let expected = if sample.labels["state"] == "server_active" {
            1.0
        } else {
            0.0
        };
        assert_eq!(sample.value, expected, "{sample:?}");
    }

    endpoint.shutdown().await;
}

#[tokio::test]
async fn names_follow_prometheus_conventions_and_are_documented() {
    let metrics = Metrics::new();
    metrics.observe_plan("alpha", &node_plan());
    metrics.observe_cycle("alpha", Duration::from_secs(2), false, 1_800_000_005);
    metrics.set_lnd_state("alpha", "locked");
    let endpoint = start(metrics).await;
    let scraped = endpoint.scrape().await;
    endpoint.shutdown().await;

    let docs_path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/metrics.md");
    let docs = std::fs::read_to_string(docs_path).expect("docs/metrics.md");

    assert!(scraped.types.len() > 20, "{:?}", scraped.types);
    for (family, kind) in &scraped.types {
        assert!(family.starts_with("dustwatch_"), "{family}");
        let exposed = match kind.as_str() {
            "counter" => format!("{family}_total"),
            "gauge" => {
                assert!(!family.ends_with("_total"), "gauge {family} ends in _total");
                family.clone()
            }
            other => panic!("unexpected type {other} for {family}"),
        };
        assert!(
            docs.contains(&format!("`{exposed}`")),
            "{exposed} is not documented in docs/metrics.md"
        );
    }
    // Every sample belongs to a described family (counters carry the _total suffix).
    for sample in &scraped.samples {
        let family = match sample.name.strip_suffix("_total") {
            Some(base) if scraped.types.get(base).map(String::as_str) == Some("counter") => base,
            _ => sample.name.as_str(),
        };
        assert!(
            scraped.types.contains_key(family),
            "{} has no # TYPE",
            sample.name
        );
        assert!(sample.labels.contains_key("node"), "{sample:?}");
    }
    // Units are in the names: every family with a sat/seconds/blocks value says so.
    for family in [
        "dustwatch_channel_fee_exposure_sat",
        "dustwatch_last_cycle_duration_seconds",
        "dustwatch_channel_nearest_htlc_expiry_blocks",
    ] {
        assert!(scraped.types.contains_key(family), "{family}");
    }
    assert_eq!(
        scraped.value(
            "dustwatch_cycles_total",
            &[("node", "alpha"), ("result", "error")]
        ),
        1.0
    );
    assert_eq!(
        scraped.value("dustwatch_last_cycle_success", &[("node", "alpha")]),
        0.0
    );
}

#[tokio::test]
async fn closed_channels_and_other_nodes_over_http() {
    let metrics = Metrics::new();
    let endpoint = start(metrics.clone()).await;
    metrics.observe_plan("alpha", &node_plan());
    metrics.observe_plan(
        "beta",
        &analyze(
            &snapshot(vec![channel(
                880_000_000_000_001,
                "far",
                600_000,
                Vec::new(),
            )]),
            &AnalysisSettings::default(),
            None,
        ),
    );
    let before = endpoint.scrape().await;
    assert_eq!(
        before
            .find("dustwatch_channel_health_score", &[("node", "alpha")])
            .len(),
        3
    );
    assert_eq!(
        before
            .find("dustwatch_channel_health_score", &[("node", "beta")])
            .len(),
        1
    );

    // alpha's dusty channel closed: all its series go, beta's stay.
    let after_close = analyze(
        &snapshot(vec![
            channel(770_000_000_000_002, "quiet", 500_000, Vec::new()),
            channel(770_000_000_000_003, AWKWARD_ALIAS, 200_000, Vec::new()),
        ]),
        &AnalysisSettings::default(),
        None,
    );
    metrics.observe_plan("alpha", &after_close);
    let after = endpoint.scrape().await;
    let gone: Vec<_> = after
        .samples
        .iter()
        .filter(|s| s.labels.get("chan_id").map(String::as_str) == Some("770000000000001"))
        .collect();
    assert!(gone.is_empty(), "{gone:?}");
    assert_eq!(
        after
            .find("dustwatch_channel_health_score", &[("node", "alpha")])
            .len(),
        2
    );
    assert_eq!(
        after
            .find("dustwatch_channel_health_score", &[("node", "beta")])
            .len(),
        1
    );
    let channel_series = |e: &Exposition, node: &str| {
        e.samples
            .iter()
            .filter(|s| s.labels.get("node").map(String::as_str) == Some(node))
            .filter(|s| s.labels.contains_key("chan_id"))
            .map(|s| (s.name.clone(), s.labels.clone()))
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(
        channel_series(&before, "beta"),
        channel_series(&after, "beta")
    );
    assert!(channel_series(&after, "alpha").len() < channel_series(&before, "alpha").len());

    endpoint.shutdown().await;
}

#[tokio::test]
async fn other_paths_and_methods_are_refused() {
    let endpoint = start(Metrics::new()).await;
    let not_found = http(endpoint.addr, "GET", "/").await;
    assert_eq!(not_found.status, 404);
    assert!(not_found.body.contains("/metrics"), "{}", not_found.body);
    assert_eq!(http(endpoint.addr, "GET", "/metrics/x").await.status, 404);
    assert_eq!(http(endpoint.addr, "GET", "/favicon.ico").await.status, 404);
    let post = http(endpoint.addr, "POST", "/metrics").await;
    assert_eq!(post.status, 405);
    assert_eq!(post.headers["allow"], "GET, HEAD");
    // An empty registry still answers with a valid exposition.
    let empty = endpoint.scrape().await;
    assert!(empty.samples.is_empty());
    endpoint.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_idle_connections_and_stops_listening() {
    let metrics = Metrics::new();
    metrics.observe_plan("alpha", &node_plan());
    let endpoint = start(metrics).await;
    let addr = endpoint.addr;

    // A keep-alive client that has been answered and stays connected, as Prometheus does.
    let mut client = TcpStream::connect(addr).await.expect("connect");
    client
        .write_all(format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let response = read_one_response(&mut client).await;
    assert_eq!(response.status, 200);
    assert!(!parse_exposition(&response.body).samples.is_empty());

    let started = Instant::now();
    endpoint.shutdown().await;
    // Graceful: the idle connection was closed at once, not dropped after the drain timeout.
    assert!(started.elapsed() < DRAIN_TIMEOUT, "{:?}", started.elapsed());
    let mut rest = Vec::new();
    let read = client
        .read_to_end(&mut rest)
        .await
        .expect("read after shutdown");
    assert_eq!(
        read, 0,
        "the server closed the connection without sending more"
    );

    let refused = TcpStream::connect(addr).await;
    assert!(refused.is_err(), "still accepting after shutdown");
}

/// Reads exactly one response (headers, then `content-length` bytes) from a kept-alive connection.
async fn read_one_response(stream: &mut TcpStream) -> HttpResponse {
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let read = stream.read(&mut buf).await.expect("read");
        assert!(read > 0, "connection closed mid-response");
        raw.extend_from_slice(&buf[..read]);
        let text = String::from_utf8_lossy(&raw);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .expect("content-length");
            if body.len() >= length {
                return parse_response(&text);
            }
        }
    }
}
