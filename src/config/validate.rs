//! Checks on values that have the right type but make no sense (a zero interval, weights that
//! do not sum to 1, thresholds in the wrong order). Every problem names its dotted key.

use std::net::SocketAddr;
use std::time::Duration;

use tracing_subscriber::EnvFilter;

use crate::settings::Settings;

/// One value that failed a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The dotted key, e.g. `poll.interval`.
    pub key: String,
    /// What is wrong, e.g. "must be greater than 0".
    pub reason: String,
}

/// Past a year a cooldown would mean "never change a fee again": surely a typo.
const MAX_FEE_CHANGE_COOLDOWN: Duration = Duration::from_secs(365 * 86_400);

/// Tolerance for "sums to 1": the decimal weights users write (0.4 + 0.3 + 0.3) are not exact.
const WEIGHT_SUM_TOLERANCE: f64 = 1e-6;

/// Every problem in `settings`, in a stable order (empty when the settings are usable).
pub fn validate(settings: &Settings) -> Vec<Problem> {
    let mut check = Checker::default();

    let lnd = &settings.lnd;
    check.that(!lnd.host.trim().is_empty(), "lnd.host", "must not be empty");
    check.that(lnd.port != 0, "lnd.port", "must not be 0");
    check.positive_duration("lnd.connect_timeout", lnd.connect_timeout);
    check.positive_duration("lnd.request_timeout", lnd.request_timeout);
    check.that(
        lnd.max_message_bytes > 0,
        "lnd.max_message_bytes",
        "must be greater than 0",
    );

    let poll = &settings.poll;
    check.positive_duration("poll.interval", poll.interval);
    check.positive_duration("poll.backoff_initial", poll.backoff_initial);
    check.that(
        poll.backoff_max >= poll.backoff_initial,
        "poll.backoff_max",
        "must not be shorter than poll.backoff_initial",
    );

    let analysis = &settings.analysis;
    check.that(
        analysis.max_fee_exposure_sat > 0,
        "analysis.max_fee_exposure_sat",
        "must be greater than 0",
    );
    check.that(
        analysis.anchor_commit_feerate_cap_per_kw > 0,
        "analysis.anchor_commit_feerate_cap_per_kw",
        "must be greater than 0",
    );
    for (i, m) in analysis.fee_spike_multipliers.iter().enumerate() {
        check.that(
            m.is_finite() && *m >= 1.0,
            "analysis.fee_spike_multipliers",
            &format!("item {i} ({m}) must be a finite multiplier of at least 1"),
        );
    }
    check.that(
        analysis.exposure_warn_ratio > 0.0 && analysis.exposure_warn_ratio <= 1.0,
        "analysis.exposure_warn_ratio",
        "must be in (0, 1]",
    );
    check.that(
        analysis.htlc_expiry_critical_blocks <= analysis.htlc_expiry_warn_blocks,
        "analysis.htlc_expiry_critical_blocks",
        "must not exceed analysis.htlc_expiry_warn_blocks",
    );

    check.that(
        analysis.min_action_benefit_sat > 0,
        "analysis.min_action_benefit_sat",
        "must be greater than 0 (an action must be worth something)",
    );
    check.that(
        analysis.max_rebalance_actions > 0,
        "analysis.max_rebalance_actions",
        "must be greater than 0",
    );

    // `0s` is allowed: it turns the cooldown off.
    check.that(
        analysis.fee_change_cooldown <= MAX_FEE_CHANGE_COOLDOWN,
        "analysis.fee_change_cooldown",
        "must be at most 365 days (0s turns it off)",
    );

    let health = &analysis.health;
    check.unit("analysis.health.balance_weight", health.balance_weight);
    check.unit("analysis.health.dust_weight", health.dust_weight);
    check.unit(
        "analysis.health.utilization_weight",
        health.utilization_weight,
    );
    let weight_sum = health.balance_weight + health.dust_weight + health.utilization_weight;
    check.that(
        (weight_sum - 1.0).abs() <= WEIGHT_SUM_TOLERANCE,
        "analysis.health",
        &format!("balance_weight + dust_weight + utilization_weight must sum to 1 (they sum to {weight_sum})"),
    );
    check.unit("analysis.health.healthy_above", health.healthy_above);
    check.unit("analysis.health.attention_above", health.attention_above);
    check.that(
        health.healthy_above > health.attention_above,
        "analysis.health.healthy_above",
        "must be greater than analysis.health.attention_above",
    );
    check.unit("analysis.health.imbalanced_below", health.imbalanced_below);
    check.that(
        health.high_dust_ratio > 0.0 && health.high_dust_ratio <= 1.0,
        "analysis.health.high_dust_ratio",
        "must be in (0, 1]",
    );
    check.unit(
        "analysis.health.underutilized_below",
        health.underutilized_below,
    );
    check.that(
        health.overutilized_above.is_finite() && health.overutilized_above > 0.0,
        "analysis.health.overutilized_above",
        "must be a positive multiple of target_daily_turnover",
    );
    check.that(
        health.underutilized_below < health.overutilized_above,
        "analysis.health.underutilized_below",
        "must be less than analysis.health.overutilized_above",
    );
    check.that(
        health.target_daily_turnover.is_finite() && health.target_daily_turnover > 0.0,
        "analysis.health.target_daily_turnover",
        "must be greater than 0",
    );
    check.unit("analysis.health.low_uptime_below", health.low_uptime_below);

    let rebalance = &analysis.rebalance;
    check.that(
        rebalance.target_local_ratio > 0.0 && rebalance.target_local_ratio < 1.0,
        "analysis.rebalance.target_local_ratio",
        "must be in (0, 1)",
    );

    let splice = &analysis.splice;
    check.that(
        splice.busy_utilization_above.is_finite() && splice.busy_utilization_above > 0.0,
        "analysis.splice.busy_utilization_above",
        "must be a positive multiple of target_daily_turnover",
    );
    check.unit(
        "analysis.splice.idle_utilization_below",
        splice.idle_utilization_below,
    );
    check.that(
        splice.idle_utilization_below < splice.busy_utilization_above,
        "analysis.splice.idle_utilization_below",
        "must be less than analysis.splice.busy_utilization_above",
    );
    check.that(
        splice.large_capacity_sat > 0,
        "analysis.splice.large_capacity_sat",
        "must be greater than 0",
    );

    let output = &settings.output;
    check.that(
        !output.plan_dir.as_os_str().is_empty(),
        "output.plan_dir",
        "must not be empty",
    );
    check.that(
        output.keep_plans >= 1,
        "output.keep_plans",
        "must be at least 1",
    );

    if let Err(err) = EnvFilter::try_new(&settings.log.level) {
        check.fail(
            "log.level",
            &format!("is not a valid tracing filter: {err}"),
        );
    }

    if let Some(listen) = &settings.metrics.listen {
        if let Err(err) = listen.parse::<SocketAddr>() {
            check.fail(
                "metrics.listen",
                &format!("must be an address like 127.0.0.1:9489 ({err})"),
            );
        }
    }

    check_nodes(settings, &mut check);
    check.problems
}

/// `[[nodes]]`: names are unique and safe as a directory name and metric label; each node's
/// effective LND address is usable.
fn check_nodes(settings: &Settings, check: &mut Checker) {
    let mut seen = std::collections::BTreeSet::new();
    for (i, node) in settings.nodes.iter().enumerate() {
        let key = format!("nodes[{i}].name");
        let name = node.name.as_str();
        let safe = !name.is_empty()
            && name.len() <= 64
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        check.that(
            safe,
            &key,
            "must be 1-64 characters of A-Z, a-z, 0-9, '-', '_' or '.', not starting with '.' \
             (it names the node's plan directory)",
        );
        check.that(seen.insert(name), &key, "must be unique among [[nodes]]");
    }
    for (i, (_, node)) in settings.node_settings().iter().enumerate() {
        if settings.nodes.is_empty() {
            break;
        }
        check.that(
            !node.lnd.host.trim().is_empty(),
            &format!("nodes[{i}].lnd.host"),
            "must not be empty",
        );
        check.that(
            node.lnd.port != 0,
            &format!("nodes[{i}].lnd.port"),
            "must not be 0",
        );
        check.that(
            node.analysis.max_fee_exposure_sat > 0,
            &format!("nodes[{i}].analysis.max_fee_exposure_sat"),
            "must be greater than 0",
        );
    }
}

#[derive(Default)]
struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn fail(&mut self, key: &str, reason: &str) {
        self.problems.push(Problem {
            key: key.to_string(),
            reason: reason.to_string(),
        });
    }

    fn that(&mut self, ok: bool, key: &str, reason: &str) {
        if !ok {
            self.fail(key, reason);
        }
    }

    fn positive_duration(&mut self, key: &str, value: Duration) {
        self.that(!value.is_zero(), key, "must be greater than 0");
    }

    /// A share or weight: within [0, 1] (NaN is outside).
    fn unit(&mut self, key: &str, value: f64) {
        self.that((0.0..=1.0).contains(&value), key, "must be within [0, 1]");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(settings: &Settings) -> Vec<String> {
        validate(settings).into_iter().map(|p| p.key).collect()
    }

    #[test]
    fn node_names_must_be_safe_and_unique() {
        use crate::settings::NodeSettings;
        let node = |name: &str| NodeSettings {
            name: name.into(),
            ..NodeSettings::default()
        };
        let mut settings = Settings {
            nodes: vec![node("alpha"), node("alpha"), node("../etc"), node("")],
            ..Settings::default()
        };
        let found = keys(&settings);
        assert_eq!(
            found,
            vec!["nodes[1].name", "nodes[2].name", "nodes[3].name"],
            "{:?}",
            validate(&settings)
        );
        settings.nodes = vec![node("alpha"), node("beta-2")];
        settings.nodes[1].lnd.port = Some(0);
        assert_eq!(keys(&settings), vec!["nodes[1].lnd.port"]);
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(validate(&Settings::default()), vec![]);
    }

    #[test]
    fn a_fee_change_cooldown_of_0_is_off_and_over_a_year_is_refused() {
        let mut settings = Settings::default();
        settings.analysis.fee_change_cooldown = Duration::ZERO;
        assert_eq!(keys(&settings), Vec::<String>::new());
        settings.analysis.fee_change_cooldown = Duration::from_secs(366 * 86_400);
        assert_eq!(keys(&settings), vec!["analysis.fee_change_cooldown"]);
    }

    #[test]
    fn zero_interval_port_and_keep_plans_are_named() {
        let mut s = Settings::default();
        s.poll.interval = Duration::ZERO;
        s.lnd.port = 0;
        s.output.keep_plans = 0;
        assert_eq!(keys(&s), ["lnd.port", "poll.interval", "output.keep_plans"]);
    }

    #[test]
    fn weights_outside_unit_interval_and_bad_sum() {
        let mut s = Settings::default();
        s.analysis.health.dust_weight = 1.3;
        assert_eq!(
            keys(&s),
            ["analysis.health.dust_weight", "analysis.health"],
            "{:?}",
            validate(&s)
        );
        s.analysis.health.dust_weight = f64::NAN;
        assert!(keys(&s).contains(&"analysis.health.dust_weight".to_string()));
    }

    #[test]
    fn health_thresholds_must_be_ordered() {
        let mut s = Settings::default();
        s.analysis.health.healthy_above = 0.4;
        s.analysis.health.attention_above = 0.4;
        assert_eq!(keys(&s), ["analysis.health.healthy_above"]);
    }

    #[test]
    fn multipliers_below_one_are_rejected() {
        let mut s = Settings::default();
        s.analysis.fee_spike_multipliers = vec![2.0, 0.5];
        let problems = validate(&s);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key, "analysis.fee_spike_multipliers");
        assert!(problems[0].reason.contains("item 1"));
    }

    #[test]
    fn log_level_and_metrics_address_are_parsed() {
        let mut s = Settings::default();
        s.log.level = "dustwatch=loud".into();
        s.metrics.listen = Some("localhost".into());
        assert_eq!(keys(&s), ["log.level", "metrics.listen"]);
        s.log.level = "info,dustwatch=debug".into();
        s.metrics.listen = Some("127.0.0.1:9489".into());
        assert_eq!(keys(&s), Vec::<String>::new());
    }

    #[test]
    fn backoff_and_expiry_orders() {
        let mut s = Settings::default();
        s.poll.backoff_max = Duration::from_millis(500);
        s.analysis.htlc_expiry_critical_blocks = 200;
        assert_eq!(
            keys(&s),
            ["poll.backoff_max", "analysis.htlc_expiry_critical_blocks"]
        );
    }
}
