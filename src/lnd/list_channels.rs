//! The ListChannels answer, decoded channel by channel on every core.
//!
//! On a busy node ListChannels is by far the largest answer of a snapshot (a 10,000-channel
//! node with ~10 pending HTLCs per channel sends ~8 MB), and decoding it was the client's
//! largest single cost. tonic's stock decoder reads the message straight out of its receive
//! buffer, so every field read goes through the `Buf` trait and every `bytes` field becomes a
//! reference-counted slice of that shared buffer: about a third slower than decoding the same
//! bytes from one slice, and all of it on one core. So this module's codec takes the answer as
//! one contiguous buffer (zero-copy: tonic already holds the whole message in one piece),
//! splits it into its channel records (`ChannelRecords`, a view of the answer's field 11
//! whose elements stay undecoded), and decodes the records in parallel.
//!
//! Invariant: [`decode`] returns exactly what `pb::ListChannelsResponse::decode` returns for the
//! same bytes, channels in wire order; a record that does not decode fails the whole answer,
//! as with the stock decoder, and the error names the record.

use std::sync::{Mutex, PoisonError};

use prost::bytes::{Buf, Bytes};
use prost::Message;
use rayon::prelude::*;
use tonic::client::{Grpc, GrpcService};
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::codegen::{Body, StdError};
use tonic::{GrpcMethod, IntoRequest, Response, Status};
use tonic_prost::ProstEncoder;

use crate::lnd::pb;

/// `lnrpc.ListChannelsResponse` as the wire carries it, with each `channels` element (field 11)
/// kept as its undecoded bytes: slicing them out of the answer copies nothing. Fields this view
/// does not name are skipped, as they are by the full message type.
#[derive(Clone, PartialEq, Message)]
struct ChannelRecords {
    #[prost(bytes = "bytes", repeated, tag = "11")]
    channels: Vec<Bytes>,
}

/// Why a ListChannels answer could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum ListChannelsDecodeError {
    /// The answer's outer framing is broken (a record's length runs past the end, ...).
    #[error("ListChannels answer: {0}")]
    Answer(#[source] prost::DecodeError),
    /// One channel record is malformed; `index` counts records from 0 in wire order.
    #[error("ListChannels answer, channel record {index}: {source}")]
    Channel {
        index: usize,
        #[source]
        source: prost::DecodeError,
    },
}

/// Decodes a whole ListChannels answer, its channel records in parallel.
pub fn decode(answer: Bytes) -> Result<pb::ListChannelsResponse, ListChannelsDecodeError> {
    let records = ChannelRecords::decode(answer).map_err(ListChannelsDecodeError::Answer)?;
    // The first broken record in wire order, whichever core finds it.
    let broken: Mutex<Option<(usize, prost::DecodeError)>> = Mutex::new(None);
    // Collected by position straight into the answer's list: rayon's collect into a `Result`
    // would gather pieces and copy them together (~6 MB, on one core). A broken record stands
    // as a default channel until the error below discards the list.
    let channels: Vec<pb::Channel> = records
        .channels
        .par_iter()
        .enumerate()
        .map(|(index, record)| {
            pb::Channel::decode(record.as_ref()).unwrap_or_else(|source| {
                let mut first = broken.lock().unwrap_or_else(PoisonError::into_inner);
                if first.as_ref().is_none_or(|(seen, _)| index < *seen) {
                    *first = Some((index, source));
                }
                pb::Channel::default()
            })
        })
        .collect();
    match broken.into_inner().unwrap_or_else(PoisonError::into_inner) {
        Some((index, source)) => Err(ListChannelsDecodeError::Channel { index, source }),
        None => Ok(pb::ListChannelsResponse { channels }),
    }
}

/// `Lightning/ListChannels` on `grpc`, answered through [`ListChannelsCodec`]: the generated
/// stub's call with this module's decoder. `grpc` carries the connection's settings (macaroon,
/// answer size limit).
pub async fn call<T>(
    mut grpc: Grpc<T>,
    request: impl IntoRequest<pb::ListChannelsRequest>,
) -> Result<Response<pb::ListChannelsResponse>, Status>
where
    T: GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    // Worded as the generated stubs word it, so every call reports this failure alike.
    grpc.ready()
        .await
        .map_err(|e| Status::unknown(format!("Service was not ready: {}", e.into())))?;
    let mut request = request.into_request();
    request
        .extensions_mut()
        .insert(GrpcMethod::new("lnrpc.Lightning", "ListChannels"));
    let path = PathAndQuery::from_static("/lnrpc.Lightning/ListChannels");
    grpc.unary(request, path, ListChannelsCodec).await
}

/// The codec of the client's ListChannels call: the request is encoded by prost as usual; the
/// answer is decoded by [`decode`].
#[derive(Debug, Default, Clone, Copy)]
pub struct ListChannelsCodec;

impl Codec for ListChannelsCodec {
    type Encode = pb::ListChannelsRequest;
    type Decode = pb::ListChannelsResponse;
    type Encoder = ProstEncoder<pb::ListChannelsRequest>;
    type Decoder = ParallelDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::new(BufferSettings::default())
    }

    fn decoder(&mut self) -> Self::Decoder {
        ParallelDecoder
    }
}

/// tonic calls this once per message, with exactly that message's bytes in `buf`.
#[derive(Debug, Default, Clone, Copy)]
pub struct ParallelDecoder;

impl Decoder for ParallelDecoder {
    type Item = pb::ListChannelsResponse;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        let answer = buf.copy_to_bytes(buf.remaining());
        // INTERNAL, as tonic's own decoder reports a message that does not parse.
        decode(answer)
            .map(Some)
            .map_err(|err| Status::internal(err.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn htlc(n: u64) -> pb::Htlc {
        pb::Htlc {
            incoming: n % 2 == 0,
            amount: 1_000 + n as i64,
            hash_lock: Bytes::from(vec![n as u8; 32]),
            expiration_height: 800_000 + n as u32,
            htlc_index: n,
            forwarding_channel: n * 7,
            forwarding_htlc_index: n * 3,
            locked_in: true,
        }
    }

    fn answer(channels: u64) -> pb::ListChannelsResponse {
        pb::ListChannelsResponse {
            channels: (0..channels)
                .map(|i| pb::Channel {
                    chan_id: 1 << 40 | i,
                    channel_point: format!("{i:064x}:1"),
                    remote_pubkey: format!("02{i:064x}"),
                    capacity: 1_000_000 + i as i64,
                    local_balance: 400_000,
                    remote_balance: 590_000,
                    peer_alias: format!("peer {i}"),
                    pending_htlcs: (0..i % 5).map(|n| htlc(i * 10 + n)).collect(),
                    ..Default::default()
                })
                .collect(),
        }
    }

    #[test]
    fn decodes_like_the_full_message_type() {
        for count in [0, 1, 7, 600] {
            let bytes = answer(count).encode_to_vec();
            let expected = pb::ListChannelsResponse::decode(bytes.as_slice()).unwrap();
            let decoded = decode(Bytes::from(bytes)).unwrap();
            assert_eq!(decoded, expected, "{count} channels");
            assert_eq!(decoded.channels.len(), count as usize);
        }
    }

    #[test]
    fn skips_fields_it_does_not_know_like_the_full_type() {
        // Field 12 (a newer LND's addition, say) before and after the channel records.
        let mut bytes = vec![0x62, 0x03, b'a', b'b', b'c'];
        answer(3).encode(&mut bytes).unwrap();
        bytes.extend_from_slice(&[0x60, 0x2a]);
        let expected = pb::ListChannelsResponse::decode(bytes.as_slice()).unwrap();
        assert_eq!(decode(Bytes::from(bytes)).unwrap(), expected);
    }

    #[test]
    fn a_broken_record_names_its_index() {
        let mut answer = answer(600);
        // Valid outer frames around two records whose inner field claims more bytes than it
        // has: the first in wire order is named.
        let mut bytes = Vec::new();
        for (index, channel) in answer.channels.drain(..).enumerate() {
            let mut record = channel.encode_to_vec();
            if index == 250 || index == 520 {
                record.extend_from_slice(&[0x1a, 0x7f, 0x00]);
            }
            prost::encoding::encode_key(11, prost::encoding::WireType::LengthDelimited, &mut bytes);
            prost::encoding::encode_varint(record.len() as u64, &mut bytes);
            bytes.extend_from_slice(&record);
        }
        let err = decode(Bytes::from(bytes.clone())).unwrap_err();
        assert!(
            matches!(err, ListChannelsDecodeError::Channel { index: 250, .. }),
            "{err:?}"
        );
        assert!(pb::ListChannelsResponse::decode(bytes.as_slice()).is_err());

        // A truncated answer breaks the outer framing.
        let err = decode(Bytes::from(bytes[..bytes.len() - 4].to_vec())).unwrap_err();
        assert!(matches!(err, ListChannelsDecodeError::Answer(_)), "{err:?}");
    }
}
