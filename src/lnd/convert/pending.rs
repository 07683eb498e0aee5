//! PendingChannels → the model's flat list of [`PendingChannel`]s.

use crate::lnd::pb;
use crate::model::{PendingChannel, PendingKind, SnapshotWarning};

use super::notes::Notes;

/// Converts PendingChannels into the model's flat list.
///
/// Pending opens, waiting closes, force closes and (old LND only) pending cooperative closes
/// all become [`PendingChannel`]s; an entry without its `channel` record cannot be identified,
/// so it is left out and named in a warning.
pub fn pending_channels(
    raw: &pb::PendingChannelsResponse,
    warnings: &mut Vec<SnapshotWarning>,
) -> Vec<PendingChannel> {
    let mut out = Vec::new();
    let mut add = |kind: PendingKind,
                   channel: Option<&pb::pending_channels_response::PendingChannel>,
                   limbo: i64,
                   blocks_til_maturity: Option<i32>,
                   warnings: &mut Vec<SnapshotWarning>| {
        let Some(channel) = channel else {
            warnings.push(SnapshotWarning {
                chan_id: None,
                message: format!(
                    "PendingChannels: a {} entry has no channel record; left out",
                    kind_name(kind)
                ),
            });
            return;
        };
        let mut notes = Notes::pending(&channel.channel_point, warnings);
        out.push(PendingChannel {
            kind,
            channel_point: channel.channel_point.clone(),
            remote_pubkey: channel.remote_node_pub.clone(),
            capacity_sat: notes.non_negative("capacity", channel.capacity),
            local_balance_sat: notes.non_negative("local_balance", channel.local_balance),
            limbo_balance_sat: notes.non_negative("limbo_balance", limbo),
            blocks_til_maturity,
        });
    };

    for p in &raw.pending_open_channels {
        add(PendingKind::Opening, p.channel.as_ref(), 0, None, warnings);
    }
    for p in &raw.waiting_close_channels {
        add(
            PendingKind::WaitingClose,
            p.channel.as_ref(),
            p.limbo_balance,
            None,
            warnings,
        );
    }
    // Deprecated: old LND listed cooperative closes with one confirmation here.
    for p in &raw.pending_closing_channels {
        add(
            PendingKind::WaitingClose,
            p.channel.as_ref(),
            0,
            None,
            warnings,
        );
    }
    for p in &raw.pending_force_closing_channels {
        add(
            PendingKind::ForceClosing,
            p.channel.as_ref(),
            p.limbo_balance,
            Some(p.blocks_til_maturity),
            warnings,
        );
    }
    out
}
fn kind_name(kind: PendingKind) -> &'static str {
    match kind {
        PendingKind::Opening => "pending open",
        PendingKind::WaitingClose => "waiting close",
        PendingKind::ForceClosing => "force closing",
    }
}
