//! The streaming reader's state: what it gathered, the version check, and how a stopped read
//! becomes a [`PlanError`]; [`Place`] names where in the plan a field is.

use std::fmt;
use std::sync::Arc;

use serde::de;

use super::{sorted_by_channel, sorted_distinct, PlanDigest};
use crate::model::ChanId;
use crate::plan::{Alert, FeeRateMemory, PlanError, SCHEMA_VERSION};

/// How a failure raised inside the reader is reported, when serde_json classifies it as a data
/// error (syntax and I/O errors are classified by serde_json itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fail {
    /// The document is not a JSON object with one `schema_version`: not a plan at all.
    Json,
    /// A v1 plan with a digested field of the wrong shape.
    Invalid,
}

/// Everything the streaming reader gathers, and what went wrong so far.
#[derive(Default)]
pub(super) struct ReadState {
    /// `schema_version` was seen and is 1; from then on a wrong shape is an error at once.
    pub(super) version_ok: bool,
    pub(super) seen_version: bool,
    /// A version refusal; reported instead of whatever error stopped the parser.
    pub(super) refusal: Option<PlanError>,
    pub(super) fail: Option<Fail>,
    /// The first wrong shape seen while the version was unknown, with where it was.
    pub(super) first_mismatch: Option<String>,
    pub(super) generated_at: Option<String>,
    pub(super) seen_channels: bool,
    pub(super) alerts: Option<Vec<Alert>>,
    pub(super) action_ids: Vec<String>,
    pub(super) outgoing_dust_channels: Vec<String>,
    pub(super) fee_rates: Vec<(ChanId, FeeRateMemory)>,
}

impl ReadState {
    /// Notes a field of the wrong shape at `place`. Once the version is known to be 1 this is
    /// an error (serde_json adds the position); before that, it is remembered and reading goes
    /// on, so that the version decides the error.
    pub(super) fn mismatch<E: de::Error>(
        &mut self,
        place: Place,
        found: impl fmt::Display,
    ) -> Result<(), E> {
        let message = format!("{place}: {found}");
        if self.version_ok {
            self.fail = Some(Fail::Invalid);
            Err(E::custom(message))
        } else {
            self.first_mismatch.get_or_insert(message);
            Ok(())
        }
    }

    pub(super) fn check_version<E: de::Error>(
        &mut self,
        value: serde_json::Value,
    ) -> Result<(), E> {
        if self.seen_version {
            self.fail = Some(Fail::Json);
            return Err(E::custom("duplicate field `schema_version`"));
        }
        self.seen_version = true;
        match value {
            // `read_plan` reads the version as an `Option`, so `null` is a missing version.
            serde_json::Value::Null => {
                self.refusal = Some(PlanError::MissingSchemaVersion);
                Err(E::custom("schema_version is null"))
            }
            serde_json::Value::Number(n) if n.as_u64() == Some(u64::from(SCHEMA_VERSION)) => {
                self.version_ok = true;
                Ok(())
            }
            other => {
                let found = other.to_string();
                let message = format!("unsupported schema_version {found}");
                self.refusal = Some(PlanError::UnsupportedSchemaVersion {
                    found,
                    supported: SCHEMA_VERSION,
                });
                Err(E::custom(message))
            }
        }
    }

    /// The error for a parse that stopped early.
    pub(super) fn classify(self, err: serde_json::Error) -> PlanError {
        if let Some(refusal) = self.refusal {
            return refusal;
        }
        match err.classify() {
            serde_json::error::Category::Io => PlanError::Read(err.into()),
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                PlanError::Json(err)
            }
            serde_json::error::Category::Data => match self.fail {
                Some(Fail::Invalid) => PlanError::Invalid {
                    supported: SCHEMA_VERSION,
                    source: err,
                },
                // Nothing inside a plan raised it: the document itself is not an object.
                Some(Fail::Json) | None => PlanError::Json(err),
            },
        }
    }

    /// The digest of a document read to the end, or why it is not a v1 plan.
    pub(super) fn finish(self) -> Result<PlanDigest, PlanError> {
        if !self.version_ok {
            return Err(PlanError::MissingSchemaVersion);
        }
        let invalid = |message: String| PlanError::Invalid {
            supported: SCHEMA_VERSION,
            source: de::Error::custom(message),
        };
        if let Some(message) = self.first_mismatch {
            return Err(invalid(message));
        }
        let missing = |field: &str| invalid(format!("missing field `{field}`"));
        let generated_at = self.generated_at.ok_or_else(|| missing("generated_at"))?;
        if !self.seen_channels {
            return Err(missing("channels"));
        }
        let alerts = self.alerts.ok_or_else(|| missing("alerts"))?;
        Ok(PlanDigest {
            generated_at,
            // Shared only after de-duplication: a rebalance is listed by both its channels.
            action_ids: sorted_distinct(self.action_ids)
                .into_iter()
                .map(Arc::from)
                .collect(),
            outgoing_dust_channels: sorted_distinct(self.outgoing_dust_channels),
            fee_rates: sorted_by_channel(self.fee_rates),
            alerts,
        })
    }
}

/// Where in the plan a field is, for error messages (`channels[3].htlcs[0].incoming`).
#[derive(Debug, Clone, Copy)]
pub(super) enum Place {
    Plan(&'static str),
    Channel(usize, Option<&'static str>),
    Htlc(usize, usize, Option<&'static str>),
    Recommendations(usize, &'static str),
    Action(usize, usize, Option<&'static str>),
    Alert(usize),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = |f: &mut fmt::Formatter<'_>, name: &Option<&str>| match name {
            Some(name) => write!(f, ".{name}"),
            None => Ok(()),
        };
        match self {
            Place::Plan(name) => write!(f, "{name}"),
            Place::Channel(c, name) => {
                write!(f, "channels[{c}]")?;
                field(f, name)
            }
            Place::Htlc(c, h, name) => {
                write!(f, "channels[{c}].htlcs[{h}]")?;
                field(f, name)
            }
            Place::Recommendations(c, name) => write!(f, "channels[{c}].recommendations.{name}"),
            Place::Action(c, a, name) => {
                write!(f, "channels[{c}].recommendations.actions[{a}]")?;
                field(f, name)
            }
            Place::Alert(a) => write!(f, "alerts[{a}]"),
        }
    }
}
