#!/usr/bin/python3
"""Reconnect under repeated cuts (issue 14).

mock-pveproxy cuts every console WebSocket --every-ms after it opened (fault cut_ws=time:MS,
times=0: a WebSocket Close; --rst: TCP resets) while pvb-vnc-check (libvncclient) keeps asking
for updates through `pvebridge connect --no-viewer --json` of a fake VM whose screen changes every
--tick-ms (100: constantly). For about --seconds it reports:
  - the reconnects (the bridge's `reconnected` events; the cuts the mock logged);
  - the downtime of each cut, from the cut (the mock logs it on CLOCK_MONOTONIC) to the first
    whole-screen FramebufferUpdate of the new session decoded by libvncclient (pvb-vnc-check
    --update-log, same clock): what the user waits for. Alongside, the bridge's own downtime_ms
    (loss to resume);
  - the final framebuffer compared with the VM's (both dumped on SIGUSR1 until they agree: the
    screen keeps changing, and a cut may be under way);
  - pvebridge's RSS sampled every 0.25 s during the cuts.

    bench/reconnect/cuts.py [--build-dir build/release] [--seconds 60] [--every-ms 2000] [--rst]
                            [--tick-ms 100] [--encodings tight]
"""
import argparse
import filecmp
import json
import os
import re
import signal
import statistics
import subprocess
import tempfile
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("--build-dir", default="build/release")
ap.add_argument("--seconds", type=float, default=60)
ap.add_argument("--every-ms", type=int, default=2000)
ap.add_argument("--rst", action="store_true")
ap.add_argument("--tick-ms", type=int, default=100)
ap.add_argument("--encodings", default="tight")
a = ap.parse_args()
B = a.build_dir
d = tempfile.mkdtemp(prefix="pvb-cuts-")  # 0700: the password file below is private
cut = f"cut_ws=time:{a.every_ms}{',rst' if a.rst else ''},times=0"
mock_log = open(f"{d}/mock.log", "w")
mock = subprocess.Popen([f"{B}/tests/mock_pveproxy/server/mock-pveproxy", "--listen", "127.0.0.1:0",
                         "--fault", cut, "--fake-vm-tick-ms", str(a.tick_ms),
                         "--fake-vm-dump-dir", d],
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=mock_log, text=True)
info = json.loads(mock.stdout.readline())
env = dict(os.environ, PVE_API_TOKEN=info["api_token"])
bridge = subprocess.Popen([f"{B}/frontends/cli/pvebridge", "connect", "web01", "--json", "--no-viewer",
                           "--host", f"127.0.0.1:{info['port']}", "--fingerprint", info["fingerprint"]],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
listening = None
for line in bridge.stdout:
    e = json.loads(line)
    if e.get("event") == "listening":
        listening = e
        break
vv = open(listening["vv_file"]).read()
password = re.search(r"^password=(.*)$", vv, re.M).group(1)
with open(os.open(f"{d}/pw", os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
    f.write(password + "\n")

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


collected = []


def read_events():
    for line in bridge.stdout:
        collected.append(json.loads(line))


threading.Thread(target=sample, daemon=True).start()
threading.Thread(target=read_events, daemon=True).start()
t0 = time.monotonic()
viewer = subprocess.Popen([f"{B}/tests/vnc_check/pvb-vnc-check", f"127.0.0.1:{listening['port']}",
                           "--password-file", f"{d}/pw", "--encodings", a.encodings,
                           "--seconds", str(int(a.seconds) + 60), "--update-log", f"{d}/updates.log",
                           "--out", f"{d}/viewer.ppm"], stderr=subprocess.PIPE, text=True)
time.sleep(a.seconds)

# The final picture: the VM's screen and the viewer's, dumped together until they agree.
final_match = None
for attempt in range(1, 101):
    for p in ("100.ppm", "viewer.ppm"):
        if os.path.exists(f"{d}/{p}"):
            os.remove(f"{d}/{p}")
    mock.send_signal(signal.SIGUSR1)
    viewer.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not (os.path.exists(f"{d}/100.ppm") and
                                               os.path.exists(f"{d}/viewer.ppm")):
        time.sleep(0.01)
    if (os.path.exists(f"{d}/100.ppm") and os.path.exists(f"{d}/viewer.ppm") and
            filecmp.cmp(f"{d}/100.ppm", f"{d}/viewer.ppm", shallow=False)):
        final_match = attempt
        break
    time.sleep(0.03)
viewer_alive = viewer.poll() is None
viewer.send_signal(signal.SIGTERM)
viewer.wait()
bridge.wait(timeout=30)
stop = True
elapsed = time.monotonic() - t0
mock.terminate()
mock.wait(timeout=30)
mock_log.close()

cuts = [float(m.group(1)) for m in re.finditer(r"cut at monotonic ([0-9.]+) ms", open(f"{d}/mock.log").read())]
updates = [tuple(map(float, l.split())) for l in open(f"{d}/updates.log") if l.strip()]
full = max((u[1] for u in updates), default=0)
user_down = []
for c in cuts:
    after = [t for t, area in updates if t > c and area >= full]
    if after:
        user_down.append(after[0] - c)
user_down.sort()
rec = [e for e in collected if e.get("event") == "reconnected"]
bridge_down = sorted(e["downtime_ms"] for e in rec)
closed = [e for e in collected if e.get("event") == "closed"]


def pct(xs, p):
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else None


print(f"fault {cut}, fake VM tick {a.tick_ms} ms, encodings {a.encodings}, {elapsed:.0f} s")
print(f"cuts logged by the mock {len(cuts)}; reconnected events {len(rec)} "
      f"(closed says {closed[0].get('reconnects') if closed else '?'}); "
      f"viewer connected throughout: {viewer_alive}")
if user_down:
    print(f"downtime, cut -> first whole-screen update of the new session decoded by libvncclient "
          f"({len(user_down)} cuts): median {statistics.median(user_down):.1f} ms, "
          f"p99 {pct(user_down, 99):.1f} ms, max {user_down[-1]:.1f} ms")
if bridge_down:
    print(f"bridge's downtime_ms (loss -> resume): median {statistics.median(bridge_down)}, "
          f"p99 {pct(bridge_down, 99)}, max {bridge_down[-1]}")
print(f"updates decoded {len(updates)}; whole-screen area {int(full)} px")
print(f"final framebuffer equal to the VM's screen: "
      f"{'yes, on dump ' + str(final_match) if final_match else 'NO (100 dumps)'}")
if rss:
    print(f"pvebridge RSS KiB: first {rss[0]}, median {statistics.median(rss)}, max {max(rss)}, "
          f"last {rss[-1]} ({len(rss)} samples)")
