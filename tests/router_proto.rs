//! Our `proto/routerrpc/router.proto` (and `proto/lnrpc_failure.proto`) against LND's
//! `lnrpc/routerrpc/router.proto` and `lnrpc.Failure`: every message, field, type and enum value
//! we declare is pinned here to the name and number LND publishes, so a typo in a field number
//! (which would silently decode the wrong field) fails this test.

use dustwatch::lnd::pb;
use prost_reflect::{DescriptorPool, Kind};

fn pool() -> DescriptorPool {
    DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).expect("our descriptor set decodes")
}

/// (message, field, number, type) as in LND's router.proto.
const FIELDS: &[(&str, &str, u32, &str)] = &[
    ("routerrpc.HtlcEvent", "incoming_channel_id", 1, "uint64"),
    ("routerrpc.HtlcEvent", "outgoing_channel_id", 2, "uint64"),
    ("routerrpc.HtlcEvent", "incoming_htlc_id", 3, "uint64"),
    ("routerrpc.HtlcEvent", "outgoing_htlc_id", 4, "uint64"),
    ("routerrpc.HtlcEvent", "timestamp_ns", 5, "uint64"),
    (
        "routerrpc.HtlcEvent",
        "event_type",
        6,
        "routerrpc.HtlcEvent.EventType",
    ),
    (
        "routerrpc.HtlcEvent",
        "link_fail_event",
        10,
        "routerrpc.LinkFailEvent",
    ),
    ("routerrpc.HtlcInfo", "incoming_timelock", 1, "uint32"),
    ("routerrpc.HtlcInfo", "outgoing_timelock", 2, "uint32"),
    ("routerrpc.HtlcInfo", "incoming_amt_msat", 3, "uint64"),
    ("routerrpc.HtlcInfo", "outgoing_amt_msat", 4, "uint64"),
    ("routerrpc.LinkFailEvent", "info", 1, "routerrpc.HtlcInfo"),
    (
        "routerrpc.LinkFailEvent",
        "wire_failure",
        2,
        "lnrpc.Failure.FailureCode",
    ),
    (
        "routerrpc.LinkFailEvent",
        "failure_detail",
        3,
        "routerrpc.FailureDetail",
    ),
    ("routerrpc.LinkFailEvent", "failure_string", 4, "string"),
    ("lnrpc.Failure", "code", 1, "lnrpc.Failure.FailureCode"),
];

const EVENT_TYPES: &[(&str, i32)] = &[("UNKNOWN", 0), ("SEND", 1), ("RECEIVE", 2), ("FORWARD", 3)];

const FAILURE_DETAILS: &[(&str, i32)] = &[
    ("UNKNOWN", 0),
    ("NO_DETAIL", 1),
    ("ONION_DECODE", 2),
    ("LINK_NOT_ELIGIBLE", 3),
    ("ON_CHAIN_TIMEOUT", 4),
    ("HTLC_EXCEEDS_MAX", 5),
    ("INSUFFICIENT_BALANCE", 6),
    ("INCOMPLETE_FORWARD", 7),
    ("HTLC_ADD_FAILED", 8),
    ("FORWARDS_DISABLED", 9),
    ("INVOICE_CANCELED", 10),
    ("INVOICE_UNDERPAID", 11),
    ("INVOICE_EXPIRY_TOO_SOON", 12),
    ("INVOICE_NOT_OPEN", 13),
    ("MPP_INVOICE_TIMEOUT", 14),
    ("ADDRESS_MISMATCH", 15),
    ("SET_TOTAL_MISMATCH", 16),
    ("SET_TOTAL_TOO_LOW", 17),
    ("SET_OVERPAID", 18),
    ("UNKNOWN_INVOICE", 19),
    ("INVALID_KEYSEND", 20),
    ("MPP_IN_PROGRESS", 21),
    ("CIRCULAR_ROUTE", 22),
];

const FAILURE_CODES: &[(&str, i32)] = &[
    ("RESERVED", 0),
    ("INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS", 1),
    ("INCORRECT_PAYMENT_AMOUNT", 2),
    ("FINAL_INCORRECT_CLTV_EXPIRY", 3),
    ("FINAL_INCORRECT_HTLC_AMOUNT", 4),
    ("FINAL_EXPIRY_TOO_SOON", 5),
    ("INVALID_REALM", 6),
    ("EXPIRY_TOO_SOON", 7),
    ("INVALID_ONION_VERSION", 8),
    ("INVALID_ONION_HMAC", 9),
    ("INVALID_ONION_KEY", 10),
    ("AMOUNT_BELOW_MINIMUM", 11),
    ("FEE_INSUFFICIENT", 12),
    ("INCORRECT_CLTV_EXPIRY", 13),
    ("CHANNEL_DISABLED", 14),
    ("TEMPORARY_CHANNEL_FAILURE", 15),
    ("REQUIRED_NODE_FEATURE_MISSING", 16),
    ("REQUIRED_CHANNEL_FEATURE_MISSING", 17),
    ("UNKNOWN_NEXT_PEER", 18),
    ("TEMPORARY_NODE_FAILURE", 19),
    ("PERMANENT_NODE_FAILURE", 20),
    ("PERMANENT_CHANNEL_FAILURE", 21),
    ("UNKNOWN_FAILURE", 998),
    ("UNREADABLE_FAILURE", 999),
];

fn type_name(kind: &Kind) -> String {
    match kind {
        Kind::Message(m) => m.full_name().to_string(),
        Kind::Enum(e) => e.full_name().to_string(),
        Kind::Uint64 => "uint64".into(),
        Kind::Uint32 => "uint32".into(),
        Kind::String => "string".into(),
        other => format!("{other:?}"),
    }
}

#[test]
fn every_field_we_declare_has_lnds_name_number_and_type() {
    let pool = pool();
    for (message, field, number, ty) in FIELDS {
        let descriptor = pool
            .get_message_by_name(message)
            .unwrap_or_else(|| panic!("{message} is not in our protos"));
        let ours = descriptor
            .get_field_by_name(field)
            .unwrap_or_else(|| panic!("{message}.{field} is missing"));
        assert_eq!(ours.number(), *number, "{message}.{field}");
        assert_eq!(type_name(&ours.kind()), *ty, "{message}.{field}");
    }
    // Nothing declared beyond what is pinned.
    for message in [
        "routerrpc.HtlcEvent",
        "routerrpc.HtlcInfo",
        "routerrpc.LinkFailEvent",
    ] {
        let declared = pool
            .get_message_by_name(message)
            .expect("message")
            .fields()
            .count();
        let pinned = FIELDS.iter().filter(|(m, ..)| m == &message).count();
        assert_eq!(
            declared, pinned,
            "{message} has fields this test does not pin"
        );
    }
}

#[test]
fn enums_have_lnds_numbering() {
    let pool = pool();
    for (name, values) in [
        ("routerrpc.HtlcEvent.EventType", EVENT_TYPES),
        ("routerrpc.FailureDetail", FAILURE_DETAILS),
        ("lnrpc.Failure.FailureCode", FAILURE_CODES),
    ] {
        let ours = pool.get_enum_by_name(name).expect(name);
        assert_eq!(
            ours.values().count(),
            values.len(),
            "{name}: unpinned values"
        );
        for (value, number) in values {
            let v = ours
                .get_value_by_name(value)
                .unwrap_or_else(|| panic!("{name}.{value} is missing"));
            assert_eq!(v.number(), *number, "{name}.{value}");
        }
    }
}

#[test]
fn the_service_method_is_lnds() {
    let pool = pool();
    let service = pool
        .get_service_by_name("routerrpc.Router")
        .expect("routerrpc.Router");
    let method = service
        .methods()
        .find(|m| m.name() == "SubscribeHtlcEvents")
        .expect("SubscribeHtlcEvents");
    assert!(method.is_server_streaming());
    assert_eq!(
        method.input().full_name(),
        "routerrpc.SubscribeHtlcEventsRequest"
    );
    assert_eq!(method.output().full_name(), "routerrpc.HtlcEvent");
}

/// The constants the domain model matches on are the pinned numbers.
#[test]
fn the_model_constants_are_the_pinned_numbers() {
    use dustwatch::model::link_failures::{
        DETAIL_NO_DETAIL, EVENT_TYPE_FORWARD, WIRE_TEMPORARY_CHANNEL_FAILURE,
    };
    assert_eq!(EVENT_TYPE_FORWARD, 3);
    assert_eq!(WIRE_TEMPORARY_CHANNEL_FAILURE, 15);
    assert_eq!(DETAIL_NO_DETAIL, 1);
}
