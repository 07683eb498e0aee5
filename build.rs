//! Generates the LND gRPC code from our own trimmed protos in `proto/`.
//!
//! `protox` parses the protos in pure Rust, so no system `protoc` is needed. Both client and
//! server stubs are generated: the daemon is a client, the simulator (`src/sim`) serves the same
//! services. The encoded descriptor set is written next to the generated code so tests can
//! interpret LND's wire bytes field by field (`lnd::pb::FILE_DESCRIPTOR_SET`). The one change
//! from prost's defaults, `HTLC.hash_lock` as `Bytes`, changes Rust types only, never the wire.

use std::path::PathBuf;

use protox::prost::Message as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");

    let protos = [
        "proto/lightning.proto",
        "proto/stateservice.proto",
        "proto/lnrpc_failure.proto",
        "proto/routerrpc/router.proto",
    ];
    let descriptors = protox::compile(protos, ["proto"])?;

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("lnrpc_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // `bytes::Bytes` instead of `Vec<u8>`: decoding slices the received buffer and the
        // simulator slices one buffer per answer, instead of one allocation per HTLC (a busy
        // node has 100,000s of them).
        .bytes(".lnrpc.HTLC.hash_lock")
        .emit_rerun_if_changed(false)
        .compile_fds(descriptors)?;
    Ok(())
}
