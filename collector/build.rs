//! Builds the kernel programs (collector-ebpf) for `bpfel-unknown-none` with
//! the pinned nightly and bpf-linker (installed by `./x setup`), so that the
//! object can be embedded in perchd with `include_bytes_aligned!`.
use anyhow::{Context as _, anyhow};
use aya_build::{Package, Toolchain};

fn main() -> anyhow::Result<()> {
    println!("cargo:rerun-if-env-changed=PERCH_EBPF_TOOLCHAIN");
    let toolchain =
        std::env::var("PERCH_EBPF_TOOLCHAIN").unwrap_or_else(|_| "nightly-2026-05-20".to_owned());
    let manifest = std::env::var("CARGO_MANIFEST_DIR").context("CARGO_MANIFEST_DIR")?;
    let root = std::path::Path::new(&manifest).join("../collector-ebpf");
    let root = root
        .to_str()
        .ok_or_else(|| anyhow!("non-UTF-8 path {}", root.display()))?;
    aya_build::build_ebpf(
        [Package {
            name: "perch-ebpf",
            root_dir: root,
            ..Default::default()
        }],
        Toolchain::Custom(&toolchain),
    )
}
