//! Compiles `perch/v1/*.proto` with protox (a pure-Rust protobuf compiler, so
//! no `protoc` has to be installed) and generates the tonic client and server,
//! and `names::Named` for every enum (its name prefix and values, from the
//! same descriptors, so no list of values is kept by hand).
use std::{env, fmt::Write as _, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "perch/v1/collector.proto",
        "perch/v1/actions.proto",
        "perch/v1/common.proto",
        "perch/v1/detect.proto",
        "perch/v1/network.proto",
        "perch/v1/history.proto",
        "perch/v1/policy.proto",
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
    let mut named = String::new();
    for file in &fds.file {
        for e in &file.enum_type {
            named_impl(
                &mut named,
                e.name(),
                e.value.iter().map(|v| (v.name(), v.number())),
            )?;
        }
    }
    std::fs::write(out.join("perch_v1_names.rs"), named)?;
    tonic_prost_build::configure()
        // Hand-written (src/watch.rs): the server sends pre-encoded events.
        .extern_path(
            ".perch.v1.WatchEventsResponse",
            "crate::watch::WatchEventsResponse",
        )
        // Hand-written (src/state.rs): the server sends stored processes.
        .extern_path(
            ".perch.v1.GetStateAtResponse",
            "crate::state::GetStateAtResponse",
        )
        // prost's codec, decoding each message from one slice (src/codec.rs).
        .codec_path("crate::codec::SliceCodec")
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}

/// `impl Named for crate::v1::ActionKind`: the prefix every value name
/// carries (`ACTION_KIND_`, the enum's name in upper snake case, as the
/// protobuf style guide and prost both expect) and the values in order.
fn named_impl<'a>(
    out: &mut String,
    name: &str,
    values: impl Iterator<Item = (&'a str, i32)>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut prefix = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            prefix.push('_');
        }
        prefix.push(c.to_ascii_uppercase());
    }
    prefix.push('_');
    let mut numbers = Vec::new();
    for (value, number) in values {
        if !value.starts_with(&prefix) {
            return Err(format!("enum {name}: value {value} does not start with {prefix}").into());
        }
        numbers.push(number.to_string());
    }
    writeln!(
        out,
        "impl Named for crate::v1::{name} {{\n    \
             const PREFIX: &'static str = \"{prefix}\";\n    \
             const VALUES: &'static [i32] = &[{}];\n    \
             fn full_name(self) -> &'static str {{\n        self.as_str_name()\n    }}\n    \
             fn from_full_name(name: &str) -> Option<Self> {{\n        Self::from_str_name(name)\n    }}\n\
         }}",
        numbers.join(", ")
    )?;
    Ok(())
}
