#!/usr/bin/env bash
# The README's test command: installs the packages, builds every flavour and runs every test.
#   release build (g++): all tests, including the long 1 GiB transfers
#   asan build (clang++, ASan+UBSan): all tests but the long ones
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
start=$(date +%s)
"$root/ci/install-deps.sh"

"$root/ci/build.sh" release
(cd "$root/build/release" && ctest --output-on-failure -j2)

"$root/ci/build.sh" asan
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd "$root/build/asan" && ctest --output-on-failure -j2 -LE long)

echo "ci/test.sh: all passed in $(( $(date +%s) - start )) s"
