#!/usr/bin/python3
"""Time to first picture: the real pvebridge against mock-pveproxy behind a delay relay, with a
stand-in viewer that imitates a viewer's start-up (bench/README.md, "Time to first picture").

  pvebridge connect GUEST --viewer standin_viewer.py ─▶ delay relay (RTT/2 each way) ─▶ mock
                               │ launches                                            (fake VM,
  stand-in viewer: sleeps STARTUP ms, RFB handshake through pvebridge, FBU request,  or --qemu)
                   first whole FramebufferUpdate = the time taken

Time = from just before pvebridge is started (CLOCK_MONOTONIC) to the stand-in viewer's first
whole FramebufferUpdate (its own CLOCK_MONOTONIC stamp). Each mode is a list of extra pvebridge
arguments; the modes run interleaved (one run of each, again and again) at each RTT, after one
warm-up run each that is not counted. A mode whose warm-up fails (e.g. an option this pvebridge
does not know) is reported with pvebridge's own error and left out of the rest of the run.

Usage:
  bench/first_picture/first_picture.py [--build-dir DIR] [--mode NAME=ARGS]... [--rtt-ms 0,50]
      [--repeat 10] [--startup-ms 300] [--guest web01] [--mock-arg=--qemu] [--json FILE]
Default modes: default="" (pvebridge's own flow) and passthrough="--passthrough"; ratios are to
--reference (default: passthrough). Exit 0 when every run of every mode gave a picture, 1 when
some failed (each failure is reported), 2 for bad usage.
"""
import argparse
import asyncio
import json
import os
import re
import shlex
import signal
import statistics
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from delay_relay import DelayRelay  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VIEWER = os.path.join(HERE, "standin_viewer.py")
REQUEST_LINE = re.compile(r"^mock-pveproxy: \S+: (GET|POST|PUT|DELETE) (\S+) (\d{3})$")


def now():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def parse_args():
    p = argparse.ArgumentParser(
        description="Time to first picture: pvebridge modes compared through a delay relay.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--build-dir", help="build tree with pvebridge and mock-pveproxy (default "
                   "$PVB_BUILD_DIR, else build/release or build/rel)")
    p.add_argument("--pvebridge", help="the pvebridge binary (default: the build tree's)")
    p.add_argument("--mock", help="the mock-pveproxy binary (default: the build tree's)")
    p.add_argument("--mode", action="append", metavar="NAME=ARGS",
                   help="a mode: a name and the extra pvebridge arguments (shell words; may be "
                   "empty; leading VAR=VALUE words set pvebridge's and its viewer's environment "
                   "instead, e.g. STANDIN_VIEWER_STARTUP_FROM=harness); repeatable (default: "
                   "default= passthrough=--passthrough)")
    p.add_argument("--reference", help="the mode the others are divided by (default: "
                   "passthrough if given, else the first mode)")
    p.add_argument("--bridge-arg", action="append", default=[], metavar="ARG",
                   help="an argument for pvebridge in every mode, with = "
                   "(--bridge-arg=--tls-backend=mbedtls); repeatable")
    p.add_argument("--rtt-ms", default="0,50", help="added round-trip times, comma separated")
    p.add_argument("--repeat", type=int, default=10, help="runs per mode and RTT (default 10)")
    p.add_argument("--startup-ms", type=int, default=300, help="the viewer's start-up delay")
    p.add_argument("--guest", default="web01", help="the guest (default web01, a fake VM)")
    p.add_argument("--login", choices=("token", "ticket"), default="token",
                   help="API token (PVE_API_TOKEN) or user and password (a ticket login)")
    p.add_argument("--encodings", default="raw",
                   help="what the stand-in viewer announces (raw, copyrect, rre, zrle, "
                   "desktop-size, last-rect)")
    p.add_argument("--mock-arg", action="append", default=[], metavar="ARG",
                   help="an argument for mock-pveproxy, with = (--mock-arg=--qemu); repeatable")
    p.add_argument("--timeout-s", type=float, default=30, help="per run (default 30)")
    p.add_argument("--json", metavar="FILE", help="also write every run and summary here")
    a = p.parse_args()
    modes = []
    for spec in a.mode or ["default=", "passthrough=--passthrough"]:
        name, sep, words = spec.partition("=")
        if not sep or not name:
            p.error(f"--mode wants NAME=ARGS, got {spec!r}")
        if any(m[0] == name for m in modes):
            p.error(f"--mode {name} given twice")
        modes.append((name, shlex.split(words)))
    a.modes = modes
    names = [m[0] for m in modes]
    if a.reference is None:
        a.reference = "passthrough" if "passthrough" in names else names[0]
    elif a.reference not in names:
        p.error(f"--reference {a.reference} is not one of the modes ({', '.join(names)})")
    try:
        a.rtts = [float(x) for x in a.rtt_ms.split(",")]
    except ValueError:
        p.error(f"--rtt-ms wants numbers, got {a.rtt_ms!r}")
    if a.repeat < 1:
        p.error("--repeat wants at least 1")
    build = a.build_dir or os.environ.get("PVB_BUILD_DIR")
    if not build:
        build = next((os.path.join(ROOT, d) for d in ("build/release", "build/rel")
                      if os.path.isdir(os.path.join(ROOT, d))), os.path.join(ROOT, "build/release"))
    a.pvebridge = a.pvebridge or os.path.join(build, "frontends/cli/pvebridge")
    a.mock = a.mock or os.path.join(build, "tests/mock_pveproxy/server/mock-pveproxy")
    for what, path in (("pvebridge", a.pvebridge), ("mock-pveproxy", a.mock)):
        if not os.access(path, os.X_OK):
            p.error(f"no {what} at {path} (build it, or pass --build-dir / --{what.split('-')[0]})")
    return a


class Mock:
    """mock-pveproxy, its ready line, and its log lines (the requests it served)."""

    async def start(self, path, extra):
        self.proc = await asyncio.create_subprocess_exec(
            path, "--listen", "127.0.0.1:0", "--exit-on-stdin-eof", *extra,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        line = await asyncio.wait_for(self.proc.stdout.readline(), 30)
        if not line:
            err = (await self.proc.stderr.read()).decode(errors="replace").strip()
            raise RuntimeError(f"mock-pveproxy did not start: {err}")
        self.info = json.loads(line)
        self.lines = []
        self.reader = asyncio.ensure_future(self._read_log())

    async def _read_log(self):
        async for line in self.proc.stderr:
            self.lines.append(line.decode(errors="replace").rstrip("\n"))

    def take_requests(self):
        """The requests (method, path, status) logged since the last call."""
        lines, self.lines = self.lines, []
        return [m.groups() for m in map(REQUEST_LINE.match, lines) if m]

    async def stop(self):
        self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except asyncio.TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        self.reader.cancel()


async def run_once(a, mock, relay, mode_args, workdir):
    """One pvebridge start up to its exit: a dict with the timings or an "error"."""
    report_path = os.path.join(workdir, "viewer-report.json")
    if os.path.exists(report_path):
        os.unlink(report_path)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": workdir,
           "XDG_CONFIG_HOME": os.path.join(workdir, "config"),
           # pvebridge refuses to start a viewer without a display; the stand-in needs none.
           "DISPLAY": ":pvebridge-bench",
           "STANDIN_VIEWER_REPORT": report_path,
           "STANDIN_VIEWER_STARTUP_MS": str(a.startup_ms),
           "STANDIN_VIEWER_ENCODINGS": a.encodings,
           "STANDIN_VIEWER_TIMEOUT_S": str(a.timeout_s)}
    for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "TMPDIR"):  # a sanitizer build's settings
        if name in os.environ:
            env[name] = os.environ[name]
    args = [a.pvebridge, "connect", a.guest, "--json", "--host", f"127.0.0.1:{relay.port}",
            "--ca-file", mock.info["ca_file"], "--viewer", VIEWER]
    if a.login == "token":
        env["PVE_API_TOKEN"] = mock.info["api_token"]  # secrets only in the environment
    else:
        env["PVE_PASSWORD"] = mock.info["password"]
        args += ["--user", mock.info["user"]]
    # A mode's leading NAME=VALUE words go into pvebridge's environment (and so its viewer's),
    # like a shell's `NAME=VALUE command`: e.g. STANDIN_VIEWER_STARTUP_FROM=harness.
    mode_args = list(mode_args)
    while mode_args and re.match(r"^[A-Z][A-Z0-9_]*=", mode_args[0]):
        name, value = mode_args.pop(0).split("=", 1)
        env[name] = value
    args += a.bridge_arg + mode_args
    t0 = now()
    env["STANDIN_VIEWER_T0_NS"] = str(t0)
    proc = await asyncio.create_subprocess_exec(
        *args, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, start_new_session=True)
    result = {"listening": None}
    errors = []

    async def events():
        async for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "listening" and result["listening"] is None:
                result["listening"] = (now() - t0) / 1e6
            elif event.get("event") == "error":
                errors.append(f"{event.get('code')}: {event.get('message')}")

    reading = asyncio.ensure_future(events())
    stderr_task = asyncio.ensure_future(proc.stderr.read())
    try:
        status = await asyncio.wait_for(proc.wait(), a.timeout_s)
    except asyncio.TimeoutError:
        os.killpg(proc.pid, signal.SIGTERM)  # pvebridge and the viewer it started
        try:
            await asyncio.wait_for(proc.wait(), 3)
        except asyncio.TimeoutError:
            os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
        status = None
    await reading
    stderr = (await stderr_task).decode(errors="replace").strip().splitlines()
    await asyncio.sleep(0.05)  # the relay's last bytes and the mock's last log lines
    conns = relay.take_stats()
    result.update(connections=len(conns), tls_handshakes=sum(c["tls"] for c in conns),
                  flights=sum(c["flights"] for c in conns),
                  bytes_down=sum(c["bytes_down"] for c in conns),
                  exit_status=status, relay_connections=conns)
    requests = mock.take_requests()
    result.update(requests=len(requests), request_log=[" ".join(r) for r in requests])
    viewer = {}
    if os.path.exists(report_path):
        with open(report_path) as f:
            viewer = json.load(f)
    if status is None:
        result["error"] = f"no exit within {a.timeout_s:g} s (killed)"
    elif "first_picture" not in viewer:
        why = viewer.get("error") or "; ".join(errors) or (stderr[-1] if stderr else "")
        if not viewer:
            why = why or "the viewer never reported"
            result["error"] = f"pvebridge exited {status} before the viewer's picture: {why}"
        else:
            result["error"] = f"the stand-in viewer failed ({why}); pvebridge exited {status}"
    elif status != 0:
        result["error"] = f"pvebridge exited {status} after the picture: " + \
            (stderr[-1] if stderr else "")
    if "error" not in result:
        # The viewer's steps, in ms from pvebridge's start.
        for key in ("exec", "awake", "connected", "banner", "security_result", "server_init"):
            result["viewer_" + key] = (viewer[key] - t0) / 1e6
        launched = viewer.get("launched")
        result["viewer_launched"] = (launched - t0) / 1e6 if launched else None
        result.update(first_picture=(viewer["first_picture"] - t0) / 1e6,
                      width=viewer.get("width"), height=viewer.get("height"),
                      security=viewer.get("security"), viewer_bytes=viewer.get("bytes"),
                      vv_mode=viewer.get("vv_mode"), rectangles=viewer.get("rectangles"),
                      updates=viewer.get("updates"))
    return result


def nearest_rank(values, q):
    s = sorted(values)
    return s[max(0, min(len(s) - 1, -(-len(s) * q // 100) - 1))]


def fmt(v, unit=" ms"):
    return "" if v is None else f"{v:.1f}{unit}"


async def bench(a):
    workdir = tempfile.mkdtemp(prefix="pvb-first-picture-")
    os.chmod(workdir, 0o700)
    mock = Mock()
    await mock.start(a.mock, a.mock_arg)
    runs, failed = [], {}  # failed: mode -> its first failure
    try:
        for rtt in a.rtts:
            relay = DelayRelay("127.0.0.1", mock.info["port"], rtt)
            await relay.start()
            rounds = [("warm-up", 0)] + [("run", i + 1) for i in range(a.repeat)]
            for kind, index in rounds:
                for name, mode_args in a.modes:
                    if name in failed and failed[name]["fatal"]:
                        continue
                    r = await run_once(a, mock, relay, mode_args, workdir)
                    r.update(mode=name, rtt_ms=rtt, kind=kind, index=index)
                    runs.append(r)
                    line = (f"rtt {rtt:g} ms {kind} {index} {name}: " +
                            (f"FAILED: {r['error']}" if "error" in r else
                             f"{r['first_picture']:.1f} ms"))
                    print(line, file=sys.stderr, flush=True)
                    if "error" in r and name not in failed:
                        # A mode that fails its warm-up (an unknown option, a broken flow) is left
                        # out of the rest of the run; a later failure is counted and reported.
                        failed[name] = {"error": r["error"], "rtt_ms": rtt,
                                        "fatal": kind == "warm-up"}
            await relay.close()
    finally:
        await mock.stop()
    return runs, failed


def summarize(a, runs, failed):
    rows = []
    for rtt in a.rtts:
        ref = None
        for name, _ in a.modes:
            ok = [r for r in runs if r["rtt_ms"] == rtt and r["mode"] == name and r["kind"] == "run"
                  and "error" not in r]
            bad = [r for r in runs if r["rtt_ms"] == rtt and r["mode"] == name and "error" in r]
            row = {"rtt_ms": rtt, "mode": name, "n": len(ok), "failures": len(bad)}
            if ok:
                t = [r["first_picture"] for r in ok]
                med = lambda key: statistics.median(r[key] for r in ok)  # noqa: E731
                row.update(median=statistics.median(t), p90=nearest_rank(t, 90), min=min(t),
                           listening=statistics.median(r["listening"] for r in ok
                                                       if r["listening"] is not None)
                           if any(r["listening"] is not None for r in ok) else None,
                           viewer_exec=med("viewer_exec"), connected=med("viewer_connected"),
                           # From /proc (10 ms steps); the script's start where that is missing.
                           viewer_launched=statistics.median(
                               r["viewer_launched"] if r["viewer_launched"] is not None
                               else r["viewer_exec"] for r in ok),
                           server_init=med("viewer_server_init"),
                           tls_handshakes=med("tls_handshakes"), connections=med("connections"),
                           flights=med("flights"), requests=med("requests"),
                           security=ok[0]["security"],
                           screen=f"{ok[0]['width']}x{ok[0]['height']}")
            if name == a.reference:
                ref = row
            rows.append(row)
        for row in rows:
            if row["rtt_ms"] == rtt and row["mode"] != a.reference and "median" in row and \
                    ref is not None and "median" in ref:
                row["ratio"] = row["median"] / ref["median"]
    return rows


def print_report(a, rows, failed):
    print(f"time to first picture: pvebridge start → the stand-in viewer's first whole "
          f"FramebufferUpdate; viewer start-up {a.startup_ms} ms, guest {a.guest}"
          f"{' (mock ' + ' '.join(a.mock_arg) + ')' if a.mock_arg else ''}, {a.login} login, "
          f"{a.repeat} runs per mode and RTT (interleaved, after 1 warm-up each)")
    print()
    print(f"| added RTT | mode | n | median | p90 | min | ratio to {a.reference} (median) "
          "| listening | viewer launched | viewer connects | ServerInit at viewer | TLS handshakes "
          "| relay flights "
          "| HTTP requests |")
    print("| --- " * 14 + "|")
    for r in rows:
        ratio = f"{r['ratio']:.2f}" if "ratio" in r else ""
        if "ratio" in r and r["rtt_ms"] == 50:
            ratio += " (target ≤ 0.6: " + ("met)" if r["ratio"] <= 0.6 else "**NOT met**)")
        if "median" not in r:
            print(f"| {r['rtt_ms']:g} ms | {r['mode']} | 0 | failed |" + " |" * 10)
            continue
        print(f"| {r['rtt_ms']:g} ms | {r['mode']} | {r['n']} | {fmt(r['median'])} | "
              f"{fmt(r['p90'])} | {fmt(r['min'])} | {ratio} | {fmt(r['listening'])} | "
              f"{fmt(r['viewer_launched'])} | "
              f"{fmt(r['connected'])} | {fmt(r['server_init'])} | {r['tls_handshakes']:g} | "
              f"{r['flights']:g} | {r['requests']:g} |")
    print()
    print("listening, viewer launched, viewer connects, ServerInit: medians from pvebridge's "
          "start (its `listening` event; pvebridge's fork of the stand-in, from /proc in 10 ms "
          "steps; the stand-in's TCP connect after its start-up; its ServerInit). "
          "TLS handshakes, "
          "relay flights (client-to-server flights through the relay: the round trips pvebridge "
          "waited for, unless it pipelined) and HTTP requests (the mock's log; the WebSocket "
          "upgrade included) are medians per run.")
    for name, f in failed.items():
        what = "left out of the run" if f["fatal"] else "some runs failed"
        print(f"\nmode {name} FAILED ({what}; first failure at {f['rtt_ms']:g} ms): {f['error']}")


def main():
    a = parse_args()
    print(f"cpu: {os.cpu_count()} CPUs, load: {' '.join(open('/proc/loadavg').read().split()[:3])}",
          file=sys.stderr)
    runs, failed = asyncio.run(bench(a))
    rows = summarize(a, runs, failed)
    print_report(a, rows, failed)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"settings": {"modes": dict(a.modes), "reference": a.reference,
                                    "rtt_ms": a.rtts, "repeat": a.repeat,
                                    "startup_ms": a.startup_ms, "guest": a.guest,
                                    "mock_args": a.mock_arg, "login": a.login},
                       "summary": rows, "runs": runs,
                       "failed": {k: v["error"] for k, v in failed.items()}}, f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
