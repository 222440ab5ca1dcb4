#!/usr/bin/env bash
# Benchmarks for BENCHMARKS.md (run via `./x bench`; needs root for eBPF).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release --bins
./target/release/perch-bench exec-storm --rounds 5 "$@"
