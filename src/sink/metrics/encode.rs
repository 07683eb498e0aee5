//! The per-node state behind the metrics, and its encoding as metric families on each scrape.
//!
//! The state is a map from node name to what was last observed for that node. Each family is
//! written once, with the series of every node inside it (node names in sorted order, channels
//! in plan order), so the output is deterministic and valid OpenMetrics (a family's samples are
//! contiguous). Families without samples still get their `# HELP`/`# TYPE` lines, so the set of
//! metric names a scrape shows does not depend on what happened yet.
//!
//! The names, units and label sets here are a public interface, documented in
//! `docs/metrics.md`; a test fails when a family is missing there.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

use super::series::{
    PlanSeries, ACTION_KINDS, ALERT_CODES, COMMITMENTS, HEALTH_STATUSES, PENDING_STATES, SEVERITIES,
};

/// The states `dustwatch_lnd_state` always has a series for (1 for the current one, 0 for the
/// others): `lnrpc.WalletState` in snake case, plus `unreachable` when LND did not answer.
pub const LND_STATES: [&str; 7] = [
    "unreachable",
    "waiting_to_start",
    "non_existing",
    "locked",
    "unlocked",
    "rpc_active",
    "server_active",
];

/// The outcome of the node's last poll cycle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct LastCycle {
    pub duration_seconds: f64,
    pub ok: bool,
    pub finished_at_unix: i64,
}

/// Everything observed for one node. The parts are set independently: a failed cycle updates
/// the cycle values and keeps the last good plan's series (with its timestamp, so staleness is
/// visible).
#[derive(Debug, Default)]
pub(super) struct NodeState {
    pub plan: Option<PlanSeries>,
    pub last_cycle: Option<LastCycle>,
    pub cycles_ok: u64,
    pub cycles_failed: u64,
    pub lnd_state: Option<String>,
    /// Forwards refused with TEMPORARY_CHANNEL_FAILURE and no detail, per channel id.
    pub refused_forwards: BTreeMap<u64, u64>,
    /// Every HTLC link failure, by wire failure name.
    pub link_failures: BTreeMap<String, u64>,
}

/// All nodes' state; the collector the registry calls on each scrape.
#[derive(Debug, Default)]
pub(super) struct Nodes(Mutex<BTreeMap<String, NodeState>>);

impl Nodes {
    /// Locks the state. A panic while the lock was held cannot leave a node half-updated
    /// (every update is a single assignment or increment), so a poisoned lock is still usable.
    pub fn lock(&self) -> MutexGuard<'_, BTreeMap<String, NodeState>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Collector for Nodes {
    fn encode(&self, encoder: DescriptorEncoder) -> fmt::Result {
        let nodes = self.lock();
        encode_nodes(&nodes, encoder)
    }
}

type Labels<'a> = Vec<(&'static str, &'a str)>;

#[derive(Debug, Clone, Copy)]
enum Value {
    Uint(u64),
    Int(i64),
    Float(f64),
}

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::Uint(v)
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Uint(u64::from(v))
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Uint(u64::from(v))
    }
}

type Row<'a> = (Labels<'a>, Value);

/// Writes one gauge family: its descriptor, then one sample per row.
fn family<'a>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    rows: impl IntoIterator<Item = Row<'a>>,
) -> fmt::Result {
    let mut metric = encoder.encode_descriptor(name, help, unit, MetricType::Gauge)?;
    for (labels, value) in rows {
        let sample = metric.encode_family(&labels)?;
        match value {
            Value::Uint(v) => ConstGauge::new(v).encode(sample)?,
            Value::Int(v) => ConstGauge::new(v).encode(sample)?,
            Value::Float(v) => ConstGauge::new(v).encode(sample)?,
        }
    }
    Ok(())
}

/// Writes one counter family. The name is given without `_total`: the encoder appends it to
/// the samples, as OpenMetrics requires.
fn counter_family<'a>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = (Labels<'a>, u64)>,
) -> fmt::Result {
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, value) in rows {
        ConstCounter::new(value).encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

/// One row per node that has a plan, labelled `node` plus what `extra` adds.
fn plan_rows<'a, I>(
    nodes: &'a BTreeMap<String, NodeState>,
    extra: impl Fn(&'a PlanSeries) -> I,
) -> Vec<Row<'a>>
where
    I: IntoIterator<Item = Row<'a>>,
{
    let mut rows = Vec::new();
    for (node, state) in nodes {
        if let Some(plan) = &state.plan {
            for (labels, value) in extra(plan) {
                let mut all = vec![("node", node.as_str())];
                all.extend(labels);
                rows.push((all, value));
            }
        }
    }
    rows
}

/// One unlabelled (besides `node`) value per node that has a plan.
fn plan_value<'a>(
    nodes: &'a BTreeMap<String, NodeState>,
    value: impl Fn(&'a PlanSeries) -> Value,
) -> Vec<Row<'a>> {
    plan_rows(nodes, |plan| [(Vec::new(), value(plan))])
}

/// Rows for every channel of every node: labels `node`, `chan_id`, `peer_alias`, `peer` (the
/// peer's public key, which joins with lndmon's series and survives alias changes), plus what
/// `extra` adds per channel.
fn channel_rows<'a, I>(
    nodes: &'a BTreeMap<String, NodeState>,
    extra: impl Fn(&'a super::series::ChannelSeries) -> I,
) -> Vec<Row<'a>>
where
    I: IntoIterator<Item = Row<'a>>,
{
    plan_rows(nodes, |plan| {
        plan.channels.iter().flat_map(|channel| {
            extra(channel).into_iter().map(move |(labels, value)| {
                let mut all = vec![
                    ("chan_id", channel.chan_id.as_str()),
                    ("peer_alias", channel.peer_alias.as_ref()),
                    ("peer", channel.peer.as_ref()),
                ];
                all.extend(labels);
                (all, value)
            })
        })
    })
}

/// One row per commitment (`commitment="local"|"remote"`) from a per-commitment array.
fn per_commitment<'a, T: Copy + Into<Value>>(values: [T; 2]) -> Vec<Row<'a>> {
    COMMITMENTS
        .iter()
        .zip(values)
        .map(|(commitment, v)| (vec![("commitment", *commitment)], v.into()))
        .collect()
}

/// Rows from the cycle state of every node that finished at least one cycle.
fn cycle_value<'a>(
    nodes: &'a BTreeMap<String, NodeState>,
    value: impl Fn(&LastCycle) -> Value,
) -> Vec<Row<'a>> {
    nodes
        .iter()
        .filter_map(|(node, state)| {
            let cycle = state.last_cycle.as_ref()?;
            Some((vec![("node", node.as_str())], value(cycle)))
        })
        .collect()
}

fn encode_nodes(nodes: &BTreeMap<String, NodeState>, mut enc: DescriptorEncoder) -> fmt::Result {
    let sat = Unit::Other("sat".to_string());
    let seconds = Unit::Seconds;
    let blocks = Unit::Other("blocks".to_string());

    // Per channel.
    family(
        &mut enc,
        "dustwatch_channel_fee_exposure",
        "Fee exposure (trimmed HTLC sum plus commitment fee) of each commitment transaction, what LND compares with channel-max-fee-exposure",
        Some(&sat),
        channel_rows(nodes, |c| per_commitment(c.fee_exposure_sat)),
    )?;
    family(
        &mut enc,
        "dustwatch_channel_exposure_headroom",
        "Fee-exposure limit minus the larger commitment's exposure; negative when over the limit",
        Some(&sat),
        channel_rows(nodes, |c| [(Vec::new(), c.exposure_headroom_sat.into())]),
    )?;
    family(
        &mut enc,
        "dustwatch_channel_exposure_ratio",
        "Larger commitment's fee exposure divided by the fee-exposure limit",
        None,
        channel_rows(nodes, |c| [(Vec::new(), c.exposure_ratio.into())]),
    )?;
    family(
        &mut enc,
        "dustwatch_channel_trimmed_htlc",
        "Sum of the pending HTLCs trimmed (dust) on each commitment transaction",
        Some(&sat),
        channel_rows(nodes, |c| per_commitment(c.trimmed_htlc_sat)),
    )?;
    family(
        &mut enc,
        "dustwatch_channel_trimmed_htlcs",
        "Number of pending HTLCs trimmed (dust) on each commitment transaction",
        None,
        channel_rows(nodes, |c| per_commitment(c.trimmed_htlcs)),
    )?;
    family(
        &mut enc,
        "dustwatch_channel_health_score",
        "Channel health score from 0 (unhealthy) to 1 (healthy)",
        None,
        channel_rows(nodes, |c| [(Vec::new(), c.health_score.into())]),
    )?;
    family(
        &mut enc,
        "dustwatch_channel_nearest_htlc_expiry",
        "Blocks until the channel's soonest pending HTLC expires; absent without HTLCs or block height",
        Some(&blocks),
        channel_rows(nodes, |c| {
            c.nearest_htlc_expiry_blocks
                .map(|b| (Vec::new(), Value::from(b)))
        }),
    )?;
    family(
        &mut enc,
        "dustwatch_channel_force_close_fees_to_miners",
        "Fees to miners if our commitment were broadcast now (commitment fee, trimmed HTLCs and outputs, absent anchors)",
        Some(&sat),
        channel_rows(nodes, |c| [(Vec::new(), c.force_close_fees_to_miners_sat.into())]),
    )?;

    // Per node, from the plan.
    family(
        &mut enc,
        "dustwatch_channels",
        "Open channels by health status",
        None,
        plan_rows(nodes, |p| {
            HEALTH_STATUSES
                .iter()
                .zip(p.channels_by_status)
                .map(|(status, n)| (vec![("status", status.as_str())], n.into()))
        }),
    )?;
    family(
        &mut enc,
        "dustwatch_active_channels",
        "Open channels LND reports active",
        None,
        plan_value(nodes, |p| p.active_channels.into()),
    )?;
    family(
        &mut enc,
        "dustwatch_pending_channels",
        "Channels not open (yet or any more) by state",
        None,
        plan_rows(nodes, |p| {
            PENDING_STATES
                .iter()
                .zip(p.pending_channels)
                .map(|(state, n)| (vec![("state", *state)], n.into()))
        }),
    )?;
    family(
        &mut enc,
        "dustwatch_limbo_balance",
        "Funds of force-closing channels not yet back in the wallet",
        Some(&sat),
        plan_value(nodes, |p| p.limbo_balance_sat.into()),
    )?;
    family(
        &mut enc,
        "dustwatch_capacity",
        "Total capacity of the open channels",
        Some(&sat),
        plan_value(nodes, |p| p.capacity_sat.into()),
    )?;
    family(
        &mut enc,
        "dustwatch_local_balance",
        "Total local balance of the open channels",
        Some(&sat),
        plan_value(nodes, |p| p.local_balance_sat.into()),
    )?;
    family(
        &mut enc,
        "dustwatch_remote_balance",
        "Total remote balance of the open channels",
        Some(&sat),
        plan_value(nodes, |p| p.remote_balance_sat.into()),
    )?;
    family(
        &mut enc,
        "dustwatch_dust",
        "Dust held in pending HTLCs: sum over channels of the larger commitment's trimmed HTLC sum",
        Some(&sat),
        plan_value(nodes, |p| p.dust_sat.into()),
    )?;
    family(
        &mut enc,
        "dustwatch_dust_ratio",
        "Dust divided by total capacity",
        None,
        plan_value(nodes, |p| p.dust_ratio.into()),
    )?;
    family(
        &mut enc,
        "dustwatch_highest_fee_exposure",
        "Highest fee exposure of any channel's local or remote commitment",
        Some(&sat),
        plan_value(nodes, |p| p.highest_fee_exposure_sat.into()),
    )?;
    family(
        &mut enc,
        "dustwatch_max_fee_exposure",
        "The fee-exposure limit channels were checked against, and where it came from",
        Some(&sat),
        plan_rows(nodes, |p| {
            [(
                vec![("source", p.exposure_limit_source)],
                p.max_fee_exposure_sat.into(),
            )]
        }),
    )?;
    family(
        &mut enc,
        "dustwatch_recommended_max_fee_exposure",
        "The channel-max-fee-exposure value that fits the node's channels",
        Some(&sat),
        plan_value(nodes, |p| p.recommended_max_fee_exposure_sat.into()),
    )?;
    family(
        &mut enc,
        "dustwatch_estimated_dust_recovery",
        "Dust the recommended actions would keep from miners or out of fee exposure",
        Some(&sat),
        plan_value(nodes, |p| p.estimated_recovery_sat.into()),
    )?;
    family(
        &mut enc,
        "dustwatch_average_health_score",
        "Mean channel health score (0 without channels)",
        None,
        plan_value(nodes, |p| p.average_health_score.into()),
    )?;
    family(
        &mut enc,
        "dustwatch_actions",
        "Distinct recommended actions in the latest plan by kind",
        None,
        plan_rows(nodes, |p| {
            ACTION_KINDS
                .iter()
                .zip(p.actions_by_kind)
                .map(|(kind, n)| (vec![("kind", kind.as_str())], n.into()))
        }),
    )?;
    family(
        &mut enc,
        "dustwatch_alerts",
        "Alerts in the latest plan by code and severity",
        None,
        plan_rows(nodes, |p| {
            ALERT_CODES.iter().zip(p.alerts).flat_map(|(code, counts)| {
                SEVERITIES.iter().zip(counts).map(move |(severity, n)| {
                    (
                        vec![("code", code.as_str()), ("severity", severity.as_str())],
                        n.into(),
                    )
                })
            })
        }),
    )?;
    family(
        &mut enc,
        "dustwatch_plan_timestamp",
        "Unix time of the snapshot the latest plan was computed from",
        Some(&seconds),
        plan_value(nodes, |p| p.taken_at_unix.into()),
    )?;

    // Per node, from the poll loop.
    family(
        &mut enc,
        "dustwatch_last_cycle_duration",
        "Duration of the last poll cycle",
        Some(&seconds),
        cycle_value(nodes, |c| c.duration_seconds.into()),
    )?;
    family(
        &mut enc,
        "dustwatch_last_cycle_success",
        "1 if the last poll cycle produced a plan, 0 if it failed",
        None,
        cycle_value(nodes, |c| c.ok.into()),
    )?;
    family(
        &mut enc,
        "dustwatch_last_cycle_timestamp",
        "Unix time the last poll cycle finished",
        Some(&seconds),
        cycle_value(nodes, |c| c.finished_at_unix.into()),
    )?;
    counter_family(
        &mut enc,
        "dustwatch_cycles",
        "Poll cycles finished, by result",
        nodes
            .iter()
            .filter(|(_, s)| s.last_cycle.is_some())
            .flat_map(|(node, s)| {
                [
                    (vec![("node", node.as_str()), ("result", "ok")], s.cycles_ok),
                    (
                        vec![("node", node.as_str()), ("result", "error")],
                        s.cycles_failed,
                    ),
                ]
            }),
    )?;
    let refused: Vec<(String, String, u64)> = nodes
        .iter()
        .flat_map(|(node, s)| {
            s.refused_forwards
                .iter()
                .map(move |(chan, n)| (node.clone(), chan.to_string(), *n))
        })
        .collect();
    counter_family(
        &mut enc,
        "dustwatch_htlc_refused_forwards",
        "Forwards a channel's link refused with TEMPORARY_CHANNEL_FAILURE and no failure detail \
         (how LND refuses an HTLC over channel-max-fee-exposure), since dustwatch started",
        refused.iter().map(|(node, chan, n)| {
            (
                vec![("node", node.as_str()), ("chan_id", chan.as_str())],
                *n,
            )
        }),
    )?;
    counter_family(
        &mut enc,
        "dustwatch_htlc_link_failures",
        "HTLCs failed by one of the node's links, by BOLT 4 wire failure, since dustwatch started",
        nodes.iter().flat_map(|(node, s)| {
            s.link_failures.iter().map(move |(wire, n)| {
                (
                    vec![("node", node.as_str()), ("wire_failure", wire.as_str())],
                    *n,
                )
            })
        }),
    )?;
    family(
        &mut enc,
        "dustwatch_lnd_state",
        "LND's state as dustwatch last saw it: 1 for the current state, 0 for the others",
        None,
        nodes.iter().flat_map(|(node, s)| lnd_state_rows(node, s)),
    )?;
    Ok(())
}

/// A state-set: every known state with 0 or 1, plus the current state if it is not a known one
/// (so an unexpected state is visible, and at most one extra series exists per node).
fn lnd_state_rows<'a>(node: &'a str, state: &'a NodeState) -> Vec<Row<'a>> {
    let Some(current) = state.lnd_state.as_deref() else {
        return Vec::new();
    };
    let mut rows: Vec<Row<'a>> = LND_STATES
        .iter()
        .map(|known| {
            (
                vec![("node", node), ("state", *known)],
                (*known == current).into(),
            )
        })
        .collect();
    if !LND_STATES.contains(&current) {
        rows.push((vec![("node", node), ("state", current)], Value::Uint(1)));
    }
    rows
}
