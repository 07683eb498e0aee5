//! How actions name a channel's peer: shared by every recommender, so it lives below them.

use std::fmt;
use std::sync::Arc;

use crate::model::ChanId;

/// The peer's alias, or a neutral name when LND did not know one.
///
/// Held by the text closures of actions, so the neutral name is written only when the text is
/// (not one string per action of an unnamed peer while the plan is built).
pub(crate) fn alias(peer_alias: &Arc<str>, chan_id: ChanId) -> PeerName {
    PeerName {
        alias: Arc::clone(peer_alias),
        chan_id,
    }
}

/// What [`alias`] returns: displays as the alias, or as `channel <chan_id>` when it is empty.
pub(crate) struct PeerName {
    alias: Arc<str>,
    chan_id: ChanId,
}

impl fmt::Display for PeerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.alias.is_empty() {
            write!(f, "channel {}", self.chan_id)
        } else {
            // Peers choose their aliases: no control characters into texts and logs.
            crate::escape::Escaped(&self.alias).fmt(f)
        }
    }
}

/// A channel as texts introduce it: `alias (chan_id)`, or `channel <chan_id>` when the peer has
/// no alias (never the id twice).
pub(crate) fn labelled(peer_alias: &Arc<str>, chan_id: ChanId) -> ChannelLabel {
    ChannelLabel(alias(peer_alias, chan_id))
}

/// What [`labelled`] returns.
pub(crate) struct ChannelLabel(PeerName);

impl fmt::Display for ChannelLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.alias.is_empty() {
            self.0.fmt(f)
        } else {
            write!(f, "{} ({})", self.0, self.0.chan_id)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_without_an_alias_is_named_by_its_channel() {
        assert_eq!(alias(&Arc::from(""), 42).to_string(), "channel 42");
        assert_eq!(alias(&Arc::from("bob"), 42).to_string(), "bob");
    }

    #[test]
    fn a_label_names_the_channel_id_once() {
        assert_eq!(labelled(&Arc::from(""), 42).to_string(), "channel 42");
        assert_eq!(labelled(&Arc::from("bob"), 42).to_string(), "bob (42)");
    }
}
