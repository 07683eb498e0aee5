//! The shipped Grafana dashboard and Prometheus rules name only metrics and labels dustwatch
//! exports: both files are parsed, every PromQL expression in them is parsed with a PromQL
//! parser, and each metric name and label it uses is looked up in what the real encoder writes
//! for a node read from the simulator (so a renamed metric or label fails here).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use dustwatch::analyze::analyze;
use dustwatch::lnd::client::LndClient;
use dustwatch::model::link_failures::LinkFailure;
use dustwatch::settings::{AnalysisSettings, Settings};
use dustwatch::sim::{SimConfig, SimNode};
use dustwatch::sink::metrics::Metrics;
use promql_parser::label::Matchers;
use promql_parser::parser::{self, Expr, LabelModifier, VectorMatchCardinality};

/// Series and labels Prometheus itself adds (the `up` series, target labels).
const PROMETHEUS_SERIES: &[&str] = &["up"];
const PROMETHEUS_LABELS: &[&str] = &["instance", "job"];

/// Metric name (as sampled, counters with `_total`) → every label it carries.
async fn exported() -> BTreeMap<String, BTreeSet<String>> {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = SimNode::start(SimConfig {
        channels: 40,
        seed: 7,
        data_dir: dir.path().join("lnd"),
        port: None,
    })
    .await
    .expect("simulator starts");
    let mut settings = Settings::default();
    settings.lnd.host = "127.0.0.1".into();
    settings.lnd.port = sim.addr().port();
    settings.lnd.tls_cert_path = sim.cert_path().to_path_buf();
    settings.lnd.macaroon_path = sim.macaroon_path().to_path_buf();
    let mut client = LndClient::new(&settings.lnd).expect("client");
    let snapshot = client.snapshot().await.expect("snapshot");
    let plan = analyze(&snapshot, &AnalysisSettings::default(), None);
    assert!(
        plan.channels.iter().any(|c| !c.htlcs.is_empty()),
        "fixture: some channel has HTLCs, so the expiry series exists"
    );

    let metrics = Metrics::new();
    metrics.observe_plan("n", &plan);
    metrics.observe_cycle(
        "n",
        std::time::Duration::from_millis(5),
        true,
        1_700_000_000,
    );
    metrics.set_lnd_state("n", "server_active");
    metrics.observe_link_failure(
        "n",
        &LinkFailure {
            incoming_chan_id: 1,
            outgoing_chan_id: plan.channels[0].chan_id,
            event_type: 3,
            wire_failure: 15,
            failure_detail: 1,
        },
    );

    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in metrics.encode().lines().filter(|l| !l.starts_with('#')) {
        let name_end = line.find(['{', ' ']).expect("a sample line");
        let labels = out.entry(line[..name_end].to_string()).or_default();
        if let Some(body) = line[name_end..]
            .strip_prefix('{')
            .and_then(|rest| rest.split_once("} "))
            .map(|(body, _)| body)
        {
            // Label names never contain `=`; values are quoted and escaped, so split only at
            // `",` boundaries after a name.
            let mut rest = body;
            while let Some((name, after)) = rest.split_once("=\"") {
                labels.insert(name.trim_start_matches(',').to_string());
                let mut end = 0;
                let bytes = after.as_bytes();
                while end < bytes.len()
                    && !(bytes[end] == b'"' && (end == 0 || bytes[end - 1] != b'\\'))
                {
                    end += 1;
                }
                rest = &after[(end + 1).min(after.len())..];
            }
        }
    }
    out
}

/// Metric names and label names one expression uses.
#[derive(Debug, Default)]
struct Uses {
    metrics: BTreeSet<String>,
    /// Label names, each with the metrics of its selector (empty for grouping labels).
    labels: Vec<(String, Option<String>)>,
}

fn walk(expr: &Expr, uses: &mut Uses) {
    let grouping = |modifier: &Option<LabelModifier>, uses: &mut Uses| {
        if let Some(m) = modifier {
            for label in &m.labels().labels {
                uses.labels.push((label.clone(), None));
            }
        }
    };
    let selector = |name: &Option<String>, matchers: &Matchers, uses: &mut Uses| {
        let mut metric = name.clone();
        for m in matchers
            .matchers
            .iter()
            .chain(matchers.or_matchers.iter().flatten())
        {
            if m.name == "__name__" {
                metric = Some(m.value.clone());
            } else {
                uses.labels.push((m.name.clone(), metric.clone()));
            }
        }
        if let Some(metric) = &metric {
            uses.metrics.insert(metric.clone());
        }
    };
    match expr {
        Expr::Aggregate(a) => {
            grouping(&a.modifier, uses);
            walk(&a.expr, uses);
            if let Some(p) = &a.param {
                walk(p, uses);
            }
        }
        Expr::Unary(u) => walk(&u.expr, uses),
        Expr::Binary(b) => {
            if let Some(m) = &b.modifier {
                grouping(&m.matching, uses);
                if let VectorMatchCardinality::ManyToOne(l) | VectorMatchCardinality::OneToMany(l) =
                    &m.card
                {
                    for label in &l.labels {
                        uses.labels.push((label.clone(), None));
                    }
                }
            }
            walk(&b.lhs, uses);
            walk(&b.rhs, uses);
        }
        Expr::Paren(p) => walk(&p.expr, uses),
        Expr::Subquery(s) => walk(&s.expr, uses),
        Expr::VectorSelector(v) => selector(&v.name, &v.matchers, uses),
        Expr::MatrixSelector(m) => selector(&m.vs.name, &m.vs.matchers, uses),
        Expr::Call(c) => c.args.args.iter().for_each(|a| walk(a, uses)),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// Problems with one expression: unknown metrics, and labels no metric of it carries.
fn check(expr_text: &str, exported: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let expr = match parser::parse(expr_text) {
        Ok(expr) => expr,
        Err(err) => return vec![format!("does not parse ({err}): {expr_text}")],
    };
    let mut uses = Uses::default();
    walk(&expr, &mut uses);
    let mut problems = Vec::new();
    let known = |m: &str| exported.contains_key(m) || PROMETHEUS_SERIES.contains(&m);
    for metric in &uses.metrics {
        if !known(metric) {
            problems.push(format!("unknown metric {metric} in: {expr_text}"));
        }
    }
    for (label, owner) in &uses.labels {
        if PROMETHEUS_LABELS.contains(&label.as_str()) {
            continue;
        }
        let carried = match owner {
            Some(metric) => exported.get(metric).is_some_and(|l| l.contains(label)),
            // A grouping label must be carried by some metric of the expression.
            None => uses
                .metrics
                .iter()
                .any(|m| exported.get(m).is_some_and(|l| l.contains(label))),
        };
        if !carried {
            problems.push(format!(
                "label {label} is not exported with {owner:?} in: {expr_text}"
            ));
        }
    }
    if uses.metrics.is_empty() {
        problems.push(format!("names no metric: {expr_text}"));
    }
    problems
}

fn contrib(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// Every `expr` of the rules, and every PromQL target and `label_values(...)` variable of the
/// dashboard.
fn expressions() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let rules: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&contrib("contrib/prometheus/dustwatch.rules.yml"))
            .expect("the rules are YAML");
    for group in rules["groups"].as_sequence().expect("groups") {
        for rule in group["rules"].as_sequence().expect("rules") {
            let name = rule["alert"].as_str().expect("an alert name");
            assert!(
                rule["annotations"]["runbook"]
                    .as_str()
                    .is_some_and(|r| r.len() > 40),
                "{name} has runbook text"
            );
            let expr = rule["expr"].as_str().expect("expr");
            out.push((format!("rule {name}"), expr.to_string()));
        }
    }
    let dashboard: serde_json::Value =
        serde_json::from_str(&contrib("contrib/grafana/dustwatch.json"))
            .expect("the dashboard is JSON");
    for panel in dashboard["panels"].as_array().expect("panels") {
        let title = panel["title"].as_str().expect("title");
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr");
            out.push((format!("panel {title}"), expr.to_string()));
        }
    }
    for var in dashboard["templating"]["list"]
        .as_array()
        .expect("variables")
    {
        let Some(query) = var["query"].as_str() else {
            continue;
        };
        if let Some(inner) = query
            .strip_prefix("label_values(")
            .and_then(|q| q.strip_suffix(')'))
        {
            let (selector, label) = inner
                .rsplit_once(',')
                .expect("label_values(selector, label)");
            let label = label.trim();
            // `label_values(m, l)` needs series of `m` that carry `l`.
            out.push((
                format!("variable {}", var["name"]),
                format!("{selector} and on ({label}) {selector}"),
            ));
        }
    }
    out
}

#[tokio::test]
async fn shipped_dashboard_and_rules_use_only_exported_metrics_and_labels() {
    let exported = exported().await;
    assert!(exported.contains_key("dustwatch_channel_exposure_headroom_sat"));
    assert!(exported["dustwatch_channel_exposure_headroom_sat"].contains("peer"));
    let expressions = expressions();
    assert!(expressions.len() >= 15, "{expressions:?}");
    let problems: Vec<String> = expressions
        .iter()
        .flat_map(|(place, expr)| {
            check(expr, &exported)
                .into_iter()
                .map(move |p| format!("{place}: {p}"))
        })
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");

    // The checker itself catches a wrong metric and a wrong label.
    assert!(!check("dustwatch_channel_exposure_headroom_satt", &exported).is_empty());
    assert!(!check("dustwatch_dust_sat{chan_id=\"1\"}", &exported).is_empty());
    assert!(!check(
        "sum by (peer_pubkey) (dustwatch_channel_exposure_ratio)",
        &exported
    )
    .is_empty());
    assert!(check(
        "sum by (peer) (dustwatch_channel_exposure_ratio)",
        &exported
    )
    .is_empty());
}

/// Every rule matches on `(instance, node)` where it joins two series, so daemons never mix.
#[test]
fn rules_join_on_instance_and_node() {
    let text = contrib("contrib/prometheus/dustwatch.rules.yml");
    for line in text.lines().filter(|l| l.contains(" on (")) {
        assert!(line.contains("on (instance, node"), "{line}");
    }
}

#[test]
fn the_alertmanager_example_routes_to_webhook_email_and_telegram() {
    let config: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&contrib("contrib/alertmanager/alertmanager.yml")).expect("YAML");
    let receivers = config["receivers"].as_sequence().expect("receivers");
    let kinds: BTreeSet<&str> = receivers
        .iter()
        .flat_map(|r| r.as_mapping().expect("receiver").keys())
        .filter_map(|k| k.as_str())
        .collect();
    for kind in ["webhook_configs", "email_configs", "telegram_configs"] {
        assert!(kinds.contains(kind), "{kind}: {kinds:?}");
    }
    let group_by: Vec<&str> = config["route"]["group_by"]
        .as_sequence()
        .expect("group_by")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(group_by.contains(&"instance") && group_by.contains(&"node"));
}
