#!/usr/bin/env bash
# Runs every cargo-fuzz target in the repository (each */fuzz directory
# with a Cargo.toml) for SECONDS each (default 30) with the pinned nightly;
# a crash fails the run and leaves its input under DIR/artifacts/.  CI runs
# it briefly (.ci/test.sh), the benchmarks for an hour (.ci/bench.sh).
# Prints one line per target: runs, seconds, corpus size.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-30}"
toolchain="${PERCH_EBPF_TOOLCHAIN:-nightly-2026-05-20}"
mapfile -t dirs < <(find . -path ./target -prune -o -path '*/fuzz/Cargo.toml' -print | xargs -r -n1 dirname | sort)
for dir in "${dirs[@]}"; do
  mapfile -t targets < <(cargo +"$toolchain" fuzz list --fuzz-dir "$dir")
  for t in "${targets[@]}"; do
    log=$(mktemp)
    if ! cargo +"$toolchain" fuzz run --fuzz-dir "$dir" "$t" -- \
        -max_total_time="$secs" -print_final_stats=1 >"$log" 2>&1; then
      tail -n 40 "$log"; rm -f "$log"
      echo "fuzz: $dir $t FAILED (input in $dir/artifacts/$t/)" >&2
      exit 1
    fi
    runs=$(awk '/stat::number_of_executed_units/ { print $NF }' "$log")
    corpus=$(find "$dir/corpus/$t" -type f 2>/dev/null | wc -l)
    echo "fuzz: $dir $t: ${runs:-?} runs in ${secs} s, corpus ${corpus} inputs, no crash"
    rm -f "$log"
  done
done
