//! `lncli fwdinghistory` JSON of every forward the simulated node logged.

use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::lnd::pb;

use super::int64;
use crate::sim::state::NodeState;
use crate::sim::wire;

/// `lncli fwdinghistory` of every logged forward, oldest first, as one answer: what `lncli`
/// prints for a time range covering the whole log with `--max_events` large enough (LND
/// answers at most 50,000 per call; a bigger log is what paging with `--index_offset` and
/// concatenating gives). Peer aliases are filled, as `lncli` asks for them by default.
/// Streamed event by event: a big node's log never becomes a JSON tree in memory.
pub(super) struct FwdingHistory<'a>(pub(super) &'a NodeState);

impl Serialize for FwdingHistory<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let node = self.0;
        let mut m = s.serialize_struct("ForwardingHistoryResponse", 2)?;
        m.serialize_field("forwarding_events", &FwdingEvents(node))?;
        // uint32: a JSON number.
        let count = u32::try_from(node.forwards.len()).unwrap_or(u32::MAX);
        m.serialize_field("last_offset_index", &count)?;
        m.end()
    }
}

struct FwdingEvents<'a>(&'a NodeState);

impl Serialize for FwdingEvents<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let node = self.0;
        let alias = |chan_id| {
            node.channel(chan_id)
                .map(|c| c.peer_alias.to_string())
                .unwrap_or_default()
        };
        let mut seq = s.serialize_seq(Some(node.forwards.len()))?;
        for record in node.forwards.iter() {
            let e = &record.event;
            let wire = wire::forwarding_event(record, alias(e.chan_id_in), alias(e.chan_id_out));
            seq.serialize_element(&FwdingEventJson(&wire))?;
        }
        seq.end()
    }
}

struct FwdingEventJson<'a>(&'a pb::ForwardingEvent);

impl Serialize for FwdingEventJson<'_> {
    #[allow(deprecated)]
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let mut m = s.serialize_struct("ForwardingEvent", 14)?;
        m.serialize_field("timestamp", &int64(e.timestamp))?;
        m.serialize_field("chan_id_in", &int64(e.chan_id_in))?;
        m.serialize_field("chan_id_out", &int64(e.chan_id_out))?;
        m.serialize_field("amt_in", &int64(e.amt_in))?;
        m.serialize_field("amt_out", &int64(e.amt_out))?;
        m.serialize_field("fee", &int64(e.fee))?;
        m.serialize_field("fee_msat", &int64(e.fee_msat))?;
        m.serialize_field("amt_in_msat", &int64(e.amt_in_msat))?;
        m.serialize_field("amt_out_msat", &int64(e.amt_out_msat))?;
        m.serialize_field("timestamp_ns", &int64(e.timestamp_ns))?;
        m.serialize_field("peer_alias_in", &e.peer_alias_in)?;
        m.serialize_field("peer_alias_out", &e.peer_alias_out)?;
        // Explicit-presence fields: printed only when set (always, for the simulator).
        if let Some(id) = e.incoming_htlc_id {
            m.serialize_field("incoming_htlc_id", &int64(id))?;
        }
        if let Some(id) = e.outgoing_htlc_id {
            m.serialize_field("outgoing_htlc_id", &int64(id))?;
        }
        m.end()
    }
}
