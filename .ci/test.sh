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

# Before "build binaries": both write target/debug/perch, and the e2e tests
# need the default (embedded) one.
step "console without the collector (--no-default-features)"
aya=$(cargo tree -p perch-tui --no-default-features -e normal | grep -c aya || true)
if [ "$aya" -ne 0 ]; then
  echo "perch-tui --no-default-features still depends on aya ($aya lines of cargo tree)" >&2
  exit 1
fi
cargo build --quiet -p perch-tui --no-default-features
# With nothing at the socket it must say what it lacks, and exit 2.
status=0
out=$(./target/debug/perch --socket /nonexistent/perchd.sock 2>&1 </dev/null) || status=$?
if [ "$status" -ne 2 ] || ! grep -q "built without an embedded collector" <<<"$out"; then
  echo "perch --no-default-features with no collector: exit $status, said: $out" >&2
  exit 1
fi

step "build binaries"
cargo build --quiet --bins

step "tests"
log=$(mktemp); trap 'rm -f "$log"' EXIT
status=0
cargo test --quiet --workspace --exclude perch-ebpf -- "$@" 2>&1 | tee "$log" || status=$?
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "\n%d passed, %d failed\n", p, f }' "$log"
((status == 0)) || exit "$status"

# Briefly: the hour-long run is in .ci/bench.sh.
step "fuzz (${PERCH_FUZZ_SECONDS:-30} s per target)"
./.ci/fuzz.sh "${PERCH_FUZZ_SECONDS:-30}"
