//! `lncli pendingchannels` JSON: pending opens, waiting and pending closes, force closes with
//! their pending HTLCs.

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::lnd::pb;
use crate::lnd::pb::pending_channels_response as pcr;

use super::{commitment_type_name, int64, Each};

pub(super) struct PendingChannels<'a>(pub(super) &'a pb::PendingChannelsResponse);

impl Serialize for PendingChannels<'_> {
    #[allow(deprecated)] // `pending_closing_channels` is deprecated; LND prints it empty.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut m = s.serialize_struct("PendingChannelsResponse", 5)?;
        m.serialize_field("total_limbo_balance", &int64(p.total_limbo_balance))?;
        m.serialize_field(
            "pending_open_channels",
            &Each(&p.pending_open_channels, PendingOpenJson),
        )?;
        m.serialize_field(
            "pending_closing_channels",
            &Each(&p.pending_closing_channels, ClosedJson),
        )?;
        m.serialize_field(
            "pending_force_closing_channels",
            &Each(&p.pending_force_closing_channels, ForceClosedJson),
        )?;
        m.serialize_field(
            "waiting_close_channels",
            &Each(&p.waiting_close_channels, WaitingCloseJson),
        )?;
        m.end()
    }
}

struct PendingChannelJson<'a>(&'a pcr::PendingChannel);

impl Serialize for PendingChannelJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let mut m = s.serialize_struct("PendingChannel", 14)?;
        m.serialize_field("remote_node_pub", &c.remote_node_pub)?;
        m.serialize_field("channel_point", &c.channel_point)?;
        m.serialize_field("capacity", &int64(c.capacity))?;
        m.serialize_field("local_balance", &int64(c.local_balance))?;
        m.serialize_field("remote_balance", &int64(c.remote_balance))?;
        m.serialize_field("local_chan_reserve_sat", &int64(c.local_chan_reserve_sat))?;
        m.serialize_field("remote_chan_reserve_sat", &int64(c.remote_chan_reserve_sat))?;
        let initiator =
            pb::Initiator::try_from(c.initiator).map_or("INITIATOR_UNKNOWN", |i| i.as_str_name());
        m.serialize_field("initiator", initiator)?;
        m.serialize_field("commitment_type", commitment_type_name(c.commitment_type))?;
        m.serialize_field("num_forwarding_packages", &int64(c.num_forwarding_packages))?;
        m.serialize_field("chan_status_flags", &c.chan_status_flags)?;
        m.serialize_field("private", &c.private)?;
        m.serialize_field("memo", &c.memo)?;
        m.serialize_field("custom_channel_data", &hex::encode(&c.custom_channel_data))?;
        m.end()
    }
}

fn channel_json(c: &Option<pcr::PendingChannel>) -> Option<PendingChannelJson<'_>> {
    c.as_ref().map(PendingChannelJson)
}

struct PendingOpenJson<'a>(&'a pcr::PendingOpenChannel);

impl Serialize for PendingOpenJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut m = s.serialize_struct("PendingOpenChannel", 7)?;
        m.serialize_field("channel", &channel_json(&p.channel))?;
        m.serialize_field("commit_fee", &int64(p.commit_fee))?;
        m.serialize_field("commit_weight", &int64(p.commit_weight))?;
        m.serialize_field("fee_per_kw", &int64(p.fee_per_kw))?;
        m.serialize_field("funding_expiry_blocks", &p.funding_expiry_blocks)?;
        m.serialize_field("confirmations_until_active", &p.confirmations_until_active)?;
        m.serialize_field("confirmation_height", &p.confirmation_height)?;
        m.end()
    }
}

struct ClosedJson<'a>(&'a pcr::ClosedChannel);

impl Serialize for ClosedJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("ClosedChannel", 2)?;
        m.serialize_field("channel", &channel_json(&self.0.channel))?;
        m.serialize_field("closing_txid", &self.0.closing_txid)?;
        m.end()
    }
}

struct WaitingCloseJson<'a>(&'a pcr::WaitingCloseChannel);

impl Serialize for WaitingCloseJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let w = self.0;
        let mut m = s.serialize_struct("WaitingCloseChannel", 7)?;
        m.serialize_field("channel", &channel_json(&w.channel))?;
        m.serialize_field("limbo_balance", &int64(w.limbo_balance))?;
        m.serialize_field("commitments", &w.commitments.as_ref().map(CommitmentsJson))?;
        m.serialize_field("closing_txid", &w.closing_txid)?;
        m.serialize_field("closing_tx_hex", &w.closing_tx_hex)?;
        m.serialize_field("blocks_til_close_confirmed", &w.blocks_til_close_confirmed)?;
        m.serialize_field("close_height", &w.close_height)?;
        m.end()
    }
}

struct CommitmentsJson<'a>(&'a pcr::Commitments);

impl Serialize for CommitmentsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let mut m = s.serialize_struct("Commitments", 6)?;
        m.serialize_field("local_txid", &c.local_txid)?;
        m.serialize_field("remote_txid", &c.remote_txid)?;
        m.serialize_field("remote_pending_txid", &c.remote_pending_txid)?;
        m.serialize_field("local_commit_fee_sat", &int64(c.local_commit_fee_sat))?;
        m.serialize_field("remote_commit_fee_sat", &int64(c.remote_commit_fee_sat))?;
        m.serialize_field(
            "remote_pending_commit_fee_sat",
            &int64(c.remote_pending_commit_fee_sat),
        )?;
        m.end()
    }
}

struct ForceClosedJson<'a>(&'a pcr::ForceClosedChannel);

impl Serialize for ForceClosedJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.0;
        let mut m = s.serialize_struct("ForceClosedChannel", 8)?;
        m.serialize_field("channel", &channel_json(&f.channel))?;
        m.serialize_field("closing_txid", &f.closing_txid)?;
        m.serialize_field("limbo_balance", &int64(f.limbo_balance))?;
        m.serialize_field("maturity_height", &f.maturity_height)?;
        m.serialize_field("blocks_til_maturity", &f.blocks_til_maturity)?;
        m.serialize_field("recovered_balance", &int64(f.recovered_balance))?;
        m.serialize_field("pending_htlcs", &Each(&f.pending_htlcs, PendingHtlcJson))?;
        let anchor = pcr::force_closed_channel::AnchorState::try_from(f.anchor)
            .map_or("LIMBO", |a| a.as_str_name());
        m.serialize_field("anchor", anchor)?;
        m.end()
    }
}

struct PendingHtlcJson<'a>(&'a pb::PendingHtlc);

impl Serialize for PendingHtlcJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let h = self.0;
        let mut m = s.serialize_struct("PendingHTLC", 6)?;
        m.serialize_field("incoming", &h.incoming)?;
        m.serialize_field("amount", &int64(h.amount))?;
        m.serialize_field("outpoint", &h.outpoint)?;
        m.serialize_field("maturity_height", &h.maturity_height)?;
        m.serialize_field("blocks_til_maturity", &h.blocks_til_maturity)?;
        m.serialize_field("stage", &h.stage)?;
        m.end()
    }
}
