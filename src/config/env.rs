//! The environment layer: `DUSTWATCH_<SECTION>__<KEY>=value` overrides the file.
//!
//! The environment is read through [`EnvSource`] so tests hand in a map instead of mutating the
//! process environment. Each variable keeps its own name as the origin of its value, so an error
//! can name the variable that caused it.

use std::collections::{BTreeMap, HashMap};

use config::{Map, Source, Value, ValueKind};

/// Prefix of every variable dustwatch reads as configuration.
pub const ENV_PREFIX: &str = "DUSTWATCH_";
/// Separates nesting levels in a variable name: `DUSTWATCH_ANALYSIS__HEALTH__DUST_WEIGHT`.
pub const ENV_NESTING: &str = "__";
/// Separates the items of a list value: `DUSTWATCH_ANALYSIS__FEE_SPIKE_MULTIPLIERS=2,5,10`.
pub const ENV_LIST_SEPARATOR: char = ',';

/// Where environment variables come from.
pub trait EnvSource {
    /// Every variable as `(name, value)`; order does not matter.
    fn vars(&self) -> Vec<(String, String)>;
}

/// The real process environment.
///
/// A variable whose name or value is not UTF-8 cannot be one of ours with a usable value: names
/// that are not UTF-8 are skipped, values are converted lossily (a path with a replacement
/// character then fails the file checks, naming the key).
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn vars(&self) -> Vec<(String, String)> {
        std::env::vars_os()
            .filter_map(|(name, value)| {
                let name = name.into_string().ok()?;
                Some((name, value.to_string_lossy().into_owned()))
            })
            .collect()
    }
}

impl EnvSource for BTreeMap<String, String> {
    fn vars(&self) -> Vec<(String, String)> {
        self.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

impl EnvSource for Vec<(String, String)> {
    fn vars(&self) -> Vec<(String, String)> {
        self.clone()
    }
}

impl EnvSource for HashMap<String, String> {
    fn vars(&self) -> Vec<(String, String)> {
        self.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

impl<const N: usize> EnvSource for [(&str, &str); N] {
    fn vars(&self) -> Vec<(String, String)> {
        self.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

/// One configuration variable found in the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvOverride {
    /// The variable's name as set, e.g. `DUSTWATCH_LND__HOST`.
    pub var: String,
    /// The dotted settings key it sets, e.g. `lnd.host`.
    pub key: String,
    pub value: String,
    /// The key holds a list, so the value is split on `,`.
    pub is_list: bool,
}

/// The settings key a variable name sets, or `None` when the variable is not ours.
///
/// `DUSTWATCH_LND__HOST` → `lnd.host`. Names are case-insensitive, like the `config` crate's own
/// environment source; keys are always lowercase.
pub fn key_for_var(var: &str) -> Option<String> {
    let upper = var.to_ascii_uppercase();
    let rest = upper.strip_prefix(ENV_PREFIX)?;
    Some(rest.to_ascii_lowercase().replace(ENV_NESTING, "."))
}

/// The configuration variables in `env`, sorted by name so errors are deterministic.
///
/// `is_list_key` says which keys hold lists (decided from the defaults by the caller).
pub fn overrides(env: &dyn EnvSource, is_list_key: impl Fn(&str) -> bool) -> Vec<EnvOverride> {
    let mut found: Vec<EnvOverride> = env
        .vars()
        .into_iter()
        .filter_map(|(var, value)| {
            let key = key_for_var(&var)?;
            let is_list = is_list_key(&key);
            Some(EnvOverride {
                var,
                key,
                value,
                is_list,
            })
        })
        .collect();
    found.sort_by(|a, b| a.var.cmp(&b.var));
    found
}

/// A `config` source holding some environment overrides.
///
/// Values stay strings (the `config` crate parses them into the target type when deserializing,
/// so `"10009"` becomes a `u16` and `"30s"` a duration); list keys are split on `,`. Every value's
/// origin is its variable's name, which the `config` crate then quotes in its errors.
#[derive(Debug, Clone)]
pub struct EnvLayer {
    overrides: Vec<EnvOverride>,
}

impl EnvLayer {
    pub fn new(overrides: Vec<EnvOverride>) -> Self {
        EnvLayer { overrides }
    }
}

impl Source for EnvLayer {
    fn clone_into_box(&self) -> Box<dyn Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<Map<String, Value>, config::ConfigError> {
        Ok(self
            .overrides
            .iter()
            .map(|o| {
                let origin = Some(&o.var);
                let kind = if o.is_list {
                    ValueKind::Array(
                        split_list(&o.value)
                            .map(|item| Value::new(origin, ValueKind::String(item.to_string())))
                            .collect(),
                    )
                } else {
                    ValueKind::String(o.value.clone())
                };
                (o.key.clone(), Value::new(origin, kind))
            })
            .collect())
    }
}

/// Items of a list value; an empty (or all-blank) value is the empty list.
fn split_list(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(ENV_LIST_SEPARATOR)
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_nested_names_to_dotted_keys() {
        assert_eq!(
            key_for_var("DUSTWATCH_LND__HOST").as_deref(),
            Some("lnd.host")
        );
        assert_eq!(
            key_for_var("DUSTWATCH_ANALYSIS__HEALTH__DUST_WEIGHT").as_deref(),
            Some("analysis.health.dust_weight")
        );
        assert_eq!(
            key_for_var("dustwatch_log__level").as_deref(),
            Some("log.level")
        );
        assert_eq!(key_for_var("DUSTWATCHER_X"), None);
        assert_eq!(key_for_var("RUST_LOG"), None);
    }

    #[test]
    fn keeps_only_our_variables_sorted_and_flags_lists() {
        let env = [
            ("PATH", "/bin"),
            ("DUSTWATCH_POLL__INTERVAL", "30s"),
            ("DUSTWATCH_ANALYSIS__FEE_SPIKE_MULTIPLIERS", "2, 3"),
        ];
        let found = overrides(&env, |key| key == "analysis.fee_spike_multipliers");
        let names: Vec<_> = found.iter().map(|o| o.var.as_str()).collect();
        assert_eq!(
            names,
            [
                "DUSTWATCH_ANALYSIS__FEE_SPIKE_MULTIPLIERS",
                "DUSTWATCH_POLL__INTERVAL"
            ]
        );
        assert!(found[0].is_list);
        assert!(!found[1].is_list);
    }

    #[test]
    fn list_values_split_on_commas_and_blank_is_empty() {
        assert_eq!(
            split_list(" 2, 5 ,10 ").collect::<Vec<_>>(),
            ["2", "5", "10"]
        );
        assert_eq!(split_list("").count(), 0);
        assert_eq!(split_list(" , ").count(), 0);
    }
}
