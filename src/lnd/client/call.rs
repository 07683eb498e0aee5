//! How the client makes one call: the per-call deadline (also sent as `grpc-timeout`), the
//! classification of its failure, and which answers a snapshot can do without.

use std::future::Future;

use tonic::{Request, Response, Status};

use crate::lnd::error::{classify, ErrorContext, LndError};
use crate::model::SnapshotWarning;

/// How every call is made: its deadline, and what its errors are classified against.
#[derive(Debug, Clone)]
pub(super) struct CallPolicy {
    pub(super) ctx: ErrorContext,
}

impl CallPolicy {
    /// A request carrying the per-call deadline as `grpc-timeout`, so LND abandons the work
    /// too when dustwatch stops waiting.
    pub(super) fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        request.set_timeout(self.ctx.request_timeout);
        request
    }

    /// Runs one call under the per-call deadline and classifies its failure.
    pub(super) async fn unary<T>(
        &self,
        call: &'static str,
        fut: impl Future<Output = Result<Response<T>, Status>>,
    ) -> Result<T, LndError> {
        match tokio::time::timeout(self.ctx.request_timeout, fut).await {
            Ok(Ok(response)) => Ok(response.into_inner()),
            Ok(Err(status)) => Err(classify(call, &status, &self.ctx)),
            Err(_elapsed) => Err(LndError::Timeout {
                call,
                after: self.ctx.request_timeout,
            }),
        }
    }
}

/// An answer the snapshot can do without: `Err` only for failures that must fail the cycle.
///
/// `Unimplemented` (an older LND) and a macaroon rejection (a narrow macaroon; a wholly bad
/// one fails the required GetInfo anyway) become `Ok(Err(..))`, kept for a snapshot warning.
pub(super) async fn optional<T>(
    call: impl Future<Output = Result<T, LndError>>,
) -> Result<Result<T, LndError>, LndError> {
    match call.await {
        Ok(answer) => Ok(Ok(answer)),
        Err(
            err @ (LndError::BadMacaroon { .. }
            | LndError::Rpc {
                code: tonic::Code::Unimplemented,
                ..
            }),
        ) => Ok(Err(err)),
        Err(err) => Err(err),
    }
}

/// Turns a missing optional answer into a warning that says what the snapshot lacks.
pub(super) fn note_missing<T>(
    answer: Result<T, LndError>,
    notes: &mut Vec<SnapshotWarning>,
) -> Option<T> {
    match answer {
        Ok(answer) => Some(answer),
        Err(err) => {
            notes.push(SnapshotWarning {
                chan_id: None,
                message: format!("left out of this snapshot: {err}"),
            });
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn optional_answers_degrade_only_when_lnd_cannot_or_may_not_answer() {
        let unimplemented = LndError::Rpc {
            call: "GetDebugInfo",
            code: tonic::Code::Unimplemented,
            message: "unknown method GetDebugInfo".into(),
        };
        let refused = LndError::BadMacaroon {
            call: "WalletBalance",
            macaroon_path: "/m".into(),
            message: "permission denied".into(),
        };
        let down = LndError::Unreachable {
            call: "FeeReport",
            address: "a:1".into(),
            message: "refused".into(),
        };
        assert!(matches!(
            optional(async { Ok::<_, LndError>(7) }).await,
            Ok(Ok(7))
        ));
        let mut notes = Vec::new();
        for err in [unimplemented, refused] {
            let answer = optional(async { Err::<u8, _>(err) })
                .await
                .expect("degrades");
            assert_eq!(note_missing(answer, &mut notes), None);
        }
        assert_eq!(notes.len(), 2);
        assert!(notes[0].message.contains("GetDebugInfo"), "{:?}", notes[0]);
        assert!(notes[1].message.contains("WalletBalance"), "{:?}", notes[1]);
        let err = optional(async { Err::<u8, _>(down) })
            .await
            .expect_err("fails the cycle");
        assert!(err.is_transient());
    }
}
