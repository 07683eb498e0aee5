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
//! of the node in memory. One file per command: `channels`, `node` (getinfo, feereport),
//! `pending`, `forwards`; the protojson helpers they share are here.

mod channels;
mod forwards;
mod node;
mod pending;
#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};

use super::answers::snapshot_parts;
use super::load::HtlcLoad;
use super::scenario::{ScenarioConfig, Simulation};
use super::state::NodeState;
use super::{SimError, SimHandle};
use crate::lnd::pb;
use crate::snapshot::lncli::LncliFiles;
use channels::ListChannels;
use forwards::FwdingHistory;
use node::{FeeReport, GetInfo};
use pending::PendingChannels;

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
