#!/usr/bin/env python3
"""How long a console takes to open, and over how many connections: the real pvebridge
(`connect web01 --no-viewer --json`, password login) against mock-pveproxy behind a relay that
delays every chunk by --delay-ms in each direction (round-trip time = twice that). For each run:
the time from the command to its `listening` event, to the first console byte a client reads
through the bridge (the fake VM's RFB banner), and the TCP connections the relay saw (each one a
TLS handshake with the node). Several pvebridge binaries are measured interleaved, run by run.

  bench/keepalive/console_open.py --mock build/rel/tests/mock_pveproxy/server/mock-pveproxy \\
      --pvebridge before=/tmp/pvebridge-before --pvebridge after=build/rel/frontends/cli/pvebridge \\
      --delay-ms 0,25 --repeat 10
"""
import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time


class DelayRelay:
    """127.0.0.1:port -> target, each chunk held back delay_s in its direction, order kept."""

    def __init__(self, target_port, delay_s):
        self.target_port = target_port
        self.delay_s = delay_s
        self.connections = 0
        self.loop = asyncio.new_event_loop()
        self.port = None
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait()

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _pipe(self, reader, writer):
        queue = asyncio.Queue()

        async def read():
            while True:
                data = await reader.read(65536)
                await queue.put((time.monotonic() + self.delay_s, data))
                if not data:
                    return

        async def write():
            while True:
                due, data = await queue.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()

        try:
            await asyncio.gather(read(), write())
        except (ConnectionError, OSError):
            writer.close()

    async def _serve(self, creader, cwriter):
        self.connections += 1
        sreader, swriter = await asyncio.open_connection("127.0.0.1", self.target_port)
        await asyncio.gather(self._pipe(creader, swriter), self._pipe(sreader, cwriter),
                             return_exceptions=True)
        cwriter.close()
        swriter.close()


def one_console(pvebridge, relay, mock):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
           "PVE_PASSWORD": mock["password"]}
    before = relay.connections
    start = time.monotonic()
    p = subprocess.Popen([pvebridge, "connect", "web01", "--no-viewer", "--json",
                          "--host", "127.0.0.1:%d" % relay.port,
                          "--fingerprint", mock["fingerprint"], "--user", mock["user"]],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    port = None
    for line in p.stdout:
        event = json.loads(line)
        if event.get("event") == "listening":
            port = event["port"]
            break
    listening = time.monotonic() - start
    if port is None:
        p.wait()
        sys.exit("no listening event: " + p.stderr.read())
    s = socket.create_connection(("127.0.0.1", port))
    got = b""
    while len(got) < 12:
        chunk = s.recv(12 - len(got))
        if not chunk:
            break
        got += chunk
    first_byte = time.monotonic() - start
    if got != b"RFB 003.008\n":
        sys.exit("unexpected console bytes %r" % got)
    s.close()
    p.wait(timeout=30)
    return listening, first_byte, relay.connections - before


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mock", required=True)
    ap.add_argument("--pvebridge", action="append", required=True, help="NAME=PATH")
    ap.add_argument("--delay-ms", default="0,25")
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    subjects = [s.split("=", 1) for s in args.pvebridge]
    mock_proc = subprocess.Popen([args.mock, "--listen", "127.0.0.1:0", "--exit-on-stdin-eof"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True)
    mock = json.loads(mock_proc.stdout.readline())
    print("| one-way delay | pvebridge | to listening (median, ms) | to first console byte "
          "(median, ms) | TCP+TLS connections per console |")
    print("| --- | --- | --- | --- | --- |")
    for delay in [int(d) for d in args.delay_ms.split(",")]:
        relay = DelayRelay(mock["port"], delay / 1000.0)
        results = {name: [] for name, _ in subjects}
        for _ in range(args.repeat):
            for name, path in subjects:
                results[name].append(one_console(path, relay, mock))
        for name, _ in subjects:
            r = results[name]
            conns = sorted(set(c for _, _, c in r))
            print("| %d ms | %s | %.1f | %.1f | %s |" % (
                delay, name, statistics.median(x for x, _, _ in r) * 1000,
                statistics.median(y for _, y, _ in r) * 1000, ",".join(map(str, conns))))
    mock_proc.stdin.close()
    mock_proc.wait()


if __name__ == "__main__":
    main()
