//! A channel's `dust` section as a plan file lays it out.
//!
//! Our commitment is written with its zeros left out; the peer's commitment only with the
//! figures that differ from ours (a 0 that differs is written), so never its `feerate_per_kw`
//! (LND uses one for both). Neither writes `fee_exposure_sat` (trimmed HTLCs + base fee).
//! Reading takes an absent figure of the peer's commitment as ours (as 0 in plans written
//! before this layout, told apart by the peer's feerate); `derived` fills the rest.

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use super::{CommitFeeMismatchReport, CommitmentReport, DustReport, FeeSpikeReport};
use crate::model::ExposureLimitSource;

/// One commitment, written against `base`: every figure that differs from it (`None`: from
/// the empty commitment, so its non-zero figures).
struct CommitmentDoc<'a> {
    commitment: &'a CommitmentReport,
    base: Option<&'a CommitmentReport>,
}

impl Serialize for CommitmentDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.commitment;
        let empty = CommitmentReport::default();
        let base = self.base.unwrap_or(&empty);
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
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        DustDoc {
            local_commitment: CommitmentDoc {
                commitment: &self.local_commitment,
                base: None,
            },
            remote_commitment: CommitmentDoc {
                commitment: &self.remote_commitment,
                base: Some(&self.local_commitment),
            },
            fee_spike: self.fee_spike.iter().filter(|s| s.exceeds_limit).collect(),
            commit_fee_mismatch: &self.commit_fee_mismatch,
        }
        .serialize(s)
    }
}

/// The peer's commitment as read: an absent figure is ours (v2), every figure is there (v1).
#[derive(Deserialize)]
struct RemoteRecord {
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

/// A `dust` section as read, v1 or v2.
#[derive(Deserialize)]
struct DustRecord {
    local_commitment: CommitmentReport,
    remote_commitment: RemoteRecord,
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
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = DustRecord::deserialize(d)?;
        let l = &r.local_commitment;
        let p = r.remote_commitment;
        // Plans written before the peer's commitment was written as its differences from ours
        // left its zeros out instead, and always wrote its feerate (never 0 on an open channel):
        // in those, an absent figure is 0.
        let base = if p.feerate_per_kw.is_some() {
            CommitmentReport::default()
        } else {
            l.clone()
        };
        macro_rules! read {
            ($($field:ident),*) => {
                CommitmentReport { $($field: p.$field.unwrap_or(base.$field)),* }
            };
        }
        let remote_commitment = read!(
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
        Ok(DustReport {
            local_commitment: r.local_commitment,
            remote_commitment,
            max_fee_exposure_sat: r.max_fee_exposure_sat,
            exposure_limit_source: r.exposure_limit_source,
            exposure_headroom_sat: r.exposure_headroom_sat,
            exposure_ratio: r.exposure_ratio,
            fee_spike: r.fee_spike,
            commit_fee_mismatch: r.commit_fee_mismatch,
        })
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
