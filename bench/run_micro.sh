#!/usr/bin/env bash
# Runs the micro benchmarks (bench_micro, built by the release build: ci/build.sh release).
#   bench/run_micro.sh                  every benchmark, Google Benchmark's default time each
#   bench/run_micro.sh --smoke          every benchmark briefly (--benchmark_min_time=0.01): CI
#   bench/run_micro.sh --filter REGEX   only the benchmarks matching REGEX
#   bench/run_micro.sh --binary PATH    which bench_micro (default build/release/bench/bench_micro,
#                                       or $PVB_BENCH_MICRO)
#   bench/run_micro.sh ... -- FLAGS     more Google Benchmark flags (--benchmark_repetitions=5, ...)
# Fails when a benchmark reports an error: they check their own results, so a smoke run catches
# a benchmark (or the code under it) that rotted.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
binary=${PVB_BENCH_MICRO:-$root/build/release/bench/bench_micro}
smoke=0
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --filter) args+=("--benchmark_filter=${2:?--filter needs a regex}"); shift ;;
    --binary) binary=${2:?--binary needs a path}; shift ;;
    --) shift; args+=("$@"); break ;;
    -h | --help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "run_micro.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ ! -x "$binary" ]; then
  echo "run_micro.sh: no benchmark binary at $binary (run ci/build.sh release, or pass --binary)" >&2
  exit 2
fi
[ "$smoke" = 1 ] && args=(--benchmark_min_time=0.01 "${args[@]}")

echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$binary" "${args[@]}" | tee "$out"
if grep -q "ERROR OCCURRED" "$out"; then
  echo "run_micro.sh: some benchmarks reported errors (above)" >&2
  exit 1
fi
