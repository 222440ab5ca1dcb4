#!/usr/bin/env bash
# Every check and test, in the order that fails fastest.  Run via `./x test`
# (which installs the toolchain first).  Needs root: the eBPF tests load real
# programs; under CI=true they fail rather than skip when they cannot.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "format"
cargo fmt --all -- --check

step "clippy (workspace)"
cargo clippy --quiet --all-targets -- -D warnings

step "clippy (eBPF programs)"
( cd collector-ebpf && cargo "+${PERCH_EBPF_TOOLCHAIN}" clippy --quiet --release \
    --target bpfel-unknown-none -Z build-std=core -- -D warnings )

step "build binaries"
cargo build --quiet --bins

step "fuzz (request validation, briefly)"
./.ci/fuzz.sh "${PERCH_FUZZ_SECS:-20}"

step "tests"
log=$(mktemp); trap 'rm -f "$log"' EXIT
status=0
cargo test --quiet --workspace --exclude perch-ebpf -- "$@" 2>&1 | tee "$log" || status=$?
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "\n%d passed, %d failed\n", p, f }' "$log"
exit "$status"
