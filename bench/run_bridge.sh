#!/usr/bin/env bash
# Runs the end-to-end benchmark, bridge-throughput, from a build directory (it builds nothing:
# ci/build.sh release first) and prints the results table (bench/README.md explains it).
#   bench/run_bridge.sh                   the full run (several minutes): every mode, 1 GiB per
#                                         transfer, median of 3, scale up to 1000 sessions
#   bench/run_bridge.sh --smoke           every mode for a second or so (CI: ctest -L bench)
#   bench/run_bridge.sh --build-dir DIR   which build (default build/release, or $PVB_BUILD_DIR)
#   bench/run_bridge.sh --binary PATH     the harness itself (default
#                                         DIR/bench/bridge_throughput/bridge-throughput)
#   bench/run_bridge.sh --no-npm          never run npm (the Node peer is then skipped unless its
#                                         `ws` is installed already)
#   bench/run_bridge.sh ... OTHER FLAGS   handed to bridge-throughput: --json FILE, --only MODES,
#                                         --bytes 256M, --repeat 5, ... (see its --help)
# Outside --smoke, the Node peer's `ws` comes from the npm registry into bench/peers/node_modules
# (git-ignored; a benchmark tool, not a dependency of pvebridge). --smoke downloads nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PVB_BUILD_DIR:-$root/build/release}
binary=""
smoke=0
npm_ok=1
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1; args+=(--smoke) ;;
    --build-dir) build=${2:?--build-dir needs a directory}; shift ;;
    --binary) binary=${2:?--binary needs a path}; shift ;;
    --no-npm) npm_ok=0 ;;
    -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
    *) args+=("$1") ;;
  esac
  shift
done
binary=${binary:-$build/bench/bridge_throughput/bridge-throughput}
if [ ! -x "$binary" ]; then
  echo "run_bridge.sh: no harness at $binary (build the bridge-throughput target:" \
       "ci/build.sh release, or pass --build-dir / --binary)" >&2
  exit 2
fi

peers=$root/bench/peers
if [ "$smoke" = 0 ] && [ "$npm_ok" = 1 ] && [ ! -f "$peers/node_modules/ws/package.json" ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "run_bridge.sh: installing the Node peer's ws into $peers/node_modules (npm registry)" >&2
    if ! (cd "$peers" && timeout 300 npm install --no-audit --no-fund --no-package-lock \
            --loglevel=error >&2); then
      echo "run_bridge.sh: npm install failed: the Node peer will be skipped" >&2
    fi
  else
    echo "run_bridge.sh: npm not found: the Node peer will be skipped" >&2
  fi
fi

echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)" \
     "($(nproc) CPUs), load: $(cut -d' ' -f1-3 /proc/loadavg)"
exec "$binary" --peers-dir "$peers" "${args[@]}"
