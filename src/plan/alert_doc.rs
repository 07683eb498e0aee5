//! An alert as a schema v3 plan file lays it out, and how reading fills back what it leaves out.
//!
//! An HTLC expiry alert's sum, first HTLC and its blocks to expiry are its channel's listed HTLC
//! rows at `warn` or `critical` (every such row is listed), so v3 leaves them out when they are
//! exactly that. A message that [`AlertContext::message`] rebuilds word for word from the alert's
//! figures, its channel and `source.htlc_expiry` is left out too. Anything else is written as
//! before, so an alert reads back equal whatever it says.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{
    alert_text, ids, Alert, AlertCode, ChannelPlan, ExpiryStatus, HtlcExpiryThresholds, Severity,
    Text,
};
use crate::model::ChanId;

/// What an alert's left-out parts follow from: the plan's channels (sorted by id, as a plan
/// keeps them) and its expiry thresholds.
#[derive(Clone, Copy)]
pub(super) struct AlertContext<'a> {
    pub channels: &'a [ChannelPlan],
    pub htlc_expiry: Option<HtlcExpiryThresholds>,
}

/// The HTLC figures of an expiry alert as its channel's rows give them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RowFigures {
    words: alert_text::ExpiringHtlcs,
    first_blocks: Option<i64>,
}

impl AlertContext<'_> {
    fn channel(&self, chan_id: Option<ChanId>) -> Option<&ChannelPlan> {
        let id = chan_id?;
        let at = self
            .channels
            .binary_search_by_key(&id, |c| c.chan_id)
            .ok()?;
        Some(&self.channels[at])
    }

    /// For an HTLC expiry alert: how many of the channel's HTLCs are at `warn` or `critical`,
    /// their sum and the soonest (by blocks to expiry, then index), as the analyzer counts them.
    fn rows(&self, code: AlertCode, chan_id: Option<ChanId>) -> Option<RowFigures> {
        let thresholds = self.htlc_expiry?;
        let within_blocks = match code {
            AlertCode::HtlcExpiryCritical => thresholds.critical_blocks,
            AlertCode::HtlcExpirySoon => thresholds.warn_blocks,
            _ => return None,
        };
        let channel = self.channel(chan_id)?;
        let at_risk = channel
            .htlcs
            .iter()
            .filter(|h| matches!(h.expiry, ExpiryStatus::Warn | ExpiryStatus::Critical));
        let (mut count, mut sum_sat, mut first) = (0usize, 0u64, None);
        for h in at_risk {
            count += 1;
            sum_sat = sum_sat.saturating_add(h.amount_sat);
            let key = (h.blocks_to_expiry, h.htlc_index);
            if first.is_none_or(|(blocks, index)| key < (blocks, index)) {
                first = Some(key);
            }
        }
        let (first_blocks, first_index) = first?;
        Some(RowFigures {
            words: alert_text::ExpiringHtlcs {
                count,
                sum_sat,
                first_index,
                first_blocks: first_blocks.unwrap_or(0),
                within_blocks,
                dust_to_miners_sat: channel.dust.local_commitment.trimmed_htlc_sat,
                below_force_close_cost: false,
            },
            first_blocks,
        })
    }

    /// The message of an alert with these figures, where its figures and its channel say it
    /// all; `None` for alerts whose words carry more (warnings, refused forwards).
    fn message(&self, a: &Figures) -> Option<String> {
        let channel = || self.channel(a.chan_id);
        Some(match a.code {
            AlertCode::FeeExposureOverLimit => {
                alert_text::exposure_over_limit(a.amount_sat?, a.limit_sat?)
            }
            AlertCode::FeeExposureNearLimit => alert_text::exposure_near_limit(
                a.amount_sat?,
                channel()?.dust.exposure_ratio,
                a.limit_sat?,
            ),
            AlertCode::FeeSpikeOverLimit => {
                let spike = channel()?.dust.fee_spike.iter().find(|s| s.exceeds_limit)?;
                alert_text::fee_spike_over_limit(
                    spike.multiplier,
                    spike.feerate_per_kw,
                    a.amount_sat?,
                    a.limit_sat?,
                )
            }
            AlertCode::HtlcExpiryCritical | AlertCode::HtlcExpirySoon => {
                let rows = self.rows(a.code, a.chan_id)?.words;
                alert_text::htlc_expiry(&alert_text::ExpiringHtlcs {
                    sum_sat: a.amount_sat?,
                    first_index: a.htlc_index?,
                    first_blocks: a.blocks_to_expiry.unwrap_or(0),
                    below_force_close_cost: a.code == AlertCode::HtlcExpiryCritical
                        && a.severity == Severity::Warn,
                    ..rows
                })
            }
            AlertCode::DustPendingForceCloseRisk => {
                alert_text::dust_pending_peer_offline(a.amount_sat?)
            }
            AlertCode::CommitFeeMismatch => {
                alert_text::commit_fee_mismatch(a.amount_sat?, a.limit_sat?)
            }
            AlertCode::ChainNotSynced => alert_text::CHAIN_NOT_SYNCED.to_string(),
            _ => return None,
        })
    }
}

/// An alert's figures, without its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Figures {
    code: AlertCode,
    severity: Severity,
    chan_id: Option<ChanId>,
    amount_sat: Option<u64>,
    limit_sat: Option<u64>,
    htlc_index: Option<u64>,
    blocks_to_expiry: Option<i64>,
}

impl Figures {
    fn of(a: &Alert) -> Self {
        Figures {
            code: a.code,
            severity: a.severity,
            chan_id: a.chan_id,
            amount_sat: a.amount_sat,
            limit_sat: a.limit_sat,
            htlc_index: a.htlc_index,
            blocks_to_expiry: a.blocks_to_expiry,
        }
    }

    /// Whether the HTLC figures are the ones the rows give (then the file leaves them out).
    fn follow_rows(&self, rows: Option<RowFigures>) -> bool {
        rows.is_some_and(|r| {
            self.amount_sat == Some(r.words.sum_sat)
                && self.htlc_index == Some(r.words.first_index)
                && self.blocks_to_expiry == r.first_blocks
        })
    }
}

/// A value written as itself (`null` for `None`), or left out.
struct Written<T>(Option<Option<T>>);

impl<T> Written<T> {
    fn is_left_out(&self) -> bool {
        self.0.is_none()
    }
}

impl<T: Serialize> Serialize for Written<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.as_ref().and_then(Option::as_ref).serialize(s)
    }
}

#[derive(Serialize)]
struct AlertView<'a> {
    code: AlertCode,
    severity: Severity,
    #[serde(with = "ids::opt_chan_id", skip_serializing_if = "Option::is_none")]
    chan_id: Option<ChanId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Written::is_left_out")]
    amount_sat: Written<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit_sat: Option<u64>,
    #[serde(skip_serializing_if = "Written::is_left_out")]
    htlc_index: Written<u64>,
    #[serde(skip_serializing_if = "Written::is_left_out")]
    blocks_to_expiry: Written<i64>,
}

/// An alert to write, with what its left-out parts follow from.
pub(super) struct AlertDoc<'a> {
    pub alert: &'a Alert,
    pub context: AlertContext<'a>,
}

impl Serialize for AlertDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = self.alert;
        let figures = Figures::of(a);
        let rows = self.context.rows(a.code, a.chan_id);
        // Left out only when the rows give them back; otherwise written, `null`s included for
        // an expiry alert, whose absent figures would read as the rows'.
        let left_out = figures.follow_rows(rows);
        let expiry_alert = rows.is_some();
        fn write<T>(v: Option<T>, left_out: bool, expiry_alert: bool) -> Written<T> {
            if left_out || !(expiry_alert || v.is_some()) {
                Written(None)
            } else {
                Written(Some(v))
            }
        }
        let text = a.message.text();
        let rebuilt = self.context.message(&figures);
        AlertView {
            code: a.code,
            severity: a.severity,
            chan_id: a.chan_id,
            message: (rebuilt.as_deref() != Some(&*text)).then_some(text),
            amount_sat: write(a.amount_sat, left_out, expiry_alert),
            limit_sat: a.limit_sat,
            htlc_index: write(a.htlc_index, left_out, expiry_alert),
            blocks_to_expiry: write(a.blocks_to_expiry, left_out, expiry_alert),
        }
        .serialize(s)
    }
}

/// Present (`Some`, `null` included) or absent (`None`, by `default`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// An alert as read, of any version: v1 and v2 write every part but `null`s.
#[derive(Deserialize)]
pub(super) struct AlertRecord {
    code: AlertCode,
    severity: Severity,
    #[serde(with = "ids::opt_chan_id", default)]
    chan_id: Option<ChanId>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default, deserialize_with = "present")]
    amount_sat: Option<Option<u64>>,
    #[serde(default)]
    limit_sat: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    htlc_index: Option<Option<u64>>,
    #[serde(default, deserialize_with = "present")]
    blocks_to_expiry: Option<Option<i64>>,
}

impl AlertRecord {
    /// The alert, with what the file left out filled back from `context` (channels already
    /// filled). A plan before v3 has no `source.htlc_expiry`, so nothing is taken from rows.
    pub(super) fn into_alert(self, context: AlertContext<'_>) -> Result<Alert, String> {
        let rows = self.amount_sat.is_none() && self.htlc_index.is_none();
        let rows = if rows && self.blocks_to_expiry.is_none() {
            context.rows(self.code, self.chan_id)
        } else {
            None
        };
        let figures = Figures {
            code: self.code,
            severity: self.severity,
            chan_id: self.chan_id,
            amount_sat: self.amount_sat.flatten().or(rows.map(|r| r.words.sum_sat)),
            limit_sat: self.limit_sat,
            htlc_index: self
                .htlc_index
                .flatten()
                .or(rows.map(|r| r.words.first_index)),
            blocks_to_expiry: match self.blocks_to_expiry {
                Some(blocks) => blocks,
                None => rows.and_then(|r| r.first_blocks),
            },
        };
        let message = match self.message {
            Some(message) => message,
            None => context.message(&figures).ok_or_else(|| {
                format!(
                    "alert `{}` has no message, and none follows from its figures",
                    self.code.as_str()
                )
            })?,
        };
        Ok(Alert {
            code: self.code,
            severity: self.severity,
            chan_id: self.chan_id,
            message: Text::Written(message),
            amount_sat: figures.amount_sat,
            limit_sat: figures.limit_sat,
            htlc_index: figures.htlc_index,
            blocks_to_expiry: figures.blocks_to_expiry,
        })
    }
}
