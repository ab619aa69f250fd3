#!/usr/bin/env bash
# Configures and builds one flavour into build/<flavour>:
#   release  g++,     optimized, warnings are errors
#   asan     clang++, AddressSanitizer + UndefinedBehaviorSanitizer
#   fuzz     clang++, libFuzzer targets (ASan+UBSan)
set -euo pipefail
flavour=${1:-release}
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/build/$flavour"
case "$flavour" in
  release) args=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++ -DCMAKE_C_COMPILER=gcc) ;;
  asan) args=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14
              -DPVB_SANITIZE=ON -DPVB_BUILD_BENCH=OFF) ;;
  fuzz) args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14
              -DCMAKE_C_COMPILER=clang-14 -DPVB_BUILD_FUZZ=ON -DPVB_BUILD_TESTS=OFF
              -DPVB_BUILD_BENCH=OFF) ;;
  *) echo "build.sh: unknown flavour '$flavour' (release, asan, fuzz)" >&2; exit 2 ;;
esac
cmake -S "$root" -B "$dir" -G Ninja -DPVB_WERROR=ON "${args[@]}" >/dev/null
ninja -C "$dir" -j"$(nproc)"
