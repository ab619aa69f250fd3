#!/usr/bin/env bash
# The README's first command: build, then open a console.
#
# - With PVE_HOST set (a real cluster), runs: pvebridge connect "${@:-$PVEBRIDGE_DEMO_GUEST}".
# - Otherwise starts the built-in demo mock pveproxy and opens the console of its guest "web01":
#   in remote-viewer when a display and remote-viewer are available, else through the bridge with
#   the test RFB client, which prints the desktop's name and size.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ "${PVB_SKIP_INSTALL:-}" = 1 ] || "$root/ci/install-deps.sh"
"$root/ci/build.sh" release >/dev/null
bin="$root/build/release"
pvebridge="$bin/frontends/cli/pvebridge"

if [ -n "${PVE_HOST:-}" ]; then
  guest=("$@")
  [ ${#guest[@]} -gt 0 ] || guest=("${PVEBRIDGE_DEMO_GUEST:?name a guest: ci/demo.sh GUEST}")
  exec "$pvebridge" connect "${guest[@]}"
fi

echo "demo: no PVE_HOST configured: using the built-in mock pveproxy" >&2
work=$(mktemp -d)
trap 'exec 3>&- 2>/dev/null; rm -rf "$work"' EXIT
# The mock exits when its stdin (this pipe) closes, i.e. when this script ends.
mkfifo "$work/mock.in"
"$bin/tests/mock_pveproxy/server/mock-pveproxy" --listen 127.0.0.1:0 --exit-on-stdin-eof \
  <"$work/mock.in" >"$work/mock.out" 2>"$work/mock.err" &
exec 3>"$work/mock.in"
for _ in $(seq 100); do [ -s "$work/mock.out" ] && break; sleep 0.05; done
ready=$(head -n1 "$work/mock.out")
field() { /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$ready" "$1"; }
port=$(field port)
export PVE_HOST="127.0.0.1:$port" PVE_FINGERPRINT="$(field fingerprint)" PVE_API_TOKEN="$(field api_token)"
echo "demo: mock pveproxy on $PVE_HOST; guests:" >&2
"$pvebridge" list >&2

if [ -n "${DISPLAY:-}" ] && command -v remote-viewer >/dev/null; then
  echo "demo: opening web01 in remote-viewer (close the window to end)" >&2
  exec "$pvebridge" connect web01
fi

echo "demo: no display (or no remote-viewer): connecting the test RFB client through the bridge" >&2
"$pvebridge" connect web01 --no-viewer --json >"$work/events" 2>"$work/bridge.err" &
bridge=$!
for _ in $(seq 200); do grep -q '"listening"' "$work/events" 2>/dev/null && break; sleep 0.05; done
vv=$(/usr/bin/python3 -c 'import json,sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["event"] == "listening": print(e["vv_file"])' "$work/events")
PVB_TEST_VIEWER_OUT="$work/viewer.json" "$bin/tests/integration/test-viewer" "$vv"
wait "$bridge" || true
/usr/bin/python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))
if "error" in r:
    sys.exit("demo: the console failed: " + r["error"])
print("demo: console of %r through pvebridge: desktop %dx%d, picture %s" % (
    r["name"], r["width"], r["height"], "received" if r["nonblank"] else "BLANK"))' "$work/viewer.json"
