#!/usr/bin/env bash
# include_direction_test.sh must fail on a tree where engine/ includes transports/, where
# transports/ includes the engine's logic, and where engine/core includes engine/io: each is
# planted in a scratch copy of engine/ and transports/. Usage: include_direction_detects_test.sh SRC
set -uo pipefail
src=${1:?usage: include_direction_detects_test.sh SOURCE_DIR}
here=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

plant() {  # plant FILE INCLUDE: a fresh copy with FILE including INCLUDE must fail the check
  rm -rf "$scratch/tree" && mkdir -p "$scratch/tree"
  cp -r "$src/engine" "$src/transports" "$scratch/tree/"
  mkdir -p "$scratch/tree/$(dirname "$1")"
  printf '#include "%s"\n' "$2" >>"$scratch/tree/$1"
  if bash "$here/include_direction_test.sh" "$scratch/tree" >/dev/null; then
    echo "FAIL the check passed with $1 including $2"
    return 1
  fi
  echo "ok: $1 including $2 is refused"
}

status=0
bash "$here/include_direction_test.sh" "$src" >/dev/null || { echo "FAIL the real tree fails"; status=1; }
plant engine/pump/pump.cc transports/tcp/tcp_transport.h || status=1
plant engine/console/console_session.h frontends/cli/options.h || status=1
plant transports/ws/ws_transport.cc engine/proxmox/proxmox_client.h || status=1
plant engine/core/loop.cc engine/io/transport.h || status=1
plant engine/io/transport.cc engine/pump/pump.h || status=1
exit $status
