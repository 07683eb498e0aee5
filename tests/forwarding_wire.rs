//! ForwardingHistory on the wire: our proto's field names and numbers are LND's.
//!
//! There is no LND-serialized ForwardingHistory sample in the fixture folder, so the numbers
//! are pinned here from LND's `lnrpc/lightning.proto` (messages `ForwardingHistoryRequest`,
//! `ForwardingEvent`, `ForwardingHistoryResponse`): request start_time = 1, end_time = 2,
//! index_offset = 3, num_max_events = 4, peer_alias_lookup = 5; event timestamp = 1,
//! chan_id_in = 2, chan_id_out = 4 (3 unused), amt_in = 5, amt_out = 6, fee = 7, fee_msat = 8,
//! amt_in_msat = 9, amt_out_msat = 10, timestamp_ns = 11, peer_alias_in = 12,
//! peer_alias_out = 13, incoming_htlc_id = 14 and outgoing_htlc_id = 15 (both `optional`,
//! LND v0.20); response forwarding_events = 1, last_offset_index = 2.
//!
//! Two independent checks: bytes written by hand from those numbers decode into the generated
//! types with every value in the right field, and our descriptor declares each field with that
//! number and scalar type.
#![allow(deprecated)]

use dustwatch::lnd::pb;
use prost::Message;
use prost_reflect::{DescriptorPool, Kind};

/// Protobuf wire encoding, written out by hand so the test does not trust our descriptor.
#[derive(Default)]
struct Wire(Vec<u8>);

impl Wire {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn uint(mut self, field: u32, value: u64) -> Self {
        self.varint(u64::from(field) << 3);
        self.varint(value);
        self
    }

    fn bytes(mut self, field: u32, value: &[u8]) -> Self {
        self.varint(u64::from(field) << 3 | 2);
        self.varint(value.len() as u64);
        self.0.extend_from_slice(value);
        self
    }
}

fn lnd_event_bytes(seed: u64) -> Vec<u8> {
    Wire::default()
        .uint(1, 1_700_000_000 + seed)
        .uint(2, 800_000 << 40 | seed)
        .uint(4, 810_000 << 40 | seed)
        .uint(5, 1_001)
        .uint(6, 1_000)
        .uint(7, 1)
        .uint(8, 1_500)
        .uint(9, 1_001_500)
        .uint(10, 1_000_000)
        .uint(11, (1_700_000_000 + seed) * 1_000_000_000 + 7)
        .bytes(12, b"alice")
        .bytes(13, b"bob")
        .uint(14, 41 + seed)
        .uint(15, 42 + seed)
        .0
}

#[test]
fn lnds_field_numbers_decode_into_the_right_fields() {
    let event = pb::ForwardingEvent::decode(lnd_event_bytes(3).as_slice()).expect("decodes");
    assert_eq!(
        event,
        pb::ForwardingEvent {
            timestamp: 1_700_000_003,
            chan_id_in: 800_000 << 40 | 3,
            chan_id_out: 810_000 << 40 | 3,
            amt_in: 1_001,
            amt_out: 1_000,
            fee: 1,
            fee_msat: 1_500,
            amt_in_msat: 1_001_500,
            amt_out_msat: 1_000_000,
            timestamp_ns: 1_700_000_003_000_000_007,
            peer_alias_in: "alice".into(),
            peer_alias_out: "bob".into(),
            incoming_htlc_id: Some(44),
            outgoing_htlc_id: Some(45),
        }
    );

    let mut response = Wire::default();
    for seed in 0..2 {
        response = response.bytes(1, &lnd_event_bytes(seed));
    }
    let response = response.uint(2, 17).0;
    let decoded = pb::ForwardingHistoryResponse::decode(response.as_slice()).expect("decodes");
    assert_eq!(decoded.forwarding_events.len(), 2);
    assert_eq!(decoded.forwarding_events[1].incoming_htlc_id, Some(42));
    assert_eq!(decoded.last_offset_index, 17);

    // What we send is what LND reads: encode ours and compare with LND's numbering.
    let request = pb::ForwardingHistoryRequest {
        start_time: 1_700_000_000,
        end_time: 1_700_086_400,
        index_offset: 20_000,
        num_max_events: 10_000,
        peer_alias_lookup: true,
    };
    let lnd = Wire::default()
        .uint(1, 1_700_000_000)
        .uint(2, 1_700_086_400)
        .uint(3, 20_000)
        .uint(4, 10_000)
        .uint(5, 1)
        .0;
    assert_eq!(request.encode_to_vec(), lnd);
}

/// A field as LND declares it: name, number, scalar type.
type Field = (&'static str, u32, Kind);

#[test]
fn our_descriptor_declares_lnds_numbers_and_types() {
    use Kind::{Bool, Message as Msg, String as Str, Uint32, Uint64};
    let pool = DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).expect("descriptor set");
    let expect: &[(&str, &[Field])] = &[
        (
            "lnrpc.ForwardingHistoryRequest",
            &[
                ("start_time", 1, Uint64),
                ("end_time", 2, Uint64),
                ("index_offset", 3, Uint32),
                ("num_max_events", 4, Uint32),
                ("peer_alias_lookup", 5, Bool),
            ],
        ),
        (
            "lnrpc.ForwardingEvent",
            &[
                ("timestamp", 1, Uint64),
                ("chan_id_in", 2, Uint64),
                ("chan_id_out", 4, Uint64),
                ("amt_in", 5, Uint64),
                ("amt_out", 6, Uint64),
                ("fee", 7, Uint64),
                ("fee_msat", 8, Uint64),
                ("amt_in_msat", 9, Uint64),
                ("amt_out_msat", 10, Uint64),
                ("timestamp_ns", 11, Uint64),
                ("peer_alias_in", 12, Str),
                ("peer_alias_out", 13, Str),
                ("incoming_htlc_id", 14, Uint64),
                ("outgoing_htlc_id", 15, Uint64),
            ],
        ),
        (
            "lnrpc.ForwardingHistoryResponse",
            &[("last_offset_index", 2, Uint32)],
        ),
    ];
    for (message, fields) in expect {
        let desc = pool.get_message_by_name(message).expect(message);
        assert_eq!(
            desc.fields().len(),
            fields.len() + usize::from(message.ends_with("Response"))
        );
        for (name, number, kind) in fields.iter() {
            let field = desc
                .get_field_by_name(name)
                .unwrap_or_else(|| panic!("{message}.{name} missing"));
            assert_eq!(field.number(), *number, "{message}.{name}");
            assert_eq!(&field.kind(), kind, "{message}.{name}");
            assert!(!field.is_list(), "{message}.{name}");
        }
    }
    let events = pool
        .get_message_by_name("lnrpc.ForwardingHistoryResponse")
        .and_then(|m| m.get_field_by_name("forwarding_events"))
        .expect("forwarding_events");
    assert_eq!(events.number(), 1);
    assert!(events.is_list());
    assert!(matches!(events.kind(), Msg(m) if m.full_name() == "lnrpc.ForwardingEvent"));
    // The HTLC ids have explicit presence (`optional`), as in LND.
    let event = pool
        .get_message_by_name("lnrpc.ForwardingEvent")
        .expect("event");
    for name in ["incoming_htlc_id", "outgoing_htlc_id"] {
        assert!(event
            .get_field_by_name(name)
            .expect(name)
            .supports_presence());
    }
    let method = pool
        .get_service_by_name("lnrpc.Lightning")
        .and_then(|s| s.methods().find(|m| m.name() == "ForwardingHistory"))
        .expect("Lightning/ForwardingHistory");
    assert_eq!(method.input().full_name(), "lnrpc.ForwardingHistoryRequest");
    assert_eq!(
        method.output().full_name(),
        "lnrpc.ForwardingHistoryResponse"
    );
}
