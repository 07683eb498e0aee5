//! `lncli getinfo` and `lncli feereport` JSON.

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::lnd::pb;

use super::{int64, Each};

pub(super) struct GetInfo<'a>(pub(super) &'a pb::GetInfoResponse);

impl Serialize for GetInfo<'_> {
    #[allow(deprecated)] // `testnet` is deprecated; LND still prints it.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let i = self.0;
        let mut m = s.serialize_struct("GetInfoResponse", 22)?;
        m.serialize_field("identity_pubkey", &i.identity_pubkey)?;
        m.serialize_field("alias", &i.alias)?;
        m.serialize_field("num_pending_channels", &i.num_pending_channels)?;
        m.serialize_field("num_active_channels", &i.num_active_channels)?;
        m.serialize_field("num_peers", &i.num_peers)?;
        m.serialize_field("block_height", &i.block_height)?;
        m.serialize_field("block_hash", &i.block_hash)?;
        m.serialize_field("synced_to_chain", &i.synced_to_chain)?;
        m.serialize_field("testnet", &i.testnet)?;
        m.serialize_field("uris", &i.uris)?;
        m.serialize_field("best_header_timestamp", &int64(i.best_header_timestamp))?;
        m.serialize_field("version", &i.version)?;
        m.serialize_field("num_inactive_channels", &i.num_inactive_channels)?;
        m.serialize_field("chains", &Each(&i.chains, ChainJson))?;
        m.serialize_field("color", &i.color)?;
        m.serialize_field("synced_to_graph", &i.synced_to_graph)?;
        m.serialize_field("features", &Features(&i.features))?;
        m.serialize_field("commit_hash", &i.commit_hash)?;
        m.serialize_field("require_htlc_interceptor", &i.require_htlc_interceptor)?;
        m.serialize_field(
            "store_final_htlc_resolutions",
            &i.store_final_htlc_resolutions,
        )?;
        m.serialize_field("wallet_synced", &i.wallet_synced)?;
        m.end()
    }
}

struct ChainJson<'a>(&'a pb::Chain);

impl Serialize for ChainJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("Chain", 2)?;
        m.serialize_field("chain", &self.0.chain)?;
        m.serialize_field("network", &self.0.network)?;
        m.end()
    }
}

/// protojson prints a map with integer keys as an object with the keys as strings, sorted.
struct Features<'a>(&'a std::collections::HashMap<u32, pb::Feature>);

impl Serialize for Features<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut bits: Vec<&u32> = self.0.keys().collect();
        bits.sort_unstable();
        let mut m = s.serialize_map(Some(bits.len()))?;
        for bit in bits {
            let f = &self.0[bit];
            m.serialize_entry(
                &bit.to_string(),
                &FeatureJson {
                    name: &f.name,
                    is_required: f.is_required,
                    is_known: f.is_known,
                },
            )?;
        }
        m.end()
    }
}

#[derive(Serialize)]
struct FeatureJson<'a> {
    name: &'a str,
    is_required: bool,
    is_known: bool,
}

pub(super) struct FeeReport<'a>(pub(super) &'a pb::FeeReportResponse);

impl Serialize for FeeReport<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut m = s.serialize_struct("FeeReportResponse", 4)?;
        m.serialize_field("channel_fees", &Each(&r.channel_fees, FeeRowJson))?;
        m.serialize_field("day_fee_sum", &int64(r.day_fee_sum))?;
        m.serialize_field("week_fee_sum", &int64(r.week_fee_sum))?;
        m.serialize_field("month_fee_sum", &int64(r.month_fee_sum))?;
        m.end()
    }
}

struct FeeRowJson<'a>(&'a pb::ChannelFeeReport);

impl Serialize for FeeRowJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.0;
        let mut m = s.serialize_struct("ChannelFeeReport", 7)?;
        m.serialize_field("chan_id", &int64(f.chan_id))?;
        m.serialize_field("channel_point", &f.channel_point)?;
        m.serialize_field("base_fee_msat", &int64(f.base_fee_msat))?;
        m.serialize_field("fee_per_mil", &int64(f.fee_per_mil))?;
        m.serialize_field("fee_rate", &f.fee_rate)?;
        m.serialize_field("inbound_base_fee_msat", &f.inbound_base_fee_msat)?;
        m.serialize_field("inbound_fee_per_mil", &f.inbound_fee_per_mil)?;
        m.end()
    }
}
