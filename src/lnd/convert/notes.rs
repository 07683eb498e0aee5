//! [`Notes`]: the warnings about one record, each naming the record and the field.

use crate::model::{ChanId, SnapshotWarning};

/// Collects warnings about one record, each naming the record and the field.
pub(super) struct Notes<'a, 's> {
    /// Which record the warnings are about; only formatted when there is one to write (every
    /// channel gets a `Notes`, few get a warning).
    subject: Subject<'s>,
    out: &'a mut Vec<SnapshotWarning>,
}

/// How a record is named in messages, e.g. `ListChannels: channel 123`.
#[derive(Clone, Copy)]
enum Subject<'s> {
    Channel(ChanId),
    /// A pending channel, by channel point.
    Pending(&'s str),
    Wallet,
}

impl<'a, 's> Notes<'a, 's> {
    pub(super) fn channel(chan_id: ChanId, out: &'a mut Vec<SnapshotWarning>) -> Self {
        Notes {
            subject: Subject::Channel(chan_id),
            out,
        }
    }

    pub(super) fn pending(channel_point: &'s str, out: &'a mut Vec<SnapshotWarning>) -> Self {
        Notes {
            subject: Subject::Pending(channel_point),
            out,
        }
    }

    pub(super) fn wallet(out: &'a mut Vec<SnapshotWarning>) -> Self {
        Notes {
            subject: Subject::Wallet,
            out,
        }
    }

    pub(super) fn warn(&mut self, message: String) {
        let (chan_id, message) = match self.subject {
            Subject::Channel(id) => (Some(id), format!("ListChannels: channel {id}: {message}")),
            Subject::Pending(point) => {
                (None, format!("PendingChannels: channel {point}: {message}"))
            }
            Subject::Wallet => (None, format!("WalletBalance: {message}")),
        };
        self.out.push(SnapshotWarning { chan_id, message });
    }

    /// The model keeps amounts non-negative: a negative value becomes 0 and a warning.
    pub(super) fn non_negative(&mut self, field: &str, value: i64) -> u64 {
        match u64::try_from(value) {
            Ok(v) => v,
            Err(_) => {
                self.warn(format!("{field} is negative ({value}); using 0"));
                0
            }
        }
    }
}
