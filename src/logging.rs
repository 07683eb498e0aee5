//! Logging: `tracing` events to text or JSON on stderr, or to the systemd journal.
//!
//! The level comes from `log.level`, unless `RUST_LOG` is set (it wins, as operators expect).
//! A reload (SIGHUP) applies a changed `log.level` through [`reload_level`]; `log.format` takes
//! a restart.
//! [`build`] takes the writer and the journald connector as parameters so tests capture output
//! and decide whether a journal exists; [`init`] wires the real ones and installs the result.
//!
//! # Alerts
//!
//! An alert is **one** event with a stable machine-readable `alert` code field plus the fields
//! that explain it; scripts and log shippers select on the code, humans read the message. Emit
//! them with [`alert!`](crate::alert) (a thin wrapper over `tracing`'s level macros that always
//! sets the field), never by formatting the code into the message:
//!
//! ```
//! let chan_id = 812345678901234567_u64;
//! dustwatch::alert!(
//!     warn,
//!     "fee_exposure_near_limit",
//!     chan_id = %chan_id,
//!     exposure_sat = 420_000_u64,
//!     limit_sat = 500_000_u64,
//!     "fee exposure is at 84% of the node's limit"
//! );
//! // … which is exactly:
//! tracing::warn!(alert = "fee_exposure_near_limit", chan_id = %chan_id, "fee exposure is high");
//! ```
//!
//! With `log.format = "json"` the event is one line with `"alert":"fee_exposure_near_limit"` at
//! the top level; with `journald` the field is `F_ALERT` (journald fields get the `F_` prefix so a
//! field never clobbers journald's own, such as `PRIORITY`):
//! `journalctl -u dustwatch F_ALERT=fee_exposure_near_limit`.

use std::io::{self, IsTerminal};
use std::sync::OnceLock;

use tracing::Dispatch;
use tracing_subscriber::filter::{EnvFilter, ParseError};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Layered, SubscriberExt};
use tracing_subscriber::{reload, Layer, Registry};

use crate::settings::{LogFormat, LogSettings};

/// The name of the field that carries an alert's stable code.
pub const ALERT_FIELD: &str = "alert";

/// Emits an alert: one `tracing` event at the given level with the stable `alert` code field.
///
/// `alert!(level, "code", fields…, "message")` where `level` is `error`, `warn` or `info`.
/// See the [module documentation](crate::logging) for the conventions.
#[macro_export]
macro_rules! alert {
    ($level:ident, $code:expr, $($rest:tt)+) => {
        ::tracing::$level!(alert = $code, $($rest)+)
    };
}

/// Errors while setting up logging.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// `RUST_LOG` or `log.level` is not a valid filter.
    #[error("{origin} is not a valid tracing filter ({directive:?}): {source}")]
    Filter {
        /// `RUST_LOG` or `log.level`.
        origin: &'static str,
        directive: String,
        source: ParseError,
    },
    /// Another subscriber was installed first: a bug in the caller.
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled(#[from] tracing::dispatcher::SetGlobalDefaultError),
    /// The subscriber whose level was to change is gone.
    #[error("cannot change the log level: {0}")]
    Reload(#[from] reload::Error),
}

impl LoggingError {
    /// Whether the operator can fix this in the configuration or environment.
    pub fn is_config_error(&self) -> bool {
        matches!(self, LoggingError::Filter { .. })
    }
}

/// A subscriber ready to install, and whether journald was asked for but unavailable.
pub struct Logging {
    pub dispatch: Dispatch,
    /// Changes the level of `dispatch` while it runs.
    pub level: LevelHandle,
    /// Set when `log.format = "journald"` but the journal could not be reached; the subscriber
    /// then writes text to the fallback writer, and the caller should say so once it is installed.
    pub journald_unavailable: Option<io::Error>,
}

/// The layer type after the filter; every format is boxed to this so they share one subscriber.
type Filtered = Layered<reload::Layer<EnvFilter, Registry>, Registry>;

/// Changes the level of a running subscriber (`log.level` on reload). `RUST_LOG`, when set,
/// keeps winning, as it did at start.
#[derive(Clone)]
pub struct LevelHandle {
    handle: reload::Handle<EnvFilter, Registry>,
    rust_log: Option<String>,
}

/// What [`LevelHandle::apply`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LevelChange {
    /// The filter now follows `log.level`.
    Applied,
    /// `RUST_LOG` is set and wins over `log.level`.
    OverriddenByRustLog,
}

impl LevelHandle {
    /// Sets the filter from `settings.level` (unless `RUST_LOG` is set). An invalid level is an
    /// error and leaves the current filter in place.
    pub fn apply(&self, settings: &LogSettings) -> Result<LevelChange, LoggingError> {
        if self.rust_log.is_some() {
            return Ok(LevelChange::OverriddenByRustLog);
        }
        let filter = filter(settings, None)?;
        self.handle.reload(filter)?;
        Ok(LevelChange::Applied)
    }
}

/// The level handle of the subscriber [`init`] installed: the process has one global
/// subscriber, so its handle is global too.
static INSTALLED_LEVEL: OnceLock<LevelHandle> = OnceLock::new();

/// Applies `settings.level` to the installed subscriber; `None` when [`init`] never ran (tests,
/// embedders with their own subscriber).
pub fn reload_level(settings: &LogSettings) -> Option<Result<LevelChange, LoggingError>> {
    INSTALLED_LEVEL.get().map(|level| level.apply(settings))
}
type FormatLayer = Box<dyn Layer<Filtered> + Send + Sync>;

/// Builds the subscriber for `settings`.
///
/// * `rust_log`: the value of `RUST_LOG`, if set and not blank; it wins over `settings.level`.
/// * `writer`: where text and JSON go (stderr in production, a buffer in tests).
/// * `ansi`: colour the text format (only when writing to a terminal).
/// * `connect_journald`: opens the journal; its failure selects the text fallback.
pub fn build<W, J>(
    settings: &LogSettings,
    rust_log: Option<&str>,
    writer: W,
    ansi: bool,
    connect_journald: J,
) -> Result<Logging, LoggingError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
    J: FnOnce() -> io::Result<tracing_journald::Layer>,
{
    let (filter, handle) = reload::Layer::new(filter(settings, rust_log)?);
    let level = LevelHandle {
        handle,
        rust_log: rust_log
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    };
    let text = |writer: W| -> FormatLayer {
        tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(ansi)
            .boxed()
    };
    let (layer, journald_unavailable) = match settings.format {
        LogFormat::Text => (text(writer), None),
        LogFormat::Json => (
            tracing_subscriber::fmt::layer()
                .json()
                // Event fields (`alert`, `chan_id`, …) at the top level, where `jq` and log
                // shippers look for them.
                .flatten_event(true)
                .with_writer(writer)
                .boxed(),
            None,
        ),
        LogFormat::Journald => match connect_journald() {
            Ok(journald) => (journald.boxed(), None),
            Err(err) => (text(writer), Some(err)),
        },
    };
    let subscriber = Registry::default().with(filter).with(layer);
    Ok(Logging {
        dispatch: Dispatch::new(subscriber),
        level,
        journald_unavailable,
    })
}

/// Installs logging for the process: stderr for text and JSON, the journal for `journald`.
///
/// `rust_log` is the value of `RUST_LOG` (passed in so the caller decides where it comes from).
pub fn init(settings: &LogSettings, rust_log: Option<&str>) -> Result<(), LoggingError> {
    let ansi = io::stderr().is_terminal();
    let logging = build(
        settings,
        rust_log,
        io::stderr,
        ansi,
        tracing_journald::layer,
    )?;
    tracing::dispatcher::set_global_default(logging.dispatch)?;
    // Only the first install succeeds (above), so this cannot already be set.
    let _ = INSTALLED_LEVEL.set(logging.level);
    if let Some(err) = logging.journald_unavailable {
        tracing::warn!(
            error = %err,
            "log.format is journald but the journal is not reachable; logging text to stderr instead"
        );
    }
    Ok(())
}

fn filter(settings: &LogSettings, rust_log: Option<&str>) -> Result<EnvFilter, LoggingError> {
    let (origin, directive) = match rust_log.map(str::trim).filter(|s| !s.is_empty()) {
        Some(from_env) => ("RUST_LOG", from_env),
        None => ("log.level", settings.level.as_str()),
    };
    EnvFilter::try_new(directive).map_err(|source| LoggingError::Filter {
        origin,
        directive: directive.to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A `MakeWriter` whose output the test reads back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Captured {
        fn text(&self) -> String {
            let bytes = self
                .0
                .lock()
                .expect("no test thread panicked holding the lock");
            String::from_utf8(bytes.clone()).expect("log output is UTF-8")
        }
    }

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .expect("no test thread panicked holding the lock")
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Captured {
        type Writer = Captured;
        fn make_writer(&'w self) -> Self::Writer {
            self.clone()
        }
    }

    fn no_journal() -> io::Result<tracing_journald::Layer> {
        Err(io::Error::new(io::ErrorKind::NotFound, "no journal socket"))
    }

    fn settings(format: LogFormat, level: &str) -> LogSettings {
        LogSettings {
            format,
            level: level.to_string(),
        }
    }

    fn capture(
        settings: &LogSettings,
        rust_log: Option<&str>,
        emit: impl FnOnce(),
    ) -> (String, Logging) {
        let out = Captured::default();
        let logging = build(settings, rust_log, out.clone(), false, no_journal).expect("builds");
        tracing::dispatcher::with_default(&logging.dispatch, emit);
        (out.text(), logging)
    }

    #[test]
    fn the_level_handle_changes_the_running_filter_unless_rust_log_is_set() {
        let out = Captured::default();
        let logging = build(
            &settings(LogFormat::Text, "info"),
            None,
            out.clone(),
            false,
            no_journal,
        )
        .expect("builds");
        tracing::dispatcher::with_default(&logging.dispatch, || {
            tracing::debug!("hidden");
            let change = logging.level.apply(&settings(LogFormat::Text, "debug"));
            assert_eq!(change.expect("valid level"), LevelChange::Applied);
            tracing::debug!("shown");
        });
        let text = out.text();
        assert!(!text.contains("hidden") && text.contains("shown"), "{text}");

        let pinned = build(
            &settings(LogFormat::Text, "info"),
            Some("warn"),
            Captured::default(),
            false,
            no_journal,
        )
        .expect("builds");
        assert_eq!(
            pinned
                .level
                .apply(&settings(LogFormat::Text, "debug"))
                .expect("ok"),
            LevelChange::OverriddenByRustLog
        );
    }

    #[test]
    fn json_alert_has_top_level_alert_field() {
        let (text, _) = capture(&settings(LogFormat::Json, "info"), None, || {
            crate::alert!(
                warn,
                "fee_exposure_near_limit",
                chan_id = %"812345678901234567",
                exposure_sat = 420_000_u64,
                "fee exposure near the limit"
            );
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "one event, one line: {text}");
        let event: serde_json::Value = serde_json::from_str(lines[0]).expect("JSON line");
        assert_eq!(event[ALERT_FIELD], "fee_exposure_near_limit", "{event}");
        assert_eq!(event["chan_id"], "812345678901234567");
        assert_eq!(event["exposure_sat"], 420_000);
        assert_eq!(event["level"], "WARN");
        assert_eq!(event["message"], "fee exposure near the limit");
    }

    #[test]
    fn text_format_writes_alert_field() {
        let (text, _) = capture(&settings(LogFormat::Text, "info"), None, || {
            crate::alert!(
                error,
                "htlc_expiry_soon",
                blocks_to_expiry = 12,
                "HTLC expires soon"
            );
        });
        assert!(text.contains("alert=\"htlc_expiry_soon\""), "{text}");
        assert!(text.contains("ERROR"), "{text}");
    }

    #[test]
    fn level_comes_from_settings() {
        let (text, _) = capture(&settings(LogFormat::Text, "warn"), None, || {
            tracing::info!("hidden");
            tracing::warn!("shown");
        });
        assert!(!text.contains("hidden"), "{text}");
        assert!(text.contains("shown"), "{text}");
    }

    #[test]
    fn rust_log_wins_over_settings() {
        let (text, _) = capture(&settings(LogFormat::Text, "warn"), Some("debug"), || {
            tracing::debug!("debug shown");
        });
        assert!(text.contains("debug shown"), "{text}");

        let (text, _) = capture(&settings(LogFormat::Text, "debug"), Some("error"), || {
            tracing::warn!("warn hidden");
        });
        assert!(!text.contains("warn hidden"), "{text}");
    }

    #[test]
    fn blank_rust_log_is_ignored() {
        let (text, _) = capture(&settings(LogFormat::Text, "info"), Some("  "), || {
            tracing::info!("info shown");
        });
        assert!(text.contains("info shown"), "{text}");
    }

    #[test]
    fn invalid_rust_log_is_a_config_error_naming_it() {
        let err = build(
            &settings(LogFormat::Text, "info"),
            Some("dustwatch=loud"),
            Captured::default(),
            false,
            no_journal,
        )
        .err()
        .expect("rejected");
        assert!(err.is_config_error());
        assert!(err.to_string().starts_with("RUST_LOG"), "{err}");
    }

    #[test]
    fn journald_without_journal_falls_back_to_text() {
        let (text, logging) = capture(&settings(LogFormat::Journald, "info"), None, || {
            tracing::info!(alert = "x_test", "still logged");
        });
        assert!(logging.journald_unavailable.is_some());
        assert!(text.contains("still logged"), "{text}");
        assert!(text.contains("alert=\"x_test\""), "{text}");
    }

    #[test]
    fn journald_connector_is_not_called_for_other_formats() {
        for format in [LogFormat::Text, LogFormat::Json] {
            let logging = build(
                &settings(format, "info"),
                None,
                Captured::default(),
                false,
                || -> io::Result<tracing_journald::Layer> {
                    panic!("journald must not be opened for {format:?}")
                },
            )
            .expect("builds");
            assert!(logging.journald_unavailable.is_none());
        }
    }
}
