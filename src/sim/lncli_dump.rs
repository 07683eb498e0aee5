//! The simulated node as `lncli` would print it: `listchannels`, `getinfo`, `pendingchannels`
//! and `feereport` JSON files, so anyone can feed a node of any size to
//! `dustwatch analyze --listchannels …` (and to other tools that read `lncli` output).
//!
//! The files are the JSON of the very answers the simulator's gRPC service sends
//! ([`super::answers::snapshot_parts`]), printed the way `lncli` ≥ 0.19 prints them
//! (LND's `ProtoJSONMarshalOpts`):
//! * proto field names, in declaration order, every field present even when zero;
//! * 64-bit integers as decimal strings, 32-bit integers and doubles as JSON numbers;
//! * enums by name (`"ANCHORS"`), `bytes` as hex; 4-space indentation;
//! * `listchannels` only: `chan_id` rewritten to the 32-byte BOLT 2 channel id in hex, the short
//!   channel id moved to `scid` and `scid_str` (`BLOCKxTXxOUT`), as `lncli` does since 0.19.
//!
//! Each file is streamed channel by channel, so a 10,000-channel dump does not hold a JSON tree
//! of the node in memory.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use super::answers::snapshot_parts;
use super::load::HtlcLoad;
use super::scenario::{ScenarioConfig, Simulation};
use super::state::NodeState;
use super::wire;
use super::{SimError, SimHandle};
use crate::lnd::pb;
use crate::lnd::pb::pending_channels_response as pcr;
use crate::snapshot::lncli::LncliFiles;

/// The files [`dump_lncli`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpedFiles {
    pub listchannels: PathBuf,
    pub getinfo: PathBuf,
    pub pendingchannels: PathBuf,
    pub feereport: PathBuf,
    /// Every forward the node has logged, as `lncli fwdinghistory` prints them.
    pub fwdinghistory: PathBuf,
}

impl DumpedFiles {
    /// The same files as `dustwatch analyze` takes them.
    pub fn lncli_files(&self) -> LncliFiles {
        LncliFiles {
            listchannels: self.listchannels.clone(),
            getinfo: Some(self.getinfo.clone()),
            pendingchannels: Some(self.pendingchannels.clone()),
            feereport: Some(self.feereport.clone()),
        }
    }
}

/// Writes `listchannels.json`, `getinfo.json`, `pendingchannels.json`, `feereport.json` and
/// `fwdinghistory.json` of `node` into `dir` (created if missing; existing files of those
/// names are replaced).
pub fn dump_lncli(node: &NodeState, dir: &Path) -> Result<DumpedFiles, SimError> {
    std::fs::create_dir_all(dir).map_err(|source| SimError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let parts = snapshot_parts(node, false);
    let files = DumpedFiles {
        listchannels: dir.join("listchannels.json"),
        getinfo: dir.join("getinfo.json"),
        pendingchannels: dir.join("pendingchannels.json"),
        feereport: dir.join("feereport.json"),
        fwdinghistory: dir.join("fwdinghistory.json"),
    };
    write_json(&files.listchannels, &ListChannels(&parts.channels))?;
    write_json(&files.getinfo, &GetInfo(&parts.info))?;
    if let Some(pending) = &parts.pending {
        write_json(&files.pendingchannels, &PendingChannels(pending))?;
    }
    if let Some(fees) = &parts.fee_report {
        write_json(&files.feereport, &FeeReport(fees))?;
    }
    write_json(&files.fwdinghistory, &FwdingHistory(node))?;
    Ok(files)
}

/// Generates the scenario `config` describes, adds `load` if given, and dumps it into `dir`.
/// Backs `dustwatch sim --dump-lncli DIR`.
pub fn dump_scenario(
    config: &ScenarioConfig,
    load: Option<&HtlcLoad>,
    dir: &Path,
) -> Result<DumpedFiles, SimError> {
    let mut sim = Simulation::generate(config);
    if let Some(load) = load {
        sim.add_htlc_load(load);
    }
    dump_lncli(&sim.node, dir)
}

impl Simulation {
    /// [`dump_lncli`] of this simulation's node as it is now.
    pub fn dump_lncli(&self, dir: &Path) -> Result<DumpedFiles, SimError> {
        dump_lncli(&self.node, dir)
    }
}

impl SimHandle {
    /// [`dump_lncli`] of the served node as it is now (what its RPCs would answer).
    pub fn dump_lncli(&self, dir: &Path) -> Result<DumpedFiles, SimError> {
        self.with_state(|node| dump_lncli(node, dir))
    }
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<(), SimError> {
    let io_error = |source: std::io::Error| SimError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::create(path).map_err(io_error)?;
    let mut out = BufWriter::new(file);
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    value
        .serialize(&mut serializer)
        .map_err(|e| io_error(e.into()))?;
    out.write_all(b"\n").map_err(io_error)?;
    out.flush().map_err(io_error)
}

/// protojson's 64-bit integer: a decimal string.
fn int64(v: impl ToString) -> String {
    v.to_string()
}

/// The BOLT 2 channel id: the funding txid in internal byte order (the reverse of how it is
/// displayed) with the output index XORed into its last two bytes. `None` for a malformed
/// channel point (the simulator never makes one).
fn bolt2_channel_id(channel_point: &str) -> Option<String> {
    let (txid, index) = channel_point.split_once(':')?;
    let index: u16 = index.parse().ok()?;
    let mut bytes = hex::decode(txid).ok().filter(|b| b.len() == 32)?;
    bytes.reverse();
    let [high, low] = index.to_be_bytes();
    bytes[30] ^= high;
    bytes[31] ^= low;
    Some(hex::encode(bytes))
}

/// `BLOCKxTXxOUT` of a short channel id.
fn scid_str(scid: u64) -> String {
    format!(
        "{}x{}x{}",
        scid >> 40,
        (scid >> 16) & 0xff_ffff,
        scid & 0xffff
    )
}

fn commitment_type_name(wire: i32) -> &'static str {
    pb::CommitmentType::try_from(wire).map_or("UNKNOWN_COMMITMENT_TYPE", |t| t.as_str_name())
}

/// A JSON array of `items`, each wrapped for serialization as it is written.
struct Each<'a, T, W>(&'a [T], fn(&'a T) -> W);

impl<'a, T, W: Serialize> Serialize for Each<'a, T, W> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(&(self.1)(item))?;
        }
        seq.end()
    }
}

/// A repeated 64-bit integer field: strings.
fn int64_list(values: &[u64]) -> Vec<String> {
    values.iter().map(int64).collect()
}

struct ListChannels<'a>(&'a pb::ListChannelsResponse);

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

struct GetInfo<'a>(&'a pb::GetInfoResponse);

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

struct PendingChannels<'a>(&'a pb::PendingChannelsResponse);

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

struct FeeReport<'a>(&'a pb::FeeReportResponse);

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

/// `lncli fwdinghistory` of every logged forward, oldest first, as one answer: what `lncli`
/// prints for a time range covering the whole log with `--max_events` large enough (LND
/// answers at most 50,000 per call; a bigger log is what paging with `--index_offset` and
/// concatenating gives). Peer aliases are filled, as `lncli` asks for them by default.
/// Streamed event by event: a big node's log never becomes a JSON tree in memory.
struct FwdingHistory<'a>(&'a NodeState);

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NodeSnapshot;
    use crate::sim::{answers, DEFAULT_MAX_FEE_EXPOSURE_SAT};
    use crate::snapshot::lncli::snapshot_from_files;

    fn busy_node() -> Simulation {
        let mut sim = Simulation::generate(&ScenarioConfig {
            channels: 40,
            seed: 11,
            start_unix: 1_750_000_000,
            max_fee_exposure_sat: DEFAULT_MAX_FEE_EXPOSURE_SAT,
        });
        sim.add_htlc_load(&HtlcLoad {
            mean_per_channel: 4.0,
            saturated_share: 0.05,
        });
        sim
    }

    fn read_back(files: &DumpedFiles, taken_at: i64) -> NodeSnapshot {
        snapshot_from_files(&files.lncli_files(), taken_at).expect("the dump reads back")
    }

    #[test]
    fn the_dump_reads_back_as_the_simulated_node() {
        let sim = busy_node();
        let dir = tempfile::tempdir().unwrap();
        let files = sim.dump_lncli(dir.path()).unwrap();
        let snap = read_back(&files, sim.node.now_unix);
        assert!(snap.warnings.is_empty(), "{:?}", snap.warnings);
        assert_eq!(snap.node.identity_pubkey, sim.node.identity_pubkey);
        assert_eq!(snap.node.block_height, Some(sim.node.block_height));
        assert_eq!(snap.pending_channels.len(), sim.node.pending.len());
        assert_eq!(snap.channels.len(), sim.node.channels.len());
        assert!(sim
            .node
            .channels
            .iter()
            .any(|c| c.pending_htlcs.len() == 483));
        for (read, want) in snap.channels.iter().zip(&sim.node.channels) {
            // FeeReport carries our fees only: no HTLC limits, no peer policy.
            let ours = read.local_policy.expect("fee row");
            let policy = want.local_policy.unwrap();
            assert_eq!(
                (ours.fee_base_msat, ours.fee_rate_ppm),
                (policy.fee_base_msat, policy.fee_rate_ppm)
            );
            assert_eq!(
                (ours.inbound_fee_base_msat, ours.inbound_fee_rate_ppm),
                (policy.inbound_fee_base_msat, policy.inbound_fee_rate_ppm)
            );
            let without_policies = |c: &crate::model::Channel| crate::model::Channel {
                local_policy: None,
                remote_policy: None,
                ..c.clone()
            };
            assert_eq!(without_policies(read), without_policies(want));
        }
        // The offline path and the gRPC path agree on every channel.
        let grpc = answers::snapshot(&sim.node, false);
        assert_eq!(snap.channels, grpc.channels);
        assert_eq!(snap.pending_channels, grpc.pending_channels);
    }

    #[test]
    fn the_files_look_like_lncli_output() {
        let sim = busy_node();
        let dir = tempfile::tempdir().unwrap();
        let files = sim.dump_lncli(dir.path()).unwrap();
        let text = std::fs::read_to_string(&files.listchannels).unwrap();
        assert!(text.starts_with("{\n    \"channels\": [\n        {\n"));
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let first = &doc["channels"][0];
        let ch = &sim.node.channels[0];
        assert_eq!(first["scid"], ch.chan_id.to_string());
        assert_eq!(first["capacity"], ch.capacity_sat.to_string());
        assert_eq!(first["csv_delay"], ch.local_constraints.unwrap().csv_delay);
        assert!(first["commitment_type"]
            .as_str()
            .unwrap()
            .chars()
            .all(|c| c.is_ascii_uppercase() || c == '_'));
        let chan_id = first["chan_id"].as_str().unwrap();
        assert_eq!(chan_id.len(), 64);
        assert_ne!(chan_id, ch.chan_id.to_string());
        let fee_rows: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&files.feereport).unwrap()).unwrap();
        assert_eq!(
            fee_rows["channel_fees"].as_array().unwrap().len(),
            sim.node.channels.len()
        );
        let info: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&files.getinfo).unwrap()).unwrap();
        assert_eq!(info["block_height"], sim.node.block_height);
        assert_eq!(
            info["best_header_timestamp"],
            (sim.node.now_unix - 120).to_string()
        );
    }

    #[test]
    fn fwdinghistory_is_lnclis_json_of_every_logged_forward() {
        let sim = busy_node();
        let dir = tempfile::tempdir().unwrap();
        let files = sim.dump_lncli(dir.path()).unwrap();
        let text = std::fs::read_to_string(&files.fwdinghistory).unwrap();
        assert!(text.starts_with(
            "{\n    \"forwarding_events\": [\n        {\n            \"timestamp\": \""
        ));
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let events = doc["forwarding_events"].as_array().unwrap();
        assert_eq!(events.len(), sim.node.forwards.len());
        assert!(events.len() > 1_000, "a month of forwards");
        assert_eq!(doc["last_offset_index"], events.len());
        let record = sim.node.forwards.iter().last().unwrap();
        let last = events.last().unwrap().as_object().unwrap();
        let keys: Vec<&str> = last.keys().map(String::as_str).collect();
        let mut lnd_order = vec![
            "timestamp",
            "chan_id_in",
            "chan_id_out",
            "amt_in",
            "amt_out",
            "fee",
            "fee_msat",
            "amt_in_msat",
            "amt_out_msat",
            "timestamp_ns",
            "peer_alias_in",
            "peer_alias_out",
            "incoming_htlc_id",
            "outgoing_htlc_id",
        ];
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        lnd_order.sort_unstable();
        assert_eq!(sorted, lnd_order);
        // uint64 fields are decimal strings.
        let e = &record.event;
        assert_eq!(last["timestamp_ns"], e.timestamp_ns.to_string());
        assert_eq!(
            last["timestamp"],
            (e.timestamp_ns / 1_000_000_000).to_string()
        );
        assert_eq!(last["chan_id_out"], e.chan_id_out.to_string());
        assert_eq!(last["amt_in_msat"], e.amt_in_msat.to_string());
        assert_eq!(last["amt_out"], (e.amt_out_msat / 1000).to_string());
        assert_eq!(last["fee_msat"], e.fee_msat.to_string());
        assert_eq!(
            last["outgoing_htlc_id"],
            record.outgoing_htlc_id.to_string()
        );
        let alias = sim
            .node
            .channel(e.chan_id_out)
            .map(|c| c.peer_alias.to_string());
        assert_eq!(last["peer_alias_out"].as_str().map(str::to_string), alias);
        // Declaration order, as protojson prints it.
        let order = [
            "\"timestamp\"",
            "\"chan_id_in\"",
            "\"chan_id_out\"",
            "\"amt_in\"",
            "\"fee_msat\"",
            "\"timestamp_ns\"",
            "\"peer_alias_out\"",
            "\"outgoing_htlc_id\"",
        ];
        let at: Vec<usize> = order.iter().map(|k| text.find(k).unwrap()).collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");
    }

    #[test]
    fn channel_ids_follow_bolt2() {
        // lncli 0.19 example: funding txid d0e9…6fe7, output 1.
        let point = "d0e9cb9c8fdd906cce3c0d1560df6aa426f28d9b9f7c7029dcd8d1d1bda26fe7:1";
        assert_eq!(
            bolt2_channel_id(point).unwrap(),
            "e76fa2bdd1d1d8dc29707c9f9b8df226a46adf60150d3cce6c90dd8f9ccbe9d1"
        );
        assert_eq!(bolt2_channel_id("nothex:0"), None);
        assert_eq!(scid_str(222_101_348_876_289), "202x1x1");
    }

    #[test]
    fn a_dump_into_an_unwritable_place_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"x").unwrap();
        let err = busy_node().dump_lncli(&blocker.join("sub")).unwrap_err();
        assert!(err.to_string().contains("file"), "{err}");
    }
}
