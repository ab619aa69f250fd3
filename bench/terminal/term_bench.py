#!/usr/bin/python3
"""Terminal console benchmark: pvebridge term against mock-pveproxy (whose termproxy runs bash in
a real pty), beside a direct termproxy client written with Python's websockets (python3-websockets,
the "ssh-less alternative" a script would use), measured in the same run:

- keystroke echo latency: one key typed, until its echo is back (bash's readline echoes it);
  direct = the mock's own round trip, pvebridge = the same through pvebridge on a local pty
  (the key written to pvebridge's terminal, the echo read from it); added = the difference;
- throughput: `stty raw -echo; cat FILE; exit` remotely, the output to a local file, checked
  byte for byte; pvebridge in pipe mode (its setup time, measured alone, subtracted).

Usage: bench/terminal/term_bench.py --pvebridge PATH --mock PATH [--mib 256] [--keys 400]
"""
import argparse
import asyncio
import hashlib
import json
import os
import pty
import select
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import websockets


def start_mock(path):
    p = subprocess.Popen([path, "--listen", "127.0.0.1:0"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    info = json.loads(p.stdout.readline())
    return p, info


def api(info, method, path, fields=None, cookie=None, csrf=None):
    ctx = ssl.create_default_context(cafile=info["ca_file"])
    data = urllib.parse.urlencode(fields).encode() if fields is not None else None
    req = urllib.request.Request(f"https://127.0.0.1:{info['port']}/api2/json{path}", data=data,
                                 method=method)
    if cookie:
        req.add_header("Cookie", "PVEAuthCookie=" + urllib.parse.quote(cookie))
    if csrf:
        req.add_header("CSRFPreventionToken", csrf)
    with urllib.request.urlopen(req, context=ctx) as r:
        return json.loads(r.read())["data"]


async def direct_session(info):
    login = api(info, "POST", "/access/ticket",
                {"username": info["user"], "password": info["password"]})
    t = api(info, "POST", "/nodes/pve1/lxc/200/termproxy", {}, login["ticket"],
            login["CSRFPreventionToken"])
    url = (f"wss://127.0.0.1:{info['port']}/api2/json/nodes/pve1/lxc/200/vncwebsocket?port="
           f"{t['port']}&vncticket={urllib.parse.quote(t['ticket'], safe='')}")
    ctx = ssl.create_default_context(cafile=info["ca_file"])
    ws = await websockets.connect(url, ssl=ctx, subprotocols=["binary"], max_size=None,
                                  extra_headers={"Cookie": "PVEAuthCookie=" +
                                                 urllib.parse.quote(login["ticket"])},
                                  compression=None)
    await ws.send((t["user"] + ":" + t["ticket"] + "\n").encode())
    got = b""
    while not got.startswith(b"OK"):
        got += await ws.recv()
    return ws, got[2:]


WARMUP = 20  # keys typed before measuring (bash and the connections warm up)


def key_for(i):
    # A different letter each time: a late echo of an earlier key is never taken for this one.
    return bytes([ord("a") + i % 26])


def frame(data):
    return b"0:%d:" % len(data) + data


async def direct_echo(info, keys):
    ws, seen = await direct_session(info)
    while b"ct200$ " not in seen:
        seen += await ws.recv()
    times = []
    for i in range(WARMUP + keys):
        if i % 50 == 49:
            await ws.send(frame(b"\x15"))  # kill the line, let the redraw pass
            await quiet_ws(ws)
        k = key_for(i)
        t0 = time.perf_counter()
        await ws.send(frame(k))
        got = b""
        while k not in got:
            got += await ws.recv()
        if i >= WARMUP:
            times.append(time.perf_counter() - t0)
    await ws.close()
    return times


async def quiet_ws(ws, quiet=0.05):
    while True:
        try:
            await asyncio.wait_for(ws.recv(), quiet)
        except asyncio.TimeoutError:
            return


def bridge_env(info):
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TMPDIR")}
    env.update({"PVE_HOST": f"127.0.0.1:{info['port']}", "PVE_CA_FILE": info["ca_file"],
                "PVE_USER": info["user"], "PVE_PASSWORD": info["password"],
                "XDG_CONFIG_HOME": "/nonexistent/pvebridge-bench", "TERM": "xterm-256color"})
    return env


def read_until(fd, needle, timeout=10.0):
    got = b""
    end = time.monotonic() + timeout
    while needle not in got:
        r, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
        if not r:
            raise RuntimeError(f"timeout waiting for {needle!r}; got {got[-200:]!r}")
        got += os.read(fd, 65536)
    return got


def drain(fd, quiet=0.05):
    while select.select([fd], [], [], quiet)[0]:
        os.read(fd, 65536)


def bridge_echo(pvebridge, info, keys):
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(pvebridge, [pvebridge, "term", "200"], bridge_env(info))
    read_until(fd, b"ct200$ ")
    times = []
    for i in range(WARMUP + keys):
        if i % 50 == 49:
            os.write(fd, b"\x15")
            drain(fd)
        k = key_for(i)
        t0 = time.perf_counter()
        os.write(fd, k)
        read_until(fd, k)
        if i >= WARMUP:
            times.append(time.perf_counter() - t0)
    os.write(fd, b"\r~.")
    os.waitpid(pid, 0)
    return times


def local_echo(keys):
    # The floor: the same bash in a local pty, no network at all.
    pid, fd = pty.fork()
    if pid == 0:
        os.execve("/bin/bash", ["bash", "--norc", "--noprofile", "-i"],
                  {"PS1": "ct200$ ", "TERM": "xterm-256color", "PATH": "/usr/bin:/bin",
                   "INPUTRC": "/dev/null", "HISTFILE": "/dev/null"})
    read_until(fd, b"ct200$ ")
    times = []
    for i in range(WARMUP + keys):
        if i % 50 == 49:
            os.write(fd, b"\x15")
            drain(fd)
        k = key_for(i)
        t0 = time.perf_counter()
        os.write(fd, k)
        read_until(fd, k)
        if i >= WARMUP:
            times.append(time.perf_counter() - t0)
    os.write(fd, b"\rexit\r")
    os.waitpid(pid, 0)
    return times


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p))]


def bridge_cat(pvebridge, info, command, out_path):
    t0 = time.perf_counter()
    with open(out_path, "wb") as out:
        p = subprocess.run([pvebridge, "term", "200"], input=command, stdout=out,
                           env=bridge_env(info), stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError(f"pvebridge exited {p.returncode}: {p.stderr.decode()}")
    return time.perf_counter() - t0


async def direct_cat(info, command, out_path):
    ws, first = await direct_session(info)
    t0 = time.perf_counter()
    await ws.send(frame(command))
    with open(out_path, "wb") as out:
        out.write(first)
        try:
            async for m in ws:
                out.write(m)
        except websockets.ConnectionClosed:
            pass
    return time.perf_counter() - t0


def check_copy(path, expected_digest, size, head):
    with open(path, "rb") as f:
        data = f.read()
    at = data.find(head)
    if at < 0 or hashlib.sha256(data[at:at + size]).hexdigest() != expected_digest:
        raise RuntimeError(f"{path}: the file did not arrive intact")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pvebridge", required=True)
    ap.add_argument("--mock", required=True)
    ap.add_argument("--mib", type=int, default=256)
    ap.add_argument("--keys", type=int, default=400)
    a = ap.parse_args()
    mock, info = start_mock(a.mock)
    try:
        local = local_echo(a.keys)
        direct = asyncio.run(direct_echo(info, a.keys))
        bridge = bridge_echo(a.pvebridge, info, a.keys)
        us = lambda s: s * 1e6
        for name, t in (("bash in a local pty (the floor)", local),
                        ("Python websockets termproxy client, direct to the mock", direct),
                        ("pvebridge term on a local pty", bridge)):
            print(f"echo latency, {a.keys} keys, {name}: p50 {us(pct(t, .5)):.0f} us, "
                  f"p99 {us(pct(t, .99)):.0f} us")
        print(f"added by the whole path through pvebridge (TLS, WebSocket, mock relay, its pty) "
              f"over the local pty: p50 {us(pct(bridge, .5) - pct(local, .5)):.0f} us, p99 "
              f"{us(pct(bridge, .99) - pct(local, .99)):.0f} us; over the Python client: p50 "
              f"{us(pct(bridge, .5) - pct(direct, .5)):.0f} us, p99 "
              f"{us(pct(bridge, .99) - pct(direct, .99)):.0f} us")
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "big")
            size = a.mib << 20
            block = os.urandom(1 << 20)
            h = hashlib.sha256()
            with open(src, "wb") as f:
                for i in range(a.mib):
                    b = bytes([i & 0xff]) + block[1:]
                    f.write(b)
                    h.update(b)
            digest = h.hexdigest()
            head = bytes([0]) + block[1:64]
            cmd = f"stty raw -echo; cat {src}; exit\n".encode()
            setup = bridge_cat(a.pvebridge, info, b"exit\n", os.path.join(d, "setup"))
            t_bridge = bridge_cat(a.pvebridge, info, cmd, os.path.join(d, "out_bridge"))
            check_copy(os.path.join(d, "out_bridge"), digest, size, head)
            os.remove(os.path.join(d, "out_bridge"))
            t_direct = asyncio.run(direct_cat(info, cmd, os.path.join(d, "out_direct")))
            check_copy(os.path.join(d, "out_direct"), digest, size, head)
            mbs = lambda t: size / t / 1e6
            print(f"remote cat of {a.mib} MiB to a local file: pvebridge {mbs(t_bridge - setup):.0f} "
                  f"MB/s ({t_bridge:.2f} s, setup {setup * 1000:.0f} ms subtracted); Python "
                  f"websockets client {mbs(t_direct):.0f} MB/s ({t_direct:.2f} s)")
    finally:
        mock.stdin.close()
        try:
            mock.wait(5)
        except subprocess.TimeoutExpired:
            mock.terminate()
            mock.wait(5)


if __name__ == "__main__":
    sys.exit(main())
