//! Loading the configuration: built-in defaults < TOML file < environment, then validation.
//!
//! * The file (`--config`, default [`DEFAULT_CONFIG_PATH`]) is checked with `toml` first, which
//!   keeps spans, so a syntax error, an unknown key or a wrong type names the file, the dotted key
//!   and the line ([`file`]).
//! * The environment (`DUSTWATCH_LND__HOST=…`, `__` between nesting levels) is read through
//!   [`EnvSource`], so tests pass a map; a value that does not fit names its variable ([`env`]).
//! * The `config` crate merges the three layers into [`Settings`].
//! * [`validate`] then checks values that have the right type but make no sense; each problem names
//!   its key and where the value came from ([`Origin`]).
//! * [`render`] prints the effective configuration for `check-config`, secrets redacted.
//!
//! LND's certificate and macaroon are checked separately ([`LoadedConfig::check_lnd_files`]),
//! because only the commands that talk to LND need them.

mod env;
mod file;
mod lnd_paths;
mod render;
mod validate;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

pub use env::{key_for_var, EnvOverride, EnvSource, ProcessEnv, ENV_NESTING, ENV_PREFIX};
pub use lnd_paths::{expand_home, resolve as resolve_lnd_paths, PathSource, ResolvedLndPaths};
pub use render::{is_secret_key, RenderError, REDACTED};
pub use validate::{validate, Problem};

use crate::settings::Settings;
use env::EnvLayer;
use file::FileLayer;

/// Where the configuration file is looked for when `--config` is not given.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/dustwatch/dustwatch.toml";

/// Which configuration file to read, and whether it must exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigFile {
    /// The default path: when absent, the built-in defaults apply.
    Default(PathBuf),
    /// A path the operator named (`--config`): it must exist.
    Explicit(PathBuf),
}

impl ConfigFile {
    /// The file for a `--config` flag that may be absent.
    pub fn from_flag(flag: Option<PathBuf>) -> Self {
        match flag {
            Some(path) => ConfigFile::Explicit(path),
            None => ConfigFile::Default(PathBuf::from(DEFAULT_CONFIG_PATH)),
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            ConfigFile::Default(path) | ConfigFile::Explicit(path) => path,
        }
    }

    fn required(&self) -> bool {
        matches!(self, ConfigFile::Explicit(_))
    }
}

/// Where a setting's value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Nothing set it: the built-in default.
    Default,
    File {
        path: PathBuf,
        line: usize,
    },
    Env {
        var: String,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => write!(f, "built-in default"),
            Origin::File { path, line } => write!(f, "set in {}, line {line}", path.display()),
            Origin::Env { var } => write!(f, "set by environment variable {var}"),
        }
    }
}

/// A setting whose value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidValue {
    /// The dotted key, e.g. `lnd.macaroon_path`.
    pub key: String,
    pub origin: Origin,
    pub reason: String,
}

impl fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` ({}): {}", self.key, self.origin, self.reason)
    }
}

/// Everything that can be wrong with the configuration. All of them mean exit code 78.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {} does not exist", .path.display())]
    FileNotFound { path: PathBuf },

    #[error("cannot read config file {}: {source}", .path.display())]
    ReadFile { path: PathBuf, source: io::Error },

    /// A syntax error, an unknown key or a value of the wrong type in the file.
    #[error("{}", describe_file_error(.path, *.line, .key.as_deref(), .message))]
    File {
        path: PathBuf,
        /// 1-based; `None` only if `toml` could not say where (not seen in practice).
        line: Option<usize>,
        /// The dotted key, when the error is about one (a syntax error may not be).
        key: Option<String>,
        message: String,
    },

    /// An environment variable that names no setting or whose value does not fit the setting.
    #[error("environment variable {var} (key `{key}`): {message}")]
    Env {
        var: String,
        key: String,
        message: String,
    },

    /// Values of the right type that fail validation, or LND files that cannot be read.
    #[error("invalid configuration:{}", join_problems(.problems))]
    Invalid { problems: Vec<InvalidValue> },

    /// The layers could not be merged although each was checked: a bug, reported as config error.
    #[error("cannot merge the configuration layers: {0}")]
    Merge(#[source] ::config::ConfigError),

    #[error(transparent)]
    Render(#[from] RenderError),
}

fn describe_file_error(
    path: &Path,
    line: Option<usize>,
    key: Option<&str>,
    message: &str,
) -> String {
    let mut out = format!("config file {}", path.display());
    if let Some(line) = line {
        out.push_str(&format!(", line {line}"));
    }
    if let Some(key) = key {
        out.push_str(&format!(", key `{key}`"));
    }
    out.push_str(": ");
    out.push_str(message);
    out
}

/// One problem per line, so several are readable in a terminal and in the journal.
fn join_problems(problems: &[InvalidValue]) -> String {
    problems
        .iter()
        .map(|problem| format!("\n  - {problem}"))
        .collect()
}

/// Validated settings plus what is needed to explain them (origins) and to load them again.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub settings: Settings,
    /// The file that was asked for; reloading reads the same one.
    pub source: ConfigFile,
    file: Option<FileLayer>,
    env: Vec<EnvOverride>,
    /// How each node's certificate and macaroon paths were found (explicit or derived).
    lnd_paths: Vec<ResolvedLndPaths>,
}

/// Loads, merges and validates the configuration.
///
/// Does not check LND's files: see [`LoadedConfig::check_lnd_files`].
pub fn load(source: &ConfigFile, env: &dyn EnvSource) -> Result<LoadedConfig, ConfigError> {
    let file = file::read(source.path(), source.required())?;
    let defaults = toml::Table::try_from(Settings::default())
        .map_err(|err| ConfigError::Render(RenderError::Serialize(err)))?;
    let overrides = env::overrides(env, |key| {
        matches!(lookup(&defaults, key), Some(toml::Value::Array(_)))
    });
    let mut settings = merge(file.as_ref(), &overrides)?;
    let home = env
        .vars()
        .into_iter()
        .find(|(name, value)| name == "HOME" && !value.is_empty())
        .map(|(_, value)| PathBuf::from(value));
    let lnd_paths = lnd_paths::resolve(&mut settings, home.as_deref());
    let loaded = LoadedConfig {
        settings,
        source: source.clone(),
        file,
        env: overrides,
        lnd_paths,
    };
    let problems: Vec<InvalidValue> = validate(&loaded.settings)
        .into_iter()
        .map(|p| loaded.invalid(p.key, p.reason))
        .collect();
    if problems.is_empty() {
        Ok(loaded)
    } else {
        Err(ConfigError::Invalid { problems })
    }
}

impl LoadedConfig {
    /// Loads the same file again with the current environment (for a reload on SIGHUP).
    pub fn reload(&self, env: &dyn EnvSource) -> Result<LoadedConfig, ConfigError> {
        load(&self.source, env)
    }

    /// The file that was read, or `None` when the default file was absent.
    pub fn file_path(&self) -> Option<&Path> {
        self.file.as_ref().map(|f| f.path.as_path())
    }

    /// The configuration variables that were applied, sorted.
    pub fn env_vars(&self) -> impl Iterator<Item = &str> {
        self.env.iter().map(|o| o.var.as_str())
    }

    /// Where the value of `key` (or, for a section, of anything in it) came from.
    /// The environment wins over the file, as when merging.
    pub fn origin(&self, key: &str) -> Origin {
        let nested = format!("{key}.");
        if let Some(o) = self
            .env
            .iter()
            .find(|o| o.key == key || o.key.starts_with(&nested))
        {
            return Origin::Env { var: o.var.clone() };
        }
        if let Some(file) = &self.file {
            if let Some(line) = file.line_of(key) {
                return Origin::File {
                    path: file.path.clone(),
                    line,
                };
            }
        }
        Origin::Default
    }

    /// Checks that LND's TLS certificate and macaroon are readable regular files, that the
    /// certificate file holds at least one X.509 certificate in PEM, and that the macaroon is
    /// not empty: every fault in them is then a configuration error (78), found before LND is
    /// contacted.
    ///
    /// Only commands that connect to LND call this; `analyze`, `demo`, `plan` and `sim` work
    /// without them. The macaroon is opened and its size read, never its bytes, so nothing
    /// secret can leak into errors.
    /// With `[[nodes]]`, every node's effective files are checked, named `nodes[i].lnd.…`.
    pub fn check_lnd_files(&self) -> Result<(), ConfigError> {
        let mut problems: Vec<InvalidValue> = Vec::new();
        for resolved in &self.lnd_paths {
            for (field, (path, how)) in [
                ("tls_cert_path", &resolved.tls_cert),
                ("macaroon_path", &resolved.macaroon),
            ] {
                let checked = match check_readable_file(path) {
                    Err(err) => Err(format!("cannot read {} ({how}): {err}", path.display())),
                    Ok(size) if field == "macaroon_path" && size == 0 => {
                        Err(format!("the macaroon file {} is empty", path.display()))
                    }
                    Ok(_) if field == "tls_cert_path" => check_certificate(path),
                    Ok(_) => Ok(()),
                };
                if let Err(reason) = checked {
                    let hint = match how {
                        PathSource::Explicit => String::new(),
                        PathSource::Derived { .. } => format!(
                            "; set `{0}.lnddir` and `{0}.network` to where LND keeps its files, \
                             or `{0}.{field}` itself",
                            resolved.prefix
                        ),
                    };
                    problems.push(self.invalid(
                        format!("{}.{field}", resolved.prefix),
                        format!("{reason}{hint}"),
                    ));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid { problems })
        }
    }

    /// How each node's certificate and macaroon paths were found, top level or `[[nodes]]`.
    pub fn lnd_paths(&self) -> &[ResolvedLndPaths] {
        &self.lnd_paths
    }

    /// One comment line per path tried, for `check-config`.
    pub fn describe_lnd_paths(&self) -> String {
        let mut out = String::new();
        for resolved in &self.lnd_paths {
            for (field, (path, how)) in [
                ("tls_cert_path", &resolved.tls_cert),
                ("macaroon_path", &resolved.macaroon),
            ] {
                out.push_str(&format!(
                    "# {}.{field}: tried {} ({how})\n",
                    resolved.prefix,
                    path.display()
                ));
            }
        }
        out
    }

    /// The effective configuration as commented TOML with secret-like values redacted.
    pub fn render(&self) -> Result<String, ConfigError> {
        let mut out = String::from("# dustwatch: effective configuration\n");
        match &self.file {
            Some(file) => out.push_str(&format!("# file: {}\n", file.path.display())),
            None => out.push_str(&format!(
                "# file: {} (absent: built-in defaults)\n",
                self.source.path().display()
            )),
        }
        let vars: Vec<&str> = self.env_vars().collect();
        if vars.is_empty() {
            out.push_str("# environment: no DUSTWATCH_* variables\n");
        } else {
            out.push_str(&format!("# environment: {}\n", vars.join(", ")));
        }
        if self.settings.metrics.listen.is_none() {
            out.push_str("# metrics.listen is unset: the metrics endpoint is off\n");
        }
        out.push_str(&format!("# secret-like values are shown as {REDACTED}\n\n"));
        out.push_str(&render::redacted_toml(&self.settings)?);
        Ok(out)
    }

    fn invalid(&self, key: String, reason: String) -> InvalidValue {
        InvalidValue {
            origin: self.origin(&key),
            key,
            reason,
        }
    }
}

/// Opens `path` (non-blocking: a FIFO must not hang the check) and returns its size if it is
/// a regular file.
fn check_readable_file(path: &Path) -> io::Result<u64> {
    let file = crate::sink::plan_file::open_regular(path)?;
    Ok(file.metadata()?.len())
}

/// The largest certificate file read: LND's is under 1 kB.
const MAX_CERT_FILE_BYTES: u64 = 1 << 20;

/// LND's certificate file must hold at least one PEM certificate that parses as X.509.
fn check_certificate(path: &Path) -> Result<(), String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let text = crate::sink::plan_file::read_regular_to_string(path, MAX_CERT_FILE_BYTES)
        .map_err(|err| match err.kind() {
            io::ErrorKind::InvalidData => format!(
                "{} is not a PEM certificate file (binary or too large); point it at LND's tls.cert",
                path.display()
            ),
            _ => format!("cannot read {}: {err}", path.display()),
        })?;
    let certificates = CertificateDer::pem_slice_iter(text.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| format!("{} is not a PEM certificate file: {err}", path.display()))?;
    if certificates.is_empty() {
        return Err(format!(
            "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----); point it at LND's tls.cert",
            path.display()
        ));
    }
    for der in &certificates {
        x509_parser::parse_x509_certificate(der).map_err(|err| {
            format!(
                "{} holds a certificate that does not parse: {err}",
                path.display()
            )
        })?;
    }
    Ok(())
}

/// Merges defaults < file < environment with the `config` crate.
///
/// The file was already checked against [`Settings`], so a failure here comes from the
/// environment: each variable is then tried alone to name the one at fault.
fn merge(file: Option<&FileLayer>, env: &[EnvOverride]) -> Result<Settings, ConfigError> {
    match merge_layers(file, env) {
        Ok(settings) => Ok(settings),
        Err(all_err) => {
            for single in env {
                if let Err(err) = merge_layers(file, std::slice::from_ref(single)) {
                    return Err(ConfigError::Env {
                        var: single.var.clone(),
                        key: single.key.clone(),
                        message: env_message(&err, single),
                    });
                }
            }
            Err(ConfigError::Merge(all_err))
        }
    }
}

fn merge_layers(
    file: Option<&FileLayer>,
    env: &[EnvOverride],
) -> Result<Settings, ::config::ConfigError> {
    let mut builder =
        ::config::Config::builder().add_source(::config::Config::try_from(&Settings::default())?);
    if let Some(file) = file {
        builder = builder.add_source(::config::File::from_str(
            &file.text,
            ::config::FileFormat::Toml,
        ));
    }
    builder
        .add_source(EnvLayer::new(env.to_vec()))
        .build()?
        .try_deserialize()
}

/// The `config` crate's message without the parts the caller already says (key and variable).
fn env_message(err: &::config::ConfigError, single: &EnvOverride) -> String {
    let text = err.to_string();
    let text = text
        .trim_end_matches(&format!(" in {}", single.var))
        .trim_end_matches(&format!(" for key `{}`", single.key))
        .to_string();
    if text.starts_with("unknown field") || text.contains("missing field") {
        format!(
            "{text} (no such setting; nesting levels are separated by `{ENV_NESTING}`, e.g. {ENV_PREFIX}LND{ENV_NESTING}HOST)"
        )
    } else {
        text
    }
}

/// The value at dotted `key` in `table`.
fn lookup<'a>(table: &'a toml::Table, key: &str) -> Option<&'a toml::Value> {
    let mut parts = key.split('.');
    let mut value = table.get(parts.next()?)?;
    for part in parts {
        value = value.as_table()?.get(part)?;
    }
    Some(value)
}
