#!/usr/bin/env bash
# The README's first command: build, then run the main job.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/ci/install-deps.sh"
"$root/ci/build.sh" release
echo "demo: the console is not built yet; running the transport stack tests instead"
"$root/build/release/tests/engine/pump/pump_test"
