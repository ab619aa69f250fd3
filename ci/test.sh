#!/usr/bin/env bash
# The README's test command: installs the packages, builds every flavour and runs every test.
#   release build (g++):            all tests (unit, stack, mock, end to end, benchmark smoke)
#   the .deb (ci/package.sh):        built from the release tree, checked, unpacked and run; as
#                                    root in CI also installed with dpkg -i and removed again
#   asan build (clang++, ASan+UBSan): all tests but the long ones
#   fuzz build (clang++, libFuzzer):  every fuzz target for 20 s (ci/fuzz.sh)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
start=$(date +%s)
stage() { echo "== ci/test.sh: $* ($(( $(date +%s) - start )) s)"; }
"$root/ci/install-deps.sh"

stage "release build"
"$root/ci/build.sh" release
stage "release tests"
# packaging.deb is what the package stage does, and more: not twice.
(cd "$root/build/release" && ctest --output-on-failure -j2 -E '^packaging[.]deb$')
stage "package"
"$root/ci/package.sh" --build-dir "$root/build/release"

stage "asan+ubsan build"
"$root/ci/build.sh" asan
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
stage "asan+ubsan tests"
(cd "$root/build/asan" && ctest --output-on-failure -j2 -LE long)
unset ASAN_OPTIONS UBSAN_OPTIONS

stage "fuzz"
"$root/ci/fuzz.sh" "${PVB_FUZZ_SECONDS:-20}"

stage "all passed"
