//! Validated settings: the typed form of `dustwatch.toml`, with every default in one place.
//!
//! `config` layers defaults < TOML file < environment into these structs; everything else reads
//! only these. Each section denies unknown keys, so a typo in the file is an error, not a
//! silently ignored setting. Defaults here are the ones `config/dustwatch.toml` documents.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub lnd: LndSettings,
    pub poll: PollSettings,
    pub analysis: AnalysisSettings,
    pub output: OutputSettings,
    pub log: LogSettings,
    pub metrics: MetricsSettings,
    /// Several LND nodes watched by one daemon (`[[nodes]]`). Empty means one node, configured
    /// by the top-level `[lnd]` section, named `default`, with plans directly in `plan_dir`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeSettings>,
}

/// Name given to the single node of a configuration without `[[nodes]]`.
pub const DEFAULT_NODE_NAME: &str = "default";

impl Settings {
    /// The nodes to watch, each with its effective settings: the top-level sections with the
    /// node's overrides applied and plans in `<plan_dir>/<name>/`. Without `[[nodes]]`, the
    /// top-level settings themselves as node `default` (plans directly in `plan_dir`), so a
    /// single-node configuration behaves exactly as before nodes existed.
    pub fn node_settings(&self) -> Vec<(String, Settings)> {
        if self.nodes.is_empty() {
            return vec![(DEFAULT_NODE_NAME.to_string(), self.clone())];
        }
        self.nodes
            .iter()
            .map(|node| {
                let mut effective = self.clone();
                effective.nodes.clear();
                node.lnd.apply(&mut effective.lnd);
                node.analysis.apply(&mut effective.analysis);
                effective.output.plan_dir = self.output.plan_dir.join(&node.name);
                (node.name.clone(), effective)
            })
            .collect()
    }
}

/// One node of a multi-node daemon: a name (used for its plan directory, in logs and as the
/// `node` metric label) and what differs from the top-level sections.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeSettings {
    pub name: String,
    pub lnd: LndOverride,
    pub analysis: AnalysisOverride,
}

/// `[nodes.lnd]`: any `[lnd]` key; what is not set comes from the top-level `[lnd]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LndOverride {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// This node's LND directory: its certificate and macaroon are derived from it unless set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lnddir: Option<PathBuf>,
    /// This node's network: its macaroon path is derived from it unless set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<LndNetwork>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert_path: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub macaroon_path: Option<PathBuf>,
    #[serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<Duration>,
    #[serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub request_timeout: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_message_bytes: Option<usize>,
}

impl LndOverride {
    fn apply(&self, lnd: &mut LndSettings) {
        if let Some(host) = &self.host {
            lnd.host = host.clone();
        }
        if let Some(port) = self.port {
            lnd.port = port;
        }
        if let Some(dir) = &self.lnddir {
            lnd.lnddir = dir.clone();
        }
        if let Some(network) = self.network {
            lnd.network = network;
        }
        if let Some(path) = &self.tls_cert_path {
            lnd.tls_cert_path = path.clone();
        }
        if let Some(path) = &self.macaroon_path {
            lnd.macaroon_path = path.clone();
        }
        if let Some(timeout) = self.connect_timeout {
            lnd.connect_timeout = timeout;
        }
        if let Some(timeout) = self.request_timeout {
            lnd.request_timeout = timeout;
        }
        if let Some(bytes) = self.max_message_bytes {
            lnd.max_message_bytes = bytes;
        }
    }
}

/// `[nodes.analysis]`: the per-node facts of lnd.conf that differ between nodes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalysisOverride {
    /// This node's `channel-max-fee-exposure` (when LND does not report it itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_fee_exposure_sat: Option<u64>,
    /// This node's `max-commit-fee-rate-anchors` in sat/kw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anchor_commit_feerate_cap_per_kw: Option<u64>,
}

impl AnalysisOverride {
    fn apply(&self, analysis: &mut AnalysisSettings) {
        if let Some(limit) = self.max_fee_exposure_sat {
            analysis.max_fee_exposure_sat = limit;
        }
        if let Some(cap) = self.anchor_commit_feerate_cap_per_kw {
            analysis.anchor_commit_feerate_cap_per_kw = cap;
        }
    }
}

/// How to reach LND's gRPC interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LndSettings {
    pub host: String,
    pub port: u16,
    /// LND's directory (lnd.conf `lnddir`); `~` is the service user's home. The certificate and
    /// macaroon paths are derived from it when not set.
    pub lnddir: PathBuf,
    /// The chain network LND runs on; names the macaroon's directory.
    pub network: LndNetwork,
    /// LND's `tls.cert`; pinned exactly (it is self-signed and marked CA:TRUE). Empty means
    /// `<lnddir>/tls.cert`, filled in when the configuration is loaded.
    #[serde(skip_serializing_if = "path_is_empty")]
    pub tls_cert_path: PathBuf,
    /// A read-only macaroon is all dustwatch needs; it never asks for more. Empty means
    /// `<lnddir>/data/chain/bitcoin/<network>/readonly.macaroon`, filled in when loaded.
    #[serde(skip_serializing_if = "path_is_empty")]
    pub macaroon_path: PathBuf,
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// gRPC receive limit; big nodes' ListChannels answers exceed tonic's 4 MiB default.
    pub max_message_bytes: usize,
}

impl Default for LndSettings {
    fn default() -> Self {
        LndSettings {
            host: "localhost".into(),
            port: 10009,
            lnddir: PathBuf::from(DEFAULT_LNDDIR),
            network: LndNetwork::Mainnet,
            tls_cert_path: PathBuf::new(),
            macaroon_path: PathBuf::new(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_message_bytes: 200 * 1024 * 1024,
        }
    }
}

/// LND's own default directory (`lnddir`), relative to the home of the user LND runs as.
pub const DEFAULT_LNDDIR: &str = "~/.lnd";

fn path_is_empty(path: &Path) -> bool {
    path.as_os_str().is_empty()
}

impl LndSettings {
    /// `<lnddir>/tls.cert`, where LND writes its certificate by default.
    pub fn derived_tls_cert_path(lnddir: &Path) -> PathBuf {
        lnddir.join("tls.cert")
    }

    /// `<lnddir>/data/chain/bitcoin/<network>/readonly.macaroon`, where LND writes it by default.
    pub fn derived_macaroon_path(lnddir: &Path, network: LndNetwork) -> PathBuf {
        lnddir
            .join("data/chain/bitcoin")
            .join(network.as_str())
            .join("readonly.macaroon")
    }
}

/// The networks LND names its macaroon directories after (`data/chain/bitcoin/<network>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LndNetwork {
    #[default]
    Mainnet,
    Testnet,
    Testnet4,
    Signet,
    Regtest,
    Simnet,
}

impl LndNetwork {
    /// The directory name LND uses for this network.
    pub fn as_str(self) -> &'static str {
        match self {
            LndNetwork::Mainnet => "mainnet",
            LndNetwork::Testnet => "testnet",
            LndNetwork::Testnet4 => "testnet4",
            LndNetwork::Signet => "signet",
            LndNetwork::Regtest => "regtest",
            LndNetwork::Simnet => "simnet",
        }
    }
}

/// When to take snapshots and how to back off while LND is unavailable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PollSettings {
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// After a channel event, wait this long for more events before running a cycle.
    #[serde(with = "humantime_serde")]
    pub event_debounce: Duration,
    #[serde(with = "humantime_serde")]
    pub backoff_initial: Duration,
    #[serde(with = "humantime_serde")]
    pub backoff_max: Duration,
    /// How long a running cycle may take to finish after SIGTERM before it is abandoned.
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
}

impl Default for PollSettings {
    fn default() -> Self {
        PollSettings {
            interval: Duration::from_secs(60),
            event_debounce: Duration::from_secs(5),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

/// Thresholds and weights of the dust engine and the analyzer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalysisSettings {
    /// The node's `channel-max-fee-exposure` (lnd.conf); used when LND does not report its own.
    pub max_fee_exposure_sat: u64,
    /// LND's `max-commit-fee-rate-anchors` in sat/kw (10 sat/vB = 2,500 sat/kw by default).
    pub anchor_commit_feerate_cap_per_kw: u64,
    /// Feerate multipliers for the fee-spike what-if.
    pub fee_spike_multipliers: Vec<f64>,
    /// Dust limit assumed when the source did not report constraints (old `lncli` output).
    pub fallback_dust_limit_sat: u64,
    /// `fee_exposure_near_limit` once exposure reaches this share of the limit.
    pub exposure_warn_ratio: f64,
    /// HTLCs expiring within this many blocks are a warning …
    pub htlc_expiry_warn_blocks: u32,
    /// … and within this many an error (LND goes on-chain shortly before expiry).
    pub htlc_expiry_critical_blocks: u32,
    /// Days of current flow over which fee-revenue benefits and costs of actions are estimated.
    pub benefit_horizon_days: u64,
    /// The window of forwarding history (ending at the snapshot) that flow is judged over.
    #[serde(with = "humantime_serde")]
    pub flow_window: Duration,
    /// Actions whose net benefit is below this many sat are left out (fund-protecting ones are
    /// not): the fee of one ordinary forward, so no action is worth less than a forward.
    pub min_action_benefit_sat: u64,
    /// At most this many rebalances are listed, best net benefit first; the summary counts the rest.
    pub max_rebalance_actions: u32,
    /// Channels younger than this (from their funding block) are not judged on flow or uptime.
    #[serde(with = "humantime_serde")]
    pub min_channel_age: Duration,
    /// No fee change is recommended on a channel whose fee rate changed (the operator or a tool
    /// acted) within this long, so a change can show its effect first; `0s` turns this off.
    #[serde(with = "humantime_serde")]
    pub fee_change_cooldown: Duration,
    pub health: HealthSettings,
    pub rebalance: RebalanceSettings,
    pub close: CloseSettings,
    pub splice: SpliceSettings,
    pub dust_strategy: DustStrategySettings,
}

impl Default for AnalysisSettings {
    fn default() -> Self {
        AnalysisSettings {
            max_fee_exposure_sat: 500_000,
            anchor_commit_feerate_cap_per_kw: 2_500,
            fee_spike_multipliers: vec![2.0, 5.0, 10.0],
            fallback_dust_limit_sat: 354,
            exposure_warn_ratio: 0.8,
            htlc_expiry_warn_blocks: 144,
            htlc_expiry_critical_blocks: 40,
            benefit_horizon_days: 30,
            flow_window: Duration::from_secs(7 * 86_400),
            min_action_benefit_sat: 500,
            max_rebalance_actions: 10,
            min_channel_age: Duration::from_secs(14 * 86_400),
            fee_change_cooldown: Duration::from_secs(86_400),
            health: HealthSettings::default(),
            rebalance: RebalanceSettings::default(),
            close: CloseSettings::default(),
            splice: SpliceSettings::default(),
            dust_strategy: DustStrategySettings::default(),
        }
    }
}

/// Channel health scoring (design.md section 4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthSettings {
    pub balance_weight: f64,
    pub dust_weight: f64,
    pub utilization_weight: f64,
    /// Score above which a channel is `healthy`.
    pub healthy_above: f64,
    /// Score above which a channel needs attention rather than being `unhealthy`.
    pub attention_above: f64,
    pub imbalanced_below: f64,
    pub high_dust_ratio: f64,
    pub underutilized_below: f64,
    /// Issue `overutilized` when daily turnover exceeds this many times `target_daily_turnover`
    /// (uncapped): more flow than the capacity carries, not merely a channel at its target.
    pub overutilized_above: f64,
    /// Daily flow (sent + received) as a share of capacity that counts as fully utilized.
    pub target_daily_turnover: f64,
    /// Peer uptime / lifetime below which a channel has `low_uptime`.
    pub low_uptime_below: f64,
}

impl Default for HealthSettings {
    fn default() -> Self {
        HealthSettings {
            balance_weight: 0.4,
            dust_weight: 0.3,
            utilization_weight: 0.3,
            healthy_above: 0.7,
            attention_above: 0.4,
            imbalanced_below: 0.2,
            high_dust_ratio: 0.1,
            underutilized_below: 0.3,
            overutilized_above: 5.0,
            target_daily_turnover: 0.1,
            low_uptime_below: 0.8,
        }
    }
}

/// Circular rebalancing recommendations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RebalanceSettings {
    /// Local share of capacity that rebalancing aims for.
    pub target_local_ratio: f64,
    /// Fee budget when the snapshot has no fee policy for the channel.
    pub max_fee_ppm: u64,
    /// Amounts below this are not worth a rebalance.
    pub min_amount_sat: u64,
    /// A channel is a rebalance source or sink once its local ratio is this far from the target.
    pub min_deviation: f64,
    /// Fee change (share of the current fee rate) suggested for channels no rebalance pair covers.
    pub passive_fee_step: f64,
    /// … but at least this many ppm.
    pub min_fee_step_ppm: u64,
}

impl Default for RebalanceSettings {
    fn default() -> Self {
        RebalanceSettings {
            target_local_ratio: 0.5,
            max_fee_ppm: 500,
            min_amount_sat: 50_000,
            min_deviation: 0.2,
            passive_fee_step: 0.25,
            min_fee_step_ppm: 10,
        }
    }
}

/// Close recommendations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CloseSettings {
    /// A channel older than this with no flow at all is a close candidate.
    pub idle_days: u64,
    /// A local balance smaller than this many cooperative-close fees is uneconomical.
    pub uneconomical_balance_fee_multiple: u64,
    /// Peer uptime / lifetime below which closing is recommended (stricter than `low_uptime_below`).
    pub uptime_below: f64,
    /// Lifetime (LND's monitoring time) needed before low uptime justifies a close.
    pub min_observed_days: u64,
}

impl Default for CloseSettings {
    fn default() -> Self {
        CloseSettings {
            idle_days: 30,
            uneconomical_balance_fee_multiple: 3,
            uptime_below: 0.5,
            min_observed_days: 7,
        }
    }
}

/// Capacity-change (splice, or Loop on LND) recommendations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpliceSettings {
    /// Daily turnover, as a multiple of `health.target_daily_turnover`, above which a channel is
    /// busy enough to deserve more capacity.
    pub busy_utilization_above: f64,
    /// Utilization below which a large channel's capacity is idle.
    pub idle_utilization_below: f64,
    /// Channels at least this large are candidates for a capacity reduction.
    pub large_capacity_sat: u64,
    /// Capacity changes smaller than this are not recommended.
    pub min_amount_sat: u64,
    /// Estimated Loop In / Loop Out swap fee in ppm of the amount (ask `loop quote` for the real one).
    pub loop_fee_ppm: u64,
}

impl Default for SpliceSettings {
    fn default() -> Self {
        SpliceSettings {
            busy_utilization_above: 5.0,
            idle_utilization_below: 0.05,
            large_capacity_sat: 5_000_000,
            min_amount_sat: 250_000,
            loop_fee_ppm: 2_500,
        }
    }
}

/// Dust strategies: `min_htlc` above the trim threshold, hold-off warnings, the exposure limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DustStrategySettings {
    /// Outgoing trimmed HTLCs pending at once that count as recurring dust (one is enough when
    /// the previous plan also saw trimmed HTLCs on the channel).
    pub recurring_trimmed_htlcs: u32,
    /// The suggested `min_htlc` clears the trim threshold at this multiple of the current feerate.
    pub min_htlc_feerate_multiplier: f64,
    /// The suggested `channel-max-fee-exposure` is the node's worst exposure (fee spikes included)
    /// times this margin …
    pub exposure_limit_margin: f64,
    /// … but never below this.
    pub exposure_limit_floor_sat: u64,
    /// Below this much dust on our commitment, a working channel with no HTLC near expiry gets no
    /// hold-off-force-close advice (such dust resolves within seconds).
    pub hold_off_min_sat: u64,
    /// Suggest lowering the limit only when the fitting value is below this share of the current one
    /// (with the defaults, never for LND's default 500,000 sat: 100,000 is not below 20% of it).
    pub lower_limit_below_ratio: f64,
}

impl Default for DustStrategySettings {
    fn default() -> Self {
        DustStrategySettings {
            recurring_trimmed_htlcs: 2,
            min_htlc_feerate_multiplier: 2.0,
            exposure_limit_margin: 1.25,
            exposure_limit_floor_sat: 100_000,
            hold_off_min_sat: 1_000,
            lower_limit_below_ratio: 0.2,
        }
    }
}

/// Plan files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputSettings {
    pub plan_dir: PathBuf,
    /// Timestamped plan files to keep besides `latest.json`.
    pub keep_plans: usize,
    /// The daemon writes a plan that says nothing new (same actions, same alert states) only
    /// once the plan on disk is this old in snapshot time; zero writes every cycle.
    #[serde(with = "humantime_serde")]
    pub plan_refresh: Duration,
}

impl Default for OutputSettings {
    fn default() -> Self {
        OutputSettings {
            plan_dir: PathBuf::from("/var/lib/dustwatch/plans"),
            keep_plans: 48,
            plan_refresh: Duration::from_secs(3600),
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
    Journald,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    /// A tracing filter (`info`, `dustwatch=debug`); `RUST_LOG` overrides it.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

/// The Prometheus endpoint (off unless `listen` is set).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSettings {
    /// e.g. `127.0.0.1:9489`; `None` keeps the endpoint off.
    pub listen: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_nodes_the_top_level_is_node_default() {
        let settings = Settings::default();
        let nodes = settings.node_settings();
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].0, DEFAULT_NODE_NAME);
        assert_eq!(nodes[0].1, settings);
    }

    #[test]
    fn node_overrides_apply_key_by_key_and_plans_go_to_a_subdirectory() {
        let text = r#"
            [lnd]
            host = "10.0.0.1"
            request_timeout = "30s"
            [output]
            plan_dir = "/plans"
            [[nodes]]
            name = "alpha"
            [[nodes]]
            name = "beta"
            lnd.port = 10010
            lnd.macaroon_path = "/beta/readonly.macaroon"
            analysis.max_fee_exposure_sat = 250000
        "#;
        let settings: Settings = toml::from_str(text).expect("parses");
        let nodes = settings.node_settings();
        let (alpha, a) = &nodes[0];
        let (beta, b) = &nodes[1];
        assert_eq!((alpha.as_str(), beta.as_str()), ("alpha", "beta"));
        assert_eq!(a.lnd, settings.lnd);
        assert_eq!(a.output.plan_dir, PathBuf::from("/plans/alpha"));
        assert_eq!(b.lnd.host, "10.0.0.1", "not overridden: inherited");
        assert_eq!(b.lnd.request_timeout, Duration::from_secs(30));
        assert_eq!(b.lnd.port, 10010);
        assert_eq!(
            b.lnd.macaroon_path,
            PathBuf::from("/beta/readonly.macaroon")
        );
        assert_eq!(b.analysis.max_fee_exposure_sat, 250_000);
        assert_eq!(a.analysis.max_fee_exposure_sat, 500_000);
        assert_eq!(b.output.plan_dir, PathBuf::from("/plans/beta"));
        assert!(a.nodes.is_empty() && b.nodes.is_empty());
    }

    #[test]
    fn unknown_node_keys_are_rejected() {
        let err = toml::from_str::<Settings>("[[nodes]]\nname = \"a\"\nlnd.hots = \"x\"\n")
            .expect_err("typo");
        assert!(err.to_string().contains("hots"), "{err}");
    }
}
