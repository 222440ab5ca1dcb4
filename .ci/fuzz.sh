#!/usr/bin/env bash
# The fuzz targets (collector/fuzz: cargo fuzz, libFuzzer), each run for
# SECONDS on a corpus seeded from real logs that the tests write.  CI runs
# them briefly (.ci/test.sh), the benchmarks for an hour (.ci/bench.sh).
#
#   .ci/fuzz.sh [SECONDS] [TARGET...]     (default: 60 s, every target)
#
# No sanitizer: the targets and the code they reach are safe Rust, where a
# bug is a panic, which libFuzzer catches as a crash without ASan (and the
# build and the runs are several times faster).  A crash fails the run and
# leaves its input in collector/fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
toolchain="${PERCH_EBPF_TOOLCHAIN:-nightly-2026-05-20}"
dir=collector/fuzz

# Seeds for a target come from `seed_TARGET DIR`, when there is one.
seed_audit_log() {
  PERCH_FUZZ_SEEDS="$1" cargo test --quiet -p perch-audit --lib fuzz_seeds_are_real_logs \
    >/dev/null
}

if (($#)); then targets=("$@"); else
  mapfile -t targets < <(cargo "+$toolchain" fuzz list --fuzz-dir "$dir")
fi
for t in "${targets[@]}"; do
  corpus="$dir/corpus/$t" seeds="$dir/seeds/$t"
  mkdir -p "$corpus" "$seeds"
  # Absolute: cargo test runs in the package's directory.
  if declare -F "seed_$t" >/dev/null; then "seed_$t" "$PWD/$seeds"; fi
  log=$(mktemp)
  status=0
  cargo "+$toolchain" fuzz run --fuzz-dir "$dir" --sanitizer none "$t" "$corpus" "$seeds" -- \
    -max_total_time="$seconds" -max_len=16384 -print_final_stats=1 >"$log" 2>&1 || status=$?
  # One line per target: what ran, and what it found.
  awk -v t="$t" -v s="$seconds" '
    /stat::number_of_executed_units/ { runs = $2 }
    /stat::average_exec_per_sec/     { rate = $2 }
    /stat::peak_rss_mb/              { rss = $2 }
    END { printf "fuzz %s: %s s, %s runs (%s/s), peak RSS %s MB\n", t, s, runs, rate, rss }' "$log"
  printf 'fuzz %s: corpus %s inputs\n' "$t" "$(find "$corpus" -type f | wc -l)"
  if ((status)); then
    tail -n 40 "$log" >&2
    rm -f "$log"
    echo "fuzz $t: FAILED (exit $status); inputs in $dir/artifacts/$t/" >&2
    exit "$status"
  fi
  rm -f "$log"
done
