//! What can go wrong talking to LND, and the one place that decides transient vs fatal.
//!
//! LND reports most failures as gRPC status `Unknown` with a human message, both "not ready
//! yet" (wallet locked, still starting) and "bad macaroon". [`classify`] turns a
//! `tonic::Status` into an [`LndError`] by looking, in this order, at: a pinned-certificate
//! mismatch anywhere in the source chain, LND's known not-ready messages, LND's macaroon
//! messages, and finally the status code. [`LndError::is_transient`] is what the daemon's
//! backoff reads; it never inspects messages itself.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use tonic::Code;

use crate::escape::escape;
use crate::lnd::tls::{find_pin_mismatch, PinLoadError};

/// LND's readiness as `lnrpc.State/GetState` reports it (`lnrpc.WalletState`).
///
/// Only [`LndState::ServerActive`] means every RPC dustwatch uses will answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LndState {
    /// LND is up but waiting to start (e.g. to be elected leader in a cluster).
    WaitingToStart,
    /// No wallet exists yet: the node has never been initialised.
    NonExisting,
    /// The wallet exists but is locked.
    Locked,
    /// The wallet is unlocked; the RPC server is still starting.
    Unlocked,
    /// The RPC server is up; the Lightning server is still starting.
    RpcActive,
    /// Fully up: all RPCs available.
    ServerActive,
    /// A state number this version of dustwatch does not know (a newer LND).
    Unrecognized(i32),
}

impl LndState {
    /// Maps `lnrpc.WalletState`'s wire numbers.
    pub fn from_wire(value: i32) -> Self {
        match value {
            0 => LndState::NonExisting,
            1 => LndState::Locked,
            2 => LndState::Unlocked,
            3 => LndState::RpcActive,
            4 => LndState::ServerActive,
            255 => LndState::WaitingToStart,
            other => LndState::Unrecognized(other),
        }
    }

    /// True once LND serves every RPC dustwatch needs.
    pub fn is_ready(self) -> bool {
        self == LndState::ServerActive
    }
}

impl fmt::Display for LndState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LndState::WaitingToStart => f.write_str("waiting to start"),
            LndState::NonExisting => f.write_str("no wallet created yet (run `lncli create`)"),
            LndState::Locked => f.write_str("wallet locked (run `lncli unlock`)"),
            LndState::Unlocked => f.write_str("wallet unlocked, RPC server starting"),
            LndState::RpcActive => f.write_str("RPC server active, Lightning server starting"),
            LndState::ServerActive => f.write_str("server active"),
            LndState::Unrecognized(n) => write!(f, "unrecognized state {n}"),
        }
    }
}

/// Every way a call to LND can fail, with what the operator needs to act on it.
///
/// No variant carries macaroon bytes: the macaroon only ever appears as a path.
#[derive(Debug, thiserror::Error)]
pub enum LndError {
    /// The configured `tls.cert` cannot be read or holds no certificate.
    #[error(transparent)]
    TlsCert(#[from] PinLoadError),

    #[error("cannot read the macaroon {path}: {source}")]
    MacaroonUnreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("the macaroon file {path} is empty")]
    MacaroonEmpty { path: PathBuf },

    #[error("invalid LND address {address}: {reason}")]
    InvalidAddress { address: String, reason: String },

    /// The server's certificate is not the pinned one: LND regenerated `tls.cert`, or the
    /// address points at another server.
    #[error(
        "LND at {address} presented a TLS certificate that is not the pinned {cert_path} \
         (did LND regenerate its tls.cert? copy the current one there)"
    )]
    TlsPinMismatch { address: String, cert_path: PathBuf },

    /// LND refused the macaroon (wrong node, deleted root key, missing permission).
    #[error("LND rejected the macaroon {macaroon_path} on {call}: {message}")]
    BadMacaroon {
        call: &'static str,
        macaroon_path: PathBuf,
        message: String,
    },

    /// LND answers but is not ready to serve (locked, starting up).
    #[error("LND is not ready: {state}")]
    NotReady { state: LndState },

    /// Nothing usable at the other end: connection refused or reset, LND overloaded.
    #[error("cannot reach LND at {address} ({call}): {message}")]
    Unreachable {
        call: &'static str,
        address: String,
        message: String,
    },

    #[error("LND did not answer {call} within {}", humantime::format_duration(*.after))]
    Timeout { call: &'static str, after: Duration },

    /// LND's answer is bigger than this client accepts (`lnd.max_message_bytes`).
    #[error(
        "LND's answer to {call} is larger than lnd.max_message_bytes allows; raise it ({message})"
    )]
    AnswerTooLarge { call: &'static str, message: String },

    /// Any other gRPC failure; LND's own message is kept verbatim.
    #[error("LND failed {call} with {code:?}: {message}")]
    Rpc {
        call: &'static str,
        code: Code,
        message: String,
    },
}

impl LndError {
    /// True when waiting and retrying is expected to fix it without the operator: LND is
    /// down, restarting, locked or slow. False when someone has to change something (a file,
    /// the address, LND's version); the daemon still retries those, at its longest backoff,
    /// and re-reads the certificate and macaroon files before each retry.
    pub fn is_transient(&self) -> bool {
        match self {
            LndError::NotReady { .. } | LndError::Unreachable { .. } | LndError::Timeout { .. } => {
                true
            }
            LndError::TlsCert(_)
            | LndError::MacaroonUnreadable { .. }
            | LndError::MacaroonEmpty { .. }
            | LndError::InvalidAddress { .. }
            | LndError::TlsPinMismatch { .. }
            | LndError::BadMacaroon { .. }
            | LndError::AnswerTooLarge { .. }
            | LndError::Rpc { .. } => false,
        }
    }
}

/// What [`classify`] needs to name the things an error is about.
#[derive(Debug, Clone)]
pub struct ErrorContext {
    /// `host:port` of LND.
    pub address: String,
    pub cert_path: PathBuf,
    pub macaroon_path: PathBuf,
    /// The per-call deadline, reported when a call times out.
    pub request_timeout: Duration,
}

/// LND's messages (lower case) for "up but not serving yet", and the state each one means.
/// They arrive with status `Unknown`. Order matters: the more specific text comes first.
const NOT_READY_MESSAGES: &[(&str, LndState)] = &[
    ("waiting to start", LndState::WaitingToStart),
    ("wallet not created", LndState::NonExisting),
    ("wallet locked", LndState::Locked),
    (
        "rpc server is in the process of starting up",
        LndState::Unlocked,
    ),
    ("in the process of starting", LndState::RpcActive),
];

/// Fragments (lower case) of LND's and its macaroon library's rejections of a macaroon.
const MACAROON_MESSAGES: &[&str] = &[
    "macaroon",
    "verification failed",
    "invalid id",
    "permission denied",
    "cannot get root key",
    "encoding/hex",
];

/// Turns the status of a failed `call` into an [`LndError`]: the single place where
/// "transient or not" is decided (see the module docs for the order of the checks).
pub fn classify(call: &'static str, status: &tonic::Status, ctx: &ErrorContext) -> LndError {
    let as_error: &(dyn std::error::Error + 'static) = status;
    if let Some(mismatch) = find_pin_mismatch(as_error) {
        return LndError::TlsPinMismatch {
            address: ctx.address.clone(),
            cert_path: mismatch.cert_path.clone(),
        };
    }

    let message = status.message().to_lowercase();
    if let Some((_, state)) = NOT_READY_MESSAGES
        .iter()
        .find(|(text, _)| message.contains(text))
    {
        return LndError::NotReady { state: *state };
    }
    if matches!(
        status.code(),
        Code::Unauthenticated | Code::PermissionDenied
    ) || MACAROON_MESSAGES.iter().any(|text| message.contains(text))
    {
        return LndError::BadMacaroon {
            call,
            macaroon_path: ctx.macaroon_path.clone(),
            message: escape(status.message()).into_owned(),
        };
    }

    match status.code() {
        Code::DeadlineExceeded => LndError::Timeout {
            call,
            after: ctx.request_timeout,
        },
        Code::Cancelled if is_client_timeout(as_error) => LndError::Timeout {
            call,
            after: ctx.request_timeout,
        },
        Code::Unavailable | Code::Cancelled | Code::Aborted => unreachable(call, status, ctx),
        // tonic's own decoder refusing an answer above `max_decoding_message_size`.
        Code::OutOfRange | Code::ResourceExhausted
            if message.contains("message length too large") =>
        {
            LndError::AnswerTooLarge {
                call,
                message: escape(status.message()).into_owned(),
            }
        }
        // A connection that breaks mid-call surfaces as `Unknown` around a transport error.
        Code::Unknown | Code::Internal if has_transport_cause(as_error) => {
            unreachable(call, status, ctx)
        }
        code => LndError::Rpc {
            call,
            code,
            message: escape(status.message()).into_owned(),
        },
    }
}

fn unreachable(call: &'static str, status: &tonic::Status, ctx: &ErrorContext) -> LndError {
    LndError::Unreachable {
        call,
        address: ctx.address.clone(),
        message: describe(status),
    }
}

/// The status message followed by the distinct messages of its causes, e.g.
/// "tcp connect error: Connection refused (os error 111)".
fn describe(status: &tonic::Status) -> String {
    let mut parts: Vec<String> = Vec::new();
    if !status.message().is_empty() {
        parts.push(escape(status.message()).into_owned());
    }
    let mut next = std::error::Error::source(status);
    while let Some(err) = next {
        let text = escape(&err.to_string()).into_owned();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    if parts.is_empty() {
        format!("{:?}", status.code())
    } else {
        parts.join(": ")
    }
}

/// tonic reports its own client-side deadline as `Cancelled` with a "Timeout expired" cause.
fn is_client_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    chain(err).any(|e| {
        e.downcast_ref::<tonic::TimeoutExpired>().is_some()
            || e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
    })
}

/// True when the failure came from the connection rather than from LND's answer.
///
/// A status LND sent arrives in the response trailers and has no source error; tonic attaches
/// one only when it builds the status itself from a local failure (a broken or reset HTTP/2
/// connection, an I/O error). hyper's and h2's errors in that chain are not nameable without
/// depending on those crates, so the presence of any source is the test.
fn has_transport_cause(err: &(dyn std::error::Error + 'static)) -> bool {
    err.source().is_some()
}

fn chain<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(err), |e| e.source())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::Arc;

    fn ctx() -> ErrorContext {
        ErrorContext {
            address: "localhost:10009".into(),
            cert_path: PathBuf::from("/lnd/tls.cert"),
            macaroon_path: PathBuf::from("/lnd/readonly.macaroon"),
            request_timeout: Duration::from_secs(60),
        }
    }

    fn classify_unknown(message: &str) -> LndError {
        classify("GetInfo", &tonic::Status::unknown(message), &ctx())
    }

    #[test]
    fn lnd_not_ready_messages_are_transient_not_ready() {
        let cases = [
            (
                "wallet locked, unlock it to enable full RPC access",
                LndState::Locked,
            ),
            (
                "the RPC server is in the process of starting up, but not yet ready to accept calls",
                LndState::Unlocked,
            ),
            ("server is still in the process of starting", LndState::RpcActive),
            ("waiting to start, RPC services not available", LndState::WaitingToStart),
            (
                "wallet not created, create one to enable full RPC access",
                LndState::NonExisting,
            ),
        ];
        for (message, expected) in cases {
            let err = classify_unknown(message);
            match &err {
                LndError::NotReady { state } => assert_eq!(*state, expected, "{message}"),
                other => panic!("{message}: classified as {other:?}"),
            }
            assert!(err.is_transient(), "{message}");
        }
    }

    #[test]
    fn macaroon_rejections_are_bad_macaroon_naming_the_file() {
        let messages = [
            "verification failed: signature mismatch after caveat verification",
            "expected 1 macaroon, got 0",
            "cannot get macaroon: root key with id 1 doesn't exist",
            "invalid ID",
            "permission denied",
            "unknown macaroon version: 1",
            "encoding/hex: invalid byte: U+0078 'x'",
        ];
        for message in messages {
            let err = classify_unknown(message);
            match &err {
                LndError::BadMacaroon {
                    macaroon_path,
                    call,
                    ..
                } => {
                    assert_eq!(macaroon_path, Path::new("/lnd/readonly.macaroon"));
                    assert_eq!(*call, "GetInfo");
                }
                other => panic!("{message}: classified as {other:?}"),
            }
            assert!(!err.is_transient(), "{message}");
            assert!(err.to_string().contains("/lnd/readonly.macaroon"), "{err}");
        }
        let err = classify("GetInfo", &tonic::Status::unauthenticated("no"), &ctx());
        assert!(matches!(err, LndError::BadMacaroon { .. }), "{err:?}");
    }

    #[test]
    fn unavailable_and_deadlines_are_transient() {
        let err = classify(
            "GetInfo",
            &tonic::Status::unavailable("tcp connect error"),
            &ctx(),
        );
        assert!(matches!(err, LndError::Unreachable { .. }), "{err:?}");
        assert!(err.is_transient());
        assert!(err.to_string().contains("localhost:10009"), "{err}");

        let err = classify(
            "ListChannels",
            &tonic::Status::deadline_exceeded("slow"),
            &ctx(),
        );
        assert!(
            matches!(
                err,
                LndError::Timeout {
                    call: "ListChannels",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.is_transient());
        assert!(err.to_string().contains("1m"), "{err}");
    }

    #[test]
    fn connection_errors_are_transient_whatever_the_code() {
        // tonic's own conversion of a refused connection.
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let status = tonic::Status::from(io);
        assert!(classify("GetState", &status, &ctx()).is_transient());

        // A status LND itself sent (no source) stays an LND error.
        let status = tonic::Status::unknown("error reading a body from connection");
        assert!(!classify("ListChannels", &status, &ctx()).is_transient());

        // A broken connection mid-call: Unknown around an io::Error.
        let mut status = tonic::Status::unknown("error reading a body from connection");
        status.set_source(Arc::new(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "connection reset by peer",
        )));
        let err = classify("ListChannels", &status, &ctx());
        assert!(matches!(err, LndError::Unreachable { .. }), "{err:?}");
        assert!(
            err.to_string().contains("connection reset by peer"),
            "{err}"
        );
    }

    #[test]
    fn tonic_client_deadline_is_a_timeout() {
        let status = tonic::Status::from_error(Box::new(tonic::TimeoutExpired(())));
        assert_eq!(status.code(), Code::Cancelled);
        let err = classify("WalletBalance", &status, &ctx());
        assert!(
            matches!(
                err,
                LndError::Timeout {
                    call: "WalletBalance",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.is_transient());
    }

    #[test]
    fn an_answer_over_the_receive_limit_names_the_setting() {
        let status = tonic::Status::out_of_range(
            "Error, decoded message length too large: found 6436243 bytes, the limit is: 4194304 bytes",
        );
        let err = classify("ListChannels", &status, &ctx());
        assert!(
            matches!(
                err,
                LndError::AnswerTooLarge {
                    call: "ListChannels",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(!err.is_transient());
        assert!(err.to_string().contains("max_message_bytes"), "{err}");
    }

    #[test]
    fn other_lnd_errors_are_fatal_and_keep_the_message() {
        let err = classify(
            "GetDebugInfo",
            &tonic::Status::unimplemented("unknown method"),
            &ctx(),
        );
        assert!(
            matches!(
                err,
                LndError::Rpc {
                    code: Code::Unimplemented,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(!err.is_transient());

        let err = classify_unknown("unable to find channel");
        assert!(
            matches!(
                err,
                LndError::Rpc {
                    code: Code::Unknown,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("unable to find channel"), "{err}");
        assert!(!err.is_transient());
    }

    #[test]
    fn a_pin_mismatch_wins_over_the_status_code() {
        let mismatch = rustls::Error::InvalidCertificate(rustls::CertificateError::Other(
            rustls::OtherError(Arc::new(crate::lnd::tls::PinMismatch {
                cert_path: PathBuf::from("/lnd/tls.cert"),
            })),
        ));
        let mut status = tonic::Status::unavailable("transport error");
        status.set_source(Arc::new(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            mismatch,
        )));
        let err = classify("GetState", &status, &ctx());
        match &err {
            LndError::TlsPinMismatch { cert_path, address } => {
                assert_eq!(cert_path, Path::new("/lnd/tls.cert"));
                assert_eq!(address, "localhost:10009");
            }
            other => panic!("classified as {other:?}"),
        }
        assert!(!err.is_transient());
        assert!(err.to_string().contains("/lnd/tls.cert"), "{err}");
    }

    #[test]
    fn states_map_from_the_wire() {
        assert_eq!(LndState::from_wire(4), LndState::ServerActive);
        assert!(LndState::from_wire(4).is_ready());
        assert_eq!(LndState::from_wire(1), LndState::Locked);
        assert_eq!(LndState::from_wire(255), LndState::WaitingToStart);
        assert_eq!(LndState::from_wire(7), LndState::Unrecognized(7));
        assert!(!LndState::from_wire(3).is_ready());
    }
}
