//! `lncli listchannels` JSON: channels with the BOLT 2 channel id and `scid_str`, their HTLCs
//! and constraints.

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::lnd::pb;

use super::{bolt2_channel_id, commitment_type_name, int64, int64_list, scid_str, Each};

pub(super) struct ListChannels<'a>(pub(super) &'a pb::ListChannelsResponse);

impl Serialize for ListChannels<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("ListChannelsResponse", 1)?;
        m.serialize_field("channels", &Each(&self.0.channels, ChannelJson))?;
        m.end()
    }
}

struct ChannelJson<'a>(&'a pb::Channel);

impl Serialize for ChannelJson<'_> {
    #[allow(deprecated)] // LND still prints its deprecated fields.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let mut m = s.serialize_struct("Channel", 40)?;
        m.serialize_field("active", &c.active)?;
        m.serialize_field("remote_pubkey", &c.remote_pubkey)?;
        m.serialize_field("channel_point", &c.channel_point)?;
        // lncli ≥ 0.19: `chan_id` is the BOLT 2 channel id; the short id moves to `scid`.
        let channel_id = bolt2_channel_id(&c.channel_point).unwrap_or_default();
        m.serialize_field("chan_id", &channel_id)?;
        m.serialize_field("scid", &int64(c.chan_id))?;
        m.serialize_field("scid_str", &scid_str(c.chan_id))?;
        m.serialize_field("capacity", &int64(c.capacity))?;
        m.serialize_field("local_balance", &int64(c.local_balance))?;
        m.serialize_field("remote_balance", &int64(c.remote_balance))?;
        m.serialize_field("commit_fee", &int64(c.commit_fee))?;
        m.serialize_field("commit_weight", &int64(c.commit_weight))?;
        m.serialize_field("fee_per_kw", &int64(c.fee_per_kw))?;
        m.serialize_field("unsettled_balance", &int64(c.unsettled_balance))?;
        m.serialize_field("total_satoshis_sent", &int64(c.total_satoshis_sent))?;
        m.serialize_field("total_satoshis_received", &int64(c.total_satoshis_received))?;
        m.serialize_field("num_updates", &int64(c.num_updates))?;
        m.serialize_field("pending_htlcs", &Each(&c.pending_htlcs, HtlcJson))?;
        m.serialize_field("csv_delay", &c.csv_delay)?;
        m.serialize_field("private", &c.private)?;
        m.serialize_field("initiator", &c.initiator)?;
        m.serialize_field("chan_status_flags", &c.chan_status_flags)?;
        m.serialize_field("local_chan_reserve_sat", &int64(c.local_chan_reserve_sat))?;
        m.serialize_field("remote_chan_reserve_sat", &int64(c.remote_chan_reserve_sat))?;
        m.serialize_field("static_remote_key", &c.static_remote_key)?;
        m.serialize_field("commitment_type", commitment_type_name(c.commitment_type))?;
        m.serialize_field("lifetime", &int64(c.lifetime))?;
        m.serialize_field("uptime", &int64(c.uptime))?;
        m.serialize_field("close_address", &c.close_address)?;
        m.serialize_field("push_amount_sat", &int64(c.push_amount_sat))?;
        m.serialize_field("thaw_height", &c.thaw_height)?;
        let local = c.local_constraints.as_ref().map(ConstraintsJson);
        m.serialize_field("local_constraints", &local)?;
        let remote = c.remote_constraints.as_ref().map(ConstraintsJson);
        m.serialize_field("remote_constraints", &remote)?;
        m.serialize_field("alias_scids", &int64_list(&c.alias_scids))?;
        m.serialize_field("zero_conf", &c.zero_conf)?;
        m.serialize_field(
            "zero_conf_confirmed_scid",
            &int64(c.zero_conf_confirmed_scid),
        )?;
        m.serialize_field("peer_alias", &c.peer_alias)?;
        m.serialize_field("peer_scid_alias", &int64(c.peer_scid_alias))?;
        m.serialize_field("memo", &c.memo)?;
        m.serialize_field("custom_channel_data", &hex::encode(&c.custom_channel_data))?;
        m.end()
    }
}

struct HtlcJson<'a>(&'a pb::Htlc);

impl Serialize for HtlcJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let h = self.0;
        let mut m = s.serialize_struct("HTLC", 8)?;
        m.serialize_field("incoming", &h.incoming)?;
        m.serialize_field("amount", &int64(h.amount))?;
        m.serialize_field("hash_lock", &hex::encode(&h.hash_lock))?;
        m.serialize_field("expiration_height", &h.expiration_height)?;
        m.serialize_field("htlc_index", &int64(h.htlc_index))?;
        m.serialize_field("forwarding_channel", &int64(h.forwarding_channel))?;
        m.serialize_field("forwarding_htlc_index", &int64(h.forwarding_htlc_index))?;
        m.serialize_field("locked_in", &h.locked_in)?;
        m.end()
    }
}

struct ConstraintsJson<'a>(&'a pb::ChannelConstraints);

impl Serialize for ConstraintsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let mut m = s.serialize_struct("ChannelConstraints", 6)?;
        m.serialize_field("csv_delay", &c.csv_delay)?;
        m.serialize_field("chan_reserve_sat", &int64(c.chan_reserve_sat))?;
        m.serialize_field("dust_limit_sat", &int64(c.dust_limit_sat))?;
        m.serialize_field("max_pending_amt_msat", &int64(c.max_pending_amt_msat))?;
        m.serialize_field("min_htlc_msat", &int64(c.min_htlc_msat))?;
        m.serialize_field("max_accepted_htlcs", &c.max_accepted_htlcs)?;
        m.end()
    }
}
