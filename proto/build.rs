//! Compiles `perch/v1/*.proto` with protox (a pure-Rust protobuf compiler, so
//! no `protoc` has to be installed) and generates the tonic client and server.
use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "perch/v1/collector.proto",
        "perch/v1/actions.proto",
        "perch/v1/common.proto",
    ];
    for f in &files {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(files, ["."])?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    // The descriptor set feeds gRPC server reflection (grpcurl).
    std::fs::write(
        out.join("perch_v1_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure()
        // Hand-written (src/watch.rs): the server sends pre-encoded events.
        .extern_path(
            ".perch.v1.WatchEventsResponse",
            "crate::watch::WatchEventsResponse",
        )
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
