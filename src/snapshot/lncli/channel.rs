//! One element of `lncli listchannels`' `channels` array → a [`Channel`].
//!
//! The element is deserialized into [`RawChannel`] (the fields dustwatch reads, each as a
//! [`Json`] that keeps what was written) and then each field is checked with its path, so a
//! warning names the channel's index and the field, and a bad channel is skipped on its own.

use base64::Engine as _;
use serde::de::IgnoredAny;
use serde::Deserialize;

use super::fields::{At, Field, Items, Json, Place};
use super::scid::{short_channel_id, ScidFields};
use crate::model::{ChanId, Channel, CommitmentType, Constraints, Htlc, Initiator, PaymentHash};
use crate::snapshot::json::{to_u32, to_u64, Bounds, FieldError, Note};

/// The fields of a `listchannels` channel that dustwatch reads; the others are skipped.
#[derive(Deserialize)]
pub(super) struct RawChannel<'a> {
    #[serde(borrow)]
    scid: Field<'a>,
    #[serde(borrow)]
    chan_id: Field<'a>,
    #[serde(borrow)]
    scid_str: Field<'a>,
    #[serde(borrow)]
    channel_point: Field<'a>,
    #[serde(borrow)]
    remote_pubkey: Field<'a>,
    #[serde(borrow)]
    peer_alias: Field<'a>,
    #[serde(borrow)]
    active: Field<'a>,
    #[serde(borrow)]
    private: Field<'a>,
    #[serde(borrow)]
    initiator: Field<'a>,
    #[serde(borrow)]
    commitment_type: Field<'a>,
    #[serde(borrow)]
    static_remote_key: Field<'a>,
    #[serde(borrow)]
    capacity: Field<'a>,
    #[serde(borrow)]
    local_balance: Field<'a>,
    #[serde(borrow)]
    remote_balance: Field<'a>,
    #[serde(borrow)]
    commit_fee: Field<'a>,
    #[serde(borrow)]
    commit_weight: Field<'a>,
    #[serde(borrow)]
    fee_per_kw: Field<'a>,
    #[serde(borrow)]
    unsettled_balance: Field<'a>,
    #[serde(borrow)]
    total_satoshis_sent: Field<'a>,
    #[serde(borrow)]
    total_satoshis_received: Field<'a>,
    #[serde(borrow)]
    num_updates: Field<'a>,
    #[serde(borrow)]
    lifetime: Field<'a>,
    #[serde(borrow)]
    uptime: Field<'a>,
    #[serde(borrow)]
    local_chan_reserve_sat: Field<'a>,
    #[serde(borrow)]
    remote_chan_reserve_sat: Field<'a>,
    #[serde(borrow)]
    push_amount_sat: Field<'a>,
    #[serde(borrow)]
    local_constraints: Field<'a, RawConstraints<'a>>,
    #[serde(borrow)]
    remote_constraints: Field<'a, RawConstraints<'a>>,
    #[serde(borrow)]
    pending_htlcs: Field<'a, IgnoredAny, Items<Json<'a, RawHtlc<'a>>>>,
}

#[derive(Deserialize)]
struct RawConstraints<'a> {
    #[serde(borrow)]
    csv_delay: Field<'a>,
    #[serde(borrow)]
    chan_reserve_sat: Field<'a>,
    #[serde(borrow)]
    dust_limit_sat: Field<'a>,
    #[serde(borrow)]
    max_pending_amt_msat: Field<'a>,
    #[serde(borrow)]
    min_htlc_msat: Field<'a>,
    #[serde(borrow)]
    max_accepted_htlcs: Field<'a>,
}

#[derive(Deserialize)]
struct RawHtlc<'a> {
    #[serde(borrow)]
    incoming: Field<'a>,
    #[serde(borrow)]
    amount: Field<'a>,
    #[serde(borrow)]
    hash_lock: Field<'a>,
    #[serde(borrow)]
    expiration_height: Field<'a>,
    #[serde(borrow)]
    htlc_index: Field<'a>,
    #[serde(borrow)]
    forwarding_channel: Field<'a>,
    #[serde(borrow)]
    forwarding_htlc_index: Field<'a>,
    #[serde(borrow)]
    locked_in: Field<'a>,
}

/// One element of `channels`: a channel object, or whatever else is there.
pub(super) type Item<'a> = Json<'a, RawChannel<'a>>;

/// Why a channel was skipped, with its id when that much could be read.
pub(super) struct Unreadable {
    pub chan_id: Option<ChanId>,
    pub error: FieldError,
}

/// Reads one element of `channels`, returning the channel and notes about values it adjusted.
pub(super) fn read_channel(
    item: &Item<'_>,
    place: Place<'_>,
) -> Result<(Channel, Vec<Note>), Unreadable> {
    let raw = match item {
        Json::Object(raw) => raw,
        other => {
            return Err(Unreadable {
                chan_id: None,
                error: FieldError::new(place.path(), "a channel object", other.describe()),
            })
        }
    };
    let at = At(place);
    let ids = ScidFields {
        scid: &raw.scid,
        chan_id: &raw.chan_id,
        scid_str: &raw.scid_str,
    };
    let chan_id = short_channel_id(&at, &ids).map_err(|error| Unreadable {
        chan_id: None,
        error,
    })?;
    let mut notes = Vec::new();
    let channel = channel_fields(raw, &at, chan_id, &mut notes).map_err(|error| Unreadable {
        chan_id: Some(chan_id),
        error,
    })?;
    Ok((channel, notes))
}

fn channel_fields(
    raw: &RawChannel<'_>,
    at: &At<'_>,
    chan_id: ChanId,
    notes: &mut Vec<Note>,
) -> Result<Channel, FieldError> {
    let capacity_sat = required_sat(at, "capacity", &raw.capacity, notes)?;
    let local_balance_sat = required_sat(at, "local_balance", &raw.local_balance, notes)?;
    let remote_balance_sat = required_sat(at, "remote_balance", &raw.remote_balance, notes)?;
    if local_balance_sat.saturating_add(remote_balance_sat) > capacity_sat {
        notes.push(Note {
            path: at.key("capacity"),
            message: format!(
                "= {capacity_sat} is less than local_balance + remote_balance \
                 ({local_balance_sat} + {remote_balance_sat}); the file is inconsistent"
            ),
        });
    }

    let pending_htlcs = match at.array("pending_htlcs", &raw.pending_htlcs)? {
        None => Vec::new(),
        Some(items) => {
            let list = Place::Key(&at.0, "pending_htlcs");
            items
                .0
                .iter()
                .enumerate()
                .map(|(i, item)| htlc(item, Place::Index(&list, i), notes))
                .collect::<Result<_, _>>()?
        }
    };

    Ok(Channel {
        chan_id,
        channel_point: at
            .string("channel_point", &raw.channel_point)?
            .unwrap_or_default()
            .into(),
        remote_pubkey: at
            .string("remote_pubkey", &raw.remote_pubkey)?
            .unwrap_or_default()
            .into(),
        peer_alias: at
            .string("peer_alias", &raw.peer_alias)?
            .unwrap_or_default()
            .into(),
        active: at.boolean("active", &raw.active)?.unwrap_or(false),
        private: at.boolean("private", &raw.private)?.unwrap_or(false),
        initiator: initiator(at, &raw.initiator)?,
        commitment_type: commitment_type(at, raw, notes)?,
        capacity_sat,
        local_balance_sat,
        remote_balance_sat,
        commit_fee_sat: required_sat(at, "commit_fee", &raw.commit_fee, notes)?,
        commit_weight: at
            .integer("commit_weight", &raw.commit_weight, Bounds::WEIGHT, notes)?
            .map_or(0, to_u64),
        fee_per_kw: to_u64(at.required_integer(
            "fee_per_kw",
            &raw.fee_per_kw,
            Bounds::FEERATE_PER_KW,
            notes,
        )?),
        unsettled_balance_sat: sat(at, "unsettled_balance", &raw.unsettled_balance, notes)?,
        total_satoshis_sent: count(at, "total_satoshis_sent", &raw.total_satoshis_sent, notes)?,
        total_satoshis_received: count(
            at,
            "total_satoshis_received",
            &raw.total_satoshis_received,
            notes,
        )?,
        num_updates: count(at, "num_updates", &raw.num_updates, notes)?,
        lifetime_secs: count(at, "lifetime", &raw.lifetime, notes)?,
        uptime_secs: count(at, "uptime", &raw.uptime, notes)?,
        local_chan_reserve_sat: sat(
            at,
            "local_chan_reserve_sat",
            &raw.local_chan_reserve_sat,
            notes,
        )?,
        remote_chan_reserve_sat: sat(
            at,
            "remote_chan_reserve_sat",
            &raw.remote_chan_reserve_sat,
            notes,
        )?,
        push_amount_sat: sat(at, "push_amount_sat", &raw.push_amount_sat, notes)?,
        local_constraints: constraints(at, "local_constraints", &raw.local_constraints, notes)?,
        remote_constraints: constraints(at, "remote_constraints", &raw.remote_constraints, notes)?,
        pending_htlcs,
        local_policy: None,
        remote_policy: None,
    })
}

/// `initiator`: a boolean in `Channel`; enum names are accepted too. Absent (LND < 0.6) is
/// unknown.
fn initiator(at: &At<'_>, field: &Field<'_>) -> Result<Initiator, FieldError> {
    let value = match field {
        None | Some(Json::Null) => return Ok(Initiator::Unknown),
        Some(value) => value,
    };
    match value {
        Json::Bool(true) => Ok(Initiator::Local),
        Json::Bool(false) => Ok(Initiator::Remote),
        Json::Str(name) if name == "INITIATOR_LOCAL" => Ok(Initiator::Local),
        Json::Str(name) if name == "INITIATOR_REMOTE" => Ok(Initiator::Remote),
        // Dual-funded (BOTH) says nothing about who pays the commitment fee.
        Json::Str(name) if name == "INITIATOR_UNKNOWN" || name == "INITIATOR_BOTH" => {
            Ok(Initiator::Unknown)
        }
        other => Err(FieldError::new(
            at.key("initiator"),
            "true/false (or INITIATOR_LOCAL/INITIATOR_REMOTE)",
            other.describe(),
        )),
    }
}

/// `commitment_type` by name (or by LND's current enum number).
///
/// Absent means LND predates the field (< 0.10): `LEGACY`, unless the older
/// `static_remote_key` flag is set. A type this version does not know is analysed as
/// [`CommitmentType::Unknown`] (anchors) with a note.
fn commitment_type(
    at: &At<'_>,
    raw: &RawChannel<'_>,
    notes: &mut Vec<Note>,
) -> Result<CommitmentType, FieldError> {
    let value = match &raw.commitment_type {
        None | Some(Json::Null) => {
            return Ok(
                if at.boolean("static_remote_key", &raw.static_remote_key)? == Some(true) {
                    CommitmentType::StaticRemoteKey
                } else {
                    CommitmentType::Legacy
                },
            )
        }
        Some(value) => value,
    };
    let known = match value {
        Json::Str(name) => match name.as_ref() {
            "LEGACY" => Some(CommitmentType::Legacy),
            "STATIC_REMOTE_KEY" => Some(CommitmentType::StaticRemoteKey),
            "ANCHORS" => Some(CommitmentType::Anchors),
            "SCRIPT_ENFORCED_LEASE" => Some(CommitmentType::ScriptEnforcedLease),
            "SIMPLE_TAPROOT" => Some(CommitmentType::SimpleTaproot),
            "SIMPLE_TAPROOT_OVERLAY" => Some(CommitmentType::SimpleTaprootOverlay),
            "SIMPLE_TAPROOT_FINAL" | "TAPROOT" => Some(CommitmentType::SimpleTaprootFinal),
            _ => None,
        },
        other => match other.integer() {
            Some(1) => Some(CommitmentType::Legacy),
            Some(2) => Some(CommitmentType::StaticRemoteKey),
            Some(3) => Some(CommitmentType::Anchors),
            Some(4) => Some(CommitmentType::ScriptEnforcedLease),
            Some(5) => Some(CommitmentType::SimpleTaproot),
            Some(6) => Some(CommitmentType::SimpleTaprootOverlay),
            Some(7) => Some(CommitmentType::SimpleTaprootFinal),
            Some(_) => None,
            None => {
                return Err(FieldError::new(
                    at.key("commitment_type"),
                    "a commitment type name such as \"ANCHORS\"",
                    other.describe(),
                ))
            }
        },
    };
    Ok(known.unwrap_or_else(|| {
        notes.push(Note {
            path: at.key("commitment_type"),
            message: format!(
                "= {} is not a commitment type dustwatch knows; analysed as an anchor channel",
                value.describe()
            ),
        });
        CommitmentType::Unknown
    }))
}

fn constraints(
    at: &At<'_>,
    key: &'static str,
    field: &Field<'_, RawConstraints<'_>>,
    notes: &mut Vec<Note>,
) -> Result<Option<Constraints>, FieldError> {
    let Some(c) = at.object(key, field)? else {
        return Ok(None);
    };
    let at = At(Place::Key(&at.0, key));
    Ok(Some(Constraints {
        csv_delay: at
            .integer("csv_delay", &c.csv_delay, Bounds::U32, notes)?
            .map_or(0, to_u32),
        chan_reserve_sat: sat(&at, "chan_reserve_sat", &c.chan_reserve_sat, notes)?,
        dust_limit_sat: sat(&at, "dust_limit_sat", &c.dust_limit_sat, notes)?,
        max_pending_amt_msat: msat(&at, "max_pending_amt_msat", &c.max_pending_amt_msat, notes)?,
        min_htlc_msat: msat(&at, "min_htlc_msat", &c.min_htlc_msat, notes)?,
        max_accepted_htlcs: at
            .integer(
                "max_accepted_htlcs",
                &c.max_accepted_htlcs,
                Bounds::U32,
                notes,
            )?
            .map_or(0, to_u32),
    }))
}

/// One element of `pending_htlcs`. Its direction and amount are required: without them the
/// channel's dust cannot be worked out, so the whole channel is skipped instead.
fn htlc(
    item: &Json<'_, RawHtlc<'_>>,
    place: Place<'_>,
    notes: &mut Vec<Note>,
) -> Result<Htlc, FieldError> {
    let h = match item {
        Json::Object(h) => h,
        other => {
            return Err(FieldError::new(
                place.path(),
                "an HTLC object",
                other.describe(),
            ))
        }
    };
    let at = At(place);
    let incoming = at
        .boolean("incoming", &h.incoming)?
        .ok_or_else(|| FieldError::missing(at.key("incoming"), "a boolean (true or false)"))?;
    Ok(Htlc {
        incoming,
        amount_sat: to_u64(at.required_integer("amount", &h.amount, Bounds::SAT, notes)?),
        hash_lock: hash_lock(&at, &h.hash_lock, notes)?,
        expiration_height: at
            .integer(
                "expiration_height",
                &h.expiration_height,
                Bounds::U32,
                notes,
            )?
            .map_or(0, to_u32),
        htlc_index: count(&at, "htlc_index", &h.htlc_index, notes)?,
        forwarding_channel: count(&at, "forwarding_channel", &h.forwarding_channel, notes)?,
        forwarding_htlc_index: count(
            &at,
            "forwarding_htlc_index",
            &h.forwarding_htlc_index,
            notes,
        )?,
        // Added in LND 0.19 (true once the HTLC is on the peer's commitment too). Older LND
        // does not say; its `pending_htlcs` are those of our current commitment, which is
        // where dust is computed, so they are taken as locked in.
        locked_in: at.boolean("locked_in", &h.locked_in)?.unwrap_or(true),
    })
}

/// `hash_lock` as a [`PaymentHash`]: `lncli` prints hex; jsonpb-era `lncli` and REST print
/// base64. Absent or empty is `None`; anything else that is not 32 bytes in one of those
/// forms is `None` with a note: the hash is not needed for dust, so the HTLC is kept.
fn hash_lock(
    at: &At<'_>,
    field: &Field<'_>,
    notes: &mut Vec<Note>,
) -> Result<Option<PaymentHash>, FieldError> {
    let Some(text) = at.string("hash_lock", field)? else {
        return Ok(None);
    };
    if text.is_empty() {
        return Ok(None);
    }
    if let Some(hash) = PaymentHash::from_hex(text) {
        return Ok(Some(hash));
    }
    let engines = [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::URL_SAFE,
    ];
    if let Some(hash) = engines
        .iter()
        .find_map(|e| e.decode(text).ok())
        .and_then(|bytes| PaymentHash::from_slice(&bytes))
    {
        return Ok(Some(hash));
    }
    notes.push(Note {
        path: at.key("hash_lock"),
        message: format!(
            "= {} is neither hex nor base64 of a 32-byte hash; left empty",
            field.as_ref().map(Json::describe).unwrap_or_default()
        ),
    });
    Ok(None)
}

/// An optional satoshi amount (proto3 default 0).
fn sat(
    at: &At<'_>,
    key: &str,
    field: &Field<'_>,
    notes: &mut Vec<Note>,
) -> Result<u64, FieldError> {
    Ok(at
        .integer(key, field, Bounds::SAT, notes)?
        .map_or(0, to_u64))
}

/// A satoshi amount every LND version prints; its absence means the file was cut or edited.
fn required_sat(
    at: &At<'_>,
    key: &str,
    field: &Field<'_>,
    notes: &mut Vec<Note>,
) -> Result<u64, FieldError> {
    Ok(to_u64(at.required_integer(
        key,
        field,
        Bounds::SAT,
        notes,
    )?))
}

fn msat(
    at: &At<'_>,
    key: &str,
    field: &Field<'_>,
    notes: &mut Vec<Note>,
) -> Result<u64, FieldError> {
    Ok(at
        .integer(key, field, Bounds::MSAT, notes)?
        .map_or(0, to_u64))
}

/// A non-negative counter or index (proto3 default 0).
fn count(
    at: &At<'_>,
    key: &str,
    field: &Field<'_>,
    notes: &mut Vec<Note>,
) -> Result<u64, FieldError> {
    Ok(at
        .integer(key, field, Bounds::U64, notes)?
        .map_or(0, to_u64))
}
