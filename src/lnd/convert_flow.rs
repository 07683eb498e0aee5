//! LND's `ForwardingEvent` as the domain [`ForwardingEvent`].
//!
//! LND fills both the millisatoshi fields and the older whole-unit ones; an LND old enough to
//! send only the latter (or only `timestamp`, in seconds) still converts, at that precision.

use crate::lnd::pb;
use crate::model::ForwardingEvent;

/// The domain event of one wire event.
pub fn forwarding_event(e: &pb::ForwardingEvent) -> ForwardingEvent {
    let msat = |msat: u64, sat: u64| {
        if msat == 0 {
            sat.saturating_mul(1000)
        } else {
            msat
        }
    };
    let amt_in_msat = msat(e.amt_in_msat, e.amt_in);
    let amt_out_msat = msat(e.amt_out_msat, e.amt_out);
    let fee_msat = match msat(e.fee_msat, e.fee) {
        0 => amt_in_msat.saturating_sub(amt_out_msat),
        fee => fee,
    };
    ForwardingEvent {
        timestamp_ns: match e.timestamp_ns {
            0 => e.timestamp.saturating_mul(1_000_000_000),
            ns => ns,
        },
        chan_id_in: e.chan_id_in,
        chan_id_out: e.chan_id_out,
        amt_in_msat,
        amt_out_msat,
        fee_msat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msat_fields_win_and_older_fields_fill_in() {
        #[allow(deprecated)]
        let wire = pb::ForwardingEvent {
            timestamp: 1_700_000_000,
            timestamp_ns: 1_700_000_000_123_456_789,
            chan_id_in: 7,
            chan_id_out: 9,
            amt_in: 100,
            amt_out: 99,
            fee: 1,
            fee_msat: 1_234,
            amt_in_msat: 100_234,
            amt_out_msat: 99_000,
            ..Default::default()
        };
        let e = forwarding_event(&wire);
        assert_eq!(e.timestamp_ns, 1_700_000_000_123_456_789);
        assert_eq!((e.chan_id_in, e.chan_id_out), (7, 9));
        assert_eq!(
            (e.amt_in_msat, e.amt_out_msat, e.fee_msat),
            (100_234, 99_000, 1_234)
        );

        let old = pb::ForwardingEvent {
            timestamp: 1_700_000_000,
            amt_in: 100,
            amt_out: 98,
            ..Default::default()
        };
        let e = forwarding_event(&old);
        assert_eq!(e.timestamp_ns, 1_700_000_000_000_000_000);
        assert_eq!(
            (e.amt_in_msat, e.amt_out_msat, e.fee_msat),
            (100_000, 98_000, 2_000)
        );
    }
}
