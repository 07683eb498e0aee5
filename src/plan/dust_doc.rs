//! A channel's `dust` section as a plan file lays it out.
//!
//! v2: our commitment is written with its zeros left out; the peer's commitment only with the
//! figures that differ from ours (a 0 that differs is written), so never its `feerate_per_kw`
//! (LND uses one for both). Neither writes `fee_exposure_sat` (trimmed HTLCs + base fee).
//! Reading takes an absent figure of the peer's commitment as ours (as 0 in plans written
//! before this layout, told apart by the peer's feerate); `derived` fills the rest.
//!
//! v3 ([`DustView`]) also leaves out, on each commitment, what its other figures, the channel's
//! commitment type and its HTLC rows give exactly ([`expected`]): the trim thresholds, the
//! trimmed HTLC count and sum, the base fee and the fees to miners. Reading fills them back in
//! two steps ([`DustRecord::read`], then [`ReadDust::finish`] once the rows are read, whose
//! trimmed flags need the thresholds).

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use super::{CommitFeeMismatchReport, CommitmentReport, DustReport, FeeSpikeReport};
use crate::dust::fees::{commitment_base_fee_sat, trim_thresholds};
use crate::model::{CommitmentType, ExposureLimitSource};

/// What a v3 file takes a commitment's absent figures as: `base`'s (ours for the peer's, the
/// empty commitment for ours), except those that follow from its own figures, the commitment
/// type and `trimmed` (the count and sum of the HTLC rows trimmed on it).
pub(super) fn expected(
    c: &CommitmentReport,
    base: Option<&CommitmentReport>,
    commitment_type: CommitmentType,
    trimmed: (u32, u64),
) -> CommitmentReport {
    let thresholds = trim_thresholds(commitment_type, c.dust_limit_sat, c.feerate_per_kw);
    CommitmentReport {
        offered_trim_threshold_sat: thresholds.offered_sat,
        received_trim_threshold_sat: thresholds.received_sat,
        trimmed_htlc_count: trimmed.0,
        trimmed_htlc_sat: trimmed.1,
        base_fee_sat: commitment_base_fee_sat(
            commitment_type,
            c.feerate_per_kw,
            u64::from(c.untrimmed_htlc_count),
        ),
        fees_to_miners_sat: c
            .base_fee_sat
            .saturating_add(c.trimmed_htlc_sat)
            .saturating_add(c.absent_anchor_sat),
        ..base.cloned().unwrap_or_default()
    }
}

/// One commitment, written against `base`: every figure that differs from it (`None`: from
/// the empty commitment, so its non-zero figures).
struct CommitmentDoc<'a> {
    commitment: &'a CommitmentReport,
    base: Option<&'a CommitmentReport>,
    /// v3: what an absent figure reads as (see [`expected`]); it replaces `base`.
    expected: Option<CommitmentReport>,
}

impl Serialize for CommitmentDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.commitment;
        let empty = CommitmentReport::default();
        let base = match &self.expected {
            Some(expected) => expected,
            None => self.base.unwrap_or(&empty),
        };
        let mut map = s.serialize_map(None)?;
        macro_rules! differing {
            ($($field:ident),*) => {$(
                if c.$field != base.$field {
                    map.serialize_entry(stringify!($field), &c.$field)?;
                }
            )*};
        }
        differing!(dust_limit_sat);
        // Never written for the peer: it is ours, and its absence marks this layout on read.
        if self.base.is_none() {
            differing!(feerate_per_kw);
        }
        differing!(
            offered_trim_threshold_sat,
            received_trim_threshold_sat,
            base_fee_sat,
            trimmed_htlc_count,
            trimmed_htlc_sat,
            untrimmed_htlc_count,
            to_local_trimmed,
            to_remote_trimmed,
            anchor_outputs,
            absent_anchor_sat,
            fees_to_miners_sat
        );
        map.end()
    }
}

#[derive(Serialize)]
struct DustDoc<'a> {
    local_commitment: CommitmentDoc<'a>,
    remote_commitment: CommitmentDoc<'a>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    fee_spike: Vec<&'a FeeSpikeReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit_fee_mismatch: &'a Option<CommitFeeMismatchReport>,
}

impl Serialize for DustReport {
    /// The v2 layout.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        DustDoc {
            local_commitment: CommitmentDoc {
                commitment: &self.local_commitment,
                base: None,
                expected: None,
            },
            remote_commitment: CommitmentDoc {
                commitment: &self.remote_commitment,
                base: Some(&self.local_commitment),
                expected: None,
            },
            fee_spike: self.fee_spike.iter().filter(|s| s.exceeds_limit).collect(),
            commit_fee_mismatch: &self.commit_fee_mismatch,
        }
        .serialize(s)
    }
}

/// A `dust` section as v3 writes it: `trimmed_local` and `trimmed_remote` are the count and
/// sum of the channel's HTLC rows trimmed on each commitment.
pub(super) struct DustView<'a> {
    pub dust: &'a DustReport,
    pub commitment_type: CommitmentType,
    pub trimmed_local: (u32, u64),
    pub trimmed_remote: (u32, u64),
}

impl Serialize for DustView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.dust;
        let (local, remote) = (&d.local_commitment, &d.remote_commitment);
        DustDoc {
            local_commitment: CommitmentDoc {
                commitment: local,
                base: None,
                expected: Some(expected(
                    local,
                    None,
                    self.commitment_type,
                    self.trimmed_local,
                )),
            },
            remote_commitment: CommitmentDoc {
                commitment: remote,
                base: Some(local),
                expected: Some(expected(
                    remote,
                    Some(local),
                    self.commitment_type,
                    self.trimmed_remote,
                )),
            },
            fee_spike: d.fee_spike.iter().filter(|s| s.exceeds_limit).collect(),
            commit_fee_mismatch: &d.commit_fee_mismatch,
        }
        .serialize(s)
    }
}

/// A commitment as read: v1 writes every figure; v2 leaves out our zeros and the peer's figures
/// that are ours; v3 also what [`expected`] gives.
#[derive(Deserialize)]
pub(super) struct CommitmentRecord {
    dust_limit_sat: Option<u64>,
    feerate_per_kw: Option<u64>,
    offered_trim_threshold_sat: Option<u64>,
    received_trim_threshold_sat: Option<u64>,
    base_fee_sat: Option<u64>,
    trimmed_htlc_count: Option<u32>,
    trimmed_htlc_sat: Option<u64>,
    untrimmed_htlc_count: Option<u32>,
    to_local_trimmed: Option<bool>,
    to_remote_trimmed: Option<bool>,
    anchor_outputs: Option<u8>,
    absent_anchor_sat: Option<u64>,
    fees_to_miners_sat: Option<u64>,
    fee_exposure_sat: Option<u64>,
}

/// A `dust` section as read, of any version.
#[derive(Deserialize)]
pub(super) struct DustRecord {
    local_commitment: CommitmentRecord,
    remote_commitment: CommitmentRecord,
    /// v1 only; v2 has it in `source.exposure_limit`.
    #[serde(default)]
    max_fee_exposure_sat: u64,
    #[serde(default = "configured_limit")]
    exposure_limit_source: ExposureLimitSource,
    /// v1 only; v2 computes them on read.
    #[serde(default)]
    exposure_headroom_sat: i64,
    #[serde(default)]
    exposure_ratio: f64,
    #[serde(default)]
    fee_spike: Vec<FeeSpikeReport>,
    #[serde(default)]
    commit_fee_mismatch: Option<CommitFeeMismatchReport>,
}

impl<'de> Deserialize<'de> for DustReport {
    /// A v1 or v2 section (a v3 one needs its channel: see [`DustRecord::read`]).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(DustRecord::deserialize(d)?.read(None).report)
    }
}

/// Which figures of a commitment a v3 file left out that follow from the HTLC rows.
#[derive(Debug, Clone, Copy, Default)]
struct FromRows {
    trimmed_htlc_count: bool,
    trimmed_htlc_sat: bool,
    base_fee_sat: bool,
    fees_to_miners_sat: bool,
}

/// A `dust` section read but for the figures that follow from the HTLC rows.
pub(super) struct ReadDust {
    pub report: DustReport,
    local: FromRows,
    remote: FromRows,
}

impl DustRecord {
    /// The section, with a v3 file's (`Some(commitment type)`) absent thresholds filled back;
    /// what follows from the rows is left to [`ReadDust::finish`].
    pub(super) fn read(self, v3: Option<CommitmentType>) -> ReadDust {
        let l = self.local_commitment;
        let p = self.remote_commitment;
        let left_out = |c: &CommitmentRecord| FromRows {
            trimmed_htlc_count: c.trimmed_htlc_count.is_none(),
            trimmed_htlc_sat: c.trimmed_htlc_sat.is_none(),
            base_fee_sat: c.base_fee_sat.is_none(),
            fees_to_miners_sat: c.fees_to_miners_sat.is_none(),
        };
        let (local_left_out, remote_left_out) = match v3 {
            Some(_) => (left_out(&l), left_out(&p)),
            None => (FromRows::default(), FromRows::default()),
        };
        macro_rules! read {
            ($record:ident, $base:ident, $($field:ident),*) => {
                CommitmentReport { $($field: $record.$field.unwrap_or($base.$field)),* }
            };
        }
        let zero = CommitmentReport::default();
        let mut local = read!(
            l,
            zero,
            dust_limit_sat,
            feerate_per_kw,
            offered_trim_threshold_sat,
            received_trim_threshold_sat,
            base_fee_sat,
            trimmed_htlc_count,
            trimmed_htlc_sat,
            untrimmed_htlc_count,
            to_local_trimmed,
            to_remote_trimmed,
            anchor_outputs,
            absent_anchor_sat,
            fees_to_miners_sat,
            fee_exposure_sat
        );
        // Plans written before the peer's commitment was written as its differences from ours
        // left its zeros out instead, and always wrote its feerate (never 0 on an open channel):
        // in those, an absent figure is 0.
        let base = if p.feerate_per_kw.is_some() {
            CommitmentReport::default()
        } else {
            local.clone()
        };
        let mut remote = read!(
            p,
            base,
            dust_limit_sat,
            feerate_per_kw,
            offered_trim_threshold_sat,
            received_trim_threshold_sat,
            base_fee_sat,
            trimmed_htlc_count,
            trimmed_htlc_sat,
            untrimmed_htlc_count,
            to_local_trimmed,
            to_remote_trimmed,
            anchor_outputs,
            absent_anchor_sat,
            fees_to_miners_sat,
            fee_exposure_sat
        );
        if let Some(commitment_type) = v3 {
            for (c, record) in [(&mut local, &l), (&mut remote, &p)] {
                let t = trim_thresholds(commitment_type, c.dust_limit_sat, c.feerate_per_kw);
                if record.offered_trim_threshold_sat.is_none() {
                    c.offered_trim_threshold_sat = t.offered_sat;
                }
                if record.received_trim_threshold_sat.is_none() {
                    c.received_trim_threshold_sat = t.received_sat;
                }
            }
        }
        ReadDust {
            report: DustReport {
                local_commitment: local,
                remote_commitment: remote,
                max_fee_exposure_sat: self.max_fee_exposure_sat,
                exposure_limit_source: self.exposure_limit_source,
                exposure_headroom_sat: self.exposure_headroom_sat,
                exposure_ratio: self.exposure_ratio,
                fee_spike: self.fee_spike,
                commit_fee_mismatch: self.commit_fee_mismatch,
            },
            local: local_left_out,
            remote: remote_left_out,
        }
    }
}

impl ReadDust {
    /// Fills back what follows from the rows: `trimmed_local` and `trimmed_remote` are the count
    /// and sum of the rows trimmed on each commitment (see [`expected`]).
    pub(super) fn finish(
        self,
        commitment_type: CommitmentType,
        trimmed_local: (u32, u64),
        trimmed_remote: (u32, u64),
    ) -> DustReport {
        let mut report = self.report;
        let sides = [
            (&mut report.local_commitment, self.local, trimmed_local),
            (&mut report.remote_commitment, self.remote, trimmed_remote),
        ];
        for (c, left_out, trimmed) in sides {
            if left_out.trimmed_htlc_count {
                c.trimmed_htlc_count = trimmed.0;
            }
            if left_out.trimmed_htlc_sat {
                c.trimmed_htlc_sat = trimmed.1;
            }
            if left_out.base_fee_sat {
                c.base_fee_sat = expected(c, None, commitment_type, trimmed).base_fee_sat;
            }
            if left_out.fees_to_miners_sat {
                c.fees_to_miners_sat =
                    expected(c, None, commitment_type, trimmed).fees_to_miners_sat;
            }
        }
        report
    }
}

/// Until the plan's `source.exposure_limit` fills it in (a v2 channel leaves it out).
fn configured_limit() -> ExposureLimitSource {
    ExposureLimitSource::Configured
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dust(local: CommitmentReport, remote: CommitmentReport) -> DustReport {
        DustReport {
            local_commitment: local,
            remote_commitment: remote,
            max_fee_exposure_sat: 0,
            exposure_limit_source: ExposureLimitSource::Configured,
            exposure_headroom_sat: 0,
            exposure_ratio: 0.0,
            fee_spike: Vec::new(),
            commit_fee_mismatch: None,
        }
    }

    #[test]
    fn the_peers_commitment_is_written_as_its_differences_and_read_back_whole() {
        let local = CommitmentReport {
            dust_limit_sat: 354,
            feerate_per_kw: 2500,
            trimmed_htlc_count: 2,
            trimmed_htlc_sat: 900,
            to_local_trimmed: true,
            base_fee_sat: 1000,
            fees_to_miners_sat: 1900,
            ..CommitmentReport::default()
        };
        // A 0 and a `false` that differ from ours must be written, or they would read as ours.
        let remote = CommitmentReport {
            dust_limit_sat: 573,
            trimmed_htlc_count: 0,
            trimmed_htlc_sat: 0,
            to_local_trimmed: false,
            fees_to_miners_sat: 1000,
            ..local.clone()
        };
        let report = dust(local, remote);
        let value = serde_json::to_value(&report).unwrap();
        assert_eq!(
            value["remote_commitment"],
            serde_json::json!({
                "dust_limit_sat": 573,
                "trimmed_htlc_count": 0,
                "trimmed_htlc_sat": 0,
                "to_local_trimmed": false,
                "fees_to_miners_sat": 1000
            })
        );
        let back: DustReport = serde_json::from_value(value).unwrap();
        assert_eq!(back, report);
    }

    #[test]
    fn a_v1_peers_commitment_is_read_as_written() {
        // v1 wrote every figure, zeros included.
        let v1 = r#"{
            "local_commitment": {"trimmed_htlc_sat": 900, "fee_exposure_sat": 900},
            "remote_commitment": {"dust_limit_sat": 0, "feerate_per_kw": 0,
                "offered_trim_threshold_sat": 0, "received_trim_threshold_sat": 0,
                "base_fee_sat": 0, "trimmed_htlc_count": 0, "trimmed_htlc_sat": 0,
                "untrimmed_htlc_count": 0, "to_local_trimmed": false, "to_remote_trimmed": false,
                "anchor_outputs": 0, "absent_anchor_sat": 0, "fees_to_miners_sat": 0,
                "fee_exposure_sat": 0},
            "max_fee_exposure_sat": 500000, "exposure_limit_source": "configured",
            "exposure_headroom_sat": 499100, "exposure_ratio": 0.0018
        }"#;
        let back: DustReport = serde_json::from_str(v1).unwrap();
        assert_eq!(back.remote_commitment, CommitmentReport::default());
        assert_eq!(back.local_commitment.fee_exposure_sat, 900);
        assert_eq!(back.exposure_headroom_sat, 499_100);
    }

    #[test]
    fn an_earlier_v2_peers_commitment_reads_its_absent_figures_as_zero() {
        // Written before the differences layout: zeros left out, the feerate always there.
        let v2 = r#"{
            "local_commitment": {"feerate_per_kw": 2500, "trimmed_htlc_count": 1,
                "trimmed_htlc_sat": 377, "fee_exposure_sat": 377},
            "remote_commitment": {"feerate_per_kw": 2500, "dust_limit_sat": 354}
        }"#;
        let back: DustReport = serde_json::from_str(v2).unwrap();
        assert_eq!(
            back.remote_commitment,
            CommitmentReport {
                feerate_per_kw: 2500,
                dust_limit_sat: 354,
                ..CommitmentReport::default()
            }
        );
    }
}
