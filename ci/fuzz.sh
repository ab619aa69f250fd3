#!/usr/bin/env bash
# Builds the fuzz flavour (clang, libFuzzer, ASan+UBSan) and runs every fuzz target for a fixed
# time: ci/fuzz.sh [SECONDS_PER_TARGET] (default 20).
#
# Each target starts from a scratch copy of fuzz/corpus/<target>/ plus fuzz/regressions/<target>/
# (so the repository is never modified), with fuzz/dict/<target>.dict when there is one. Prints
# one line per target with executions per second and total executions, and exits non-zero if any
# target crashed, leaked, ran out of memory or timed out; the input that did it is kept under
# build/fuzz/artifacts/<target>/ and its path printed.
#
# libFuzzer is single-threaded, so targets run side by side, one per core (PVB_FUZZ_JOBS
# overrides): on 2 cores, 14 targets at 20 s each take about 2.5 minutes.
#
# PVB_FUZZ_BIN=DIR skips the build and runs the targets found in DIR (e.g. a build directory of
# your own: PVB_FUZZ_BIN=build/mine/fuzz ci/fuzz.sh 5).
#
# Longer runs of one target, and replaying an input: see fuzz/README.md.
set -uo pipefail

seconds=${1:-20}
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "usage: ci/fuzz.sh [SECONDS_PER_TARGET]" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=${PVB_FUZZ_JOBS:-$(nproc)}

if [ -n "${PVB_FUZZ_BIN:-}" ]; then
  bin=$(cd "$PVB_FUZZ_BIN" && pwd) || exit 1
else
  "$root/ci/build.sh" fuzz || { echo "fuzz.sh: the fuzz build failed" >&2; exit 1; }
  bin="$root/build/fuzz/fuzz"
fi
artifacts="$(dirname "$bin")/artifacts"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/pvb-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

mapfile -t targets < <(find "$bin" -maxdepth 1 -type f -name 'fuzz_*' -perm -u+x -printf '%f\n' | sort)
if [ "${#targets[@]}" -eq 0 ]; then
  echo "fuzz.sh: no fuzz targets in $bin" >&2
  exit 1
fi

# Runs one target; its output goes to $scratch/<target>.log, its exit status to .rc.
run_target() {
  local t=$1
  local corpus="$scratch/corpus/$t"
  mkdir -p "$corpus" "$artifacts/$t"
  for seeds in "$root/fuzz/corpus/$t" "$root/fuzz/regressions/$t"; do
    if [ -d "$seeds" ]; then cp -R "$seeds/." "$corpus/"; fi
  done
  local args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
              -artifact_prefix="$artifacts/$t/")
  if [ -f "$root/fuzz/dict/$t.dict" ]; then args+=(-dict="$root/fuzz/dict/$t.dict"); fi
  "$bin/$t" "${args[@]}" "$corpus" >"$scratch/$t.log" 2>&1
  echo $? >"$scratch/$t.rc"
}

# The value of one of libFuzzer's -print_final_stats lines ("stat::name: value").
stat() {
  sed -n "s/^stat::$1: *\([0-9]*\).*/\1/p" "$2" | tail -n 1
}

start=$SECONDS
running=0
for t in "${targets[@]}"; do
  run_target "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait

failed=()
printf '%-24s %10s %14s  %s\n' target exec/s executions result
for t in "${targets[@]}"; do
  log="$scratch/$t.log"
  rc=$(cat "$scratch/$t.rc" 2>/dev/null || echo '?')
  result=ok
  if [ "$rc" != 0 ]; then
    result="FAILED (exit $rc)"
    failed+=("$t")
  fi
  printf '%-24s %10s %14s  %s\n' "$t" "$(stat average_exec_per_sec "$log")" \
    "$(stat number_of_executed_units "$log")" "$result"
  if [ "$rc" != 0 ]; then
    # What went wrong (without the stack), and where libFuzzer saved the input.
    grep -E 'ERROR: |invariant failed|SUMMARY: |^  |Test unit written to|runtime error' "$log" |
      grep -vE '^ +#[0-9]+ |Combine libFuzzer' | head -n 30 | sed 's/^/    /'
  fi
done

echo "fuzzing took $((SECONDS - start)) s for ${#targets[@]} targets, $jobs at a time"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz.sh: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
  exit 1
fi
