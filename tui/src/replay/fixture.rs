//! Where the tests find the public Spydertop example recordings: in
//! `shared/fixtures/spydertop` of a directory above this crate (the
//! repository's parent on the development machines and in CI; README says
//! how to place them beside a fresh clone).  They are read there, never
//! copied into the repository (their licence and size).
use std::path::{Path, PathBuf};

/// The recording `name` (e.g. `minikube-node.json.gz`), or what is
/// missing.
///
/// # Errors
/// No `shared/fixtures/spydertop/<name>` above the crate.
#[doc(hidden)]
pub fn spydertop(name: &str) -> Result<PathBuf, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    root.ancestors()
        .map(|d| d.join("shared/fixtures/spydertop").join(name))
        .find(|p| p.exists())
        .ok_or_else(|| {
            format!(
                "{name}: no shared/fixtures/spydertop above {}",
                root.display()
            )
        })
}
