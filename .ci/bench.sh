#!/usr/bin/env bash
# Benchmarks for BENCHMARKS.md (run via `./x bench`; needs root for eBPF).
# Arguments go to exec-storm; the console benchmark runs with its defaults
# (10,000 sleeping processes, 5 start-up rounds, 30 s CPU windows).  The
# fuzz targets run last, PERCH_FUZZ_SECONDS each (default an hour).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release --bins
bin="${CARGO_TARGET_DIR:-target}/release"
"$bin/perch-bench" exec-storm --rounds 5 "$@"
echo
"$bin/perch-bench" console
echo
"$bin/perch-bench" kill-latency --kills 1000
echo
"$bin/perch-bench" memory
echo
"$bin/perch-bench" open-storm --rounds 5
echo
"$bin/perch-bench" connect-storm --connections 20000 --rounds 3
echo
"$bin/perch-bench" history-storm --rounds 5
echo
"$bin/perch-bench" history-seek --processes 10000 --seconds 90 --seeks 500
echo
./.ci/fuzz.sh "${PERCH_FUZZ_SECONDS:-3600}"
