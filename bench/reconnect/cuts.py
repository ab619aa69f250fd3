#!/usr/bin/python3
"""Reconnect under repeated cuts (issue 14): mock-pveproxy cuts every console WebSocket after
--every-ms (fault cut_ws=time:MS,times=0, a WebSocket Close; --rst for TCP resets) while
test-viewer asks for whole 640x480 Raw screens one after the other through `pvebridge connect
--no-viewer --json`, for about --seconds. Reports the reconnects, the downtime of each (loss to
the new session resumed, from the `reconnected` events' downtime_ms), the screens the viewer got,
and pvebridge's RSS sampled during the run.

    bench/reconnect/cuts.py [--build-dir build/rel] [--seconds 60] [--every-ms 2000] [--rst]
"""
import argparse, json, os, statistics, subprocess, tempfile, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--build-dir", default="build/rel")
ap.add_argument("--seconds", type=float, default=60)
ap.add_argument("--every-ms", type=int, default=2000)
ap.add_argument("--rst", action="store_true")
a = ap.parse_args()
B = a.build_dir
cut = f"cut_ws=time:{a.every_ms}{',rst' if a.rst else ''},times=0"
mock = subprocess.Popen([f"{B}/tests/mock_pveproxy/server/mock-pveproxy", "--listen", "127.0.0.1:0",
                         "--fault", cut], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL, text=True)
info = json.loads(mock.stdout.readline())
env = dict(os.environ, PVE_API_TOKEN=info["api_token"])
d = tempfile.mkdtemp()
bridge = subprocess.Popen([f"{B}/frontends/cli/pvebridge", "connect", "web01", "--json", "--no-viewer",
                           "--host", f"127.0.0.1:{info['port']}", "--fingerprint", info["fingerprint"]],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
events = []
for line in bridge.stdout:
    events.append(json.loads(line))
    if events[-1].get("event") == "listening":
        break
vv = events[-1]["vv_file"]
rss = []
stop = False
def sample():
    while not stop:
        try:
            for l in open(f"/proc/{bridge.pid}/status"):
                if l.startswith("VmRSS:"):
                    rss.append(int(l.split()[1]))
        except OSError:
            return
        time.sleep(0.25)
threading.Thread(target=sample, daemon=True).start()
# The viewer asks for screens until it is killed after --seconds (it reports on exit only when it
# ends by itself, so it is given a count it cannot reach, then killed: the bridge sees its connection close).
t0 = time.monotonic()
viewer = subprocess.Popen([f"{B}/tests/integration/test-viewer", vv, "--updates", "100000000"],
                          env=dict(os.environ, PVB_TEST_VIEWER_OUT=f"{d}/v.json"))
collected = []
def read_events():
    for line in bridge.stdout:
        collected.append(json.loads(line))
threading.Thread(target=read_events, daemon=True).start()
time.sleep(a.seconds)
viewer.kill()
viewer.wait()
bridge.wait(timeout=30)
stop = True
elapsed = time.monotonic() - t0
mock.terminate()
mock.wait()
rec = [e for e in collected if e.get("event") == "reconnected"]
down = sorted(e["downtime_ms"] for e in rec)
closed = [e for e in collected if e.get("event") == "closed"]
def pct(p):
    return down[min(len(down) - 1, int(round(p / 100 * (len(down) - 1))))] if down else None
print(f"fault {cut}, {elapsed:.0f} s")
print(f"reconnects {len(rec)} (closed says {closed[0].get('reconnects') if closed else '?'}), "
      f"reconnecting events {sum(1 for e in collected if e.get('event') == 'reconnecting')}")
if down:
    print(f"downtime ms: median {statistics.median(down)}, p99 {pct(99)}, max {down[-1]}")
print(f"closed: {json.dumps(closed[0]) if closed else 'none'}")
if rss:
    print(f"pvebridge RSS KiB: first {rss[0]}, median {statistics.median(rss)}, max {max(rss)}, "
          f"last {rss[-1]} ({len(rss)} samples)")
