#!/usr/bin/python3
"""A TCP relay that adds a one-way delay in each direction (asyncio), for first_picture.py.

Every chunk read on one side is written to the other side `delay` seconds after it arrived;
reading goes on meanwhile, so the delay adds latency without limiting throughput (a link with a
long round trip and a fat pipe, not a slow one). The TCP handshake's round trip is modelled too:
nothing the client sends reaches the server before one RTT after it connected, plus the delay.
A chunk is never written before the ones read before it. Each side reads in chunks of up to
256 KiB and keeps what waits in memory (a benchmark tool for a few MB per connection, not a
general proxy).

It also counts what the traffic shows, per connection, for the harness:
  - tls: the client's first byte is 0x16 (a TLS handshake record): one TLS handshake;
  - flights: client-to-server flights, i.e. how often the client sent after having received
    something (or first): each is a round trip the client waited for, unless it pipelined;
  - bytes in each direction.

Standalone: delay_relay.py --listen 127.0.0.1:0 --to HOST:PORT --rtt-ms 50 (prints the port,
then once a second one JSON line of counts per connection that began since).
"""
import argparse
import asyncio
import collections
import json
import sys
import socket
import time

CHUNK = 256 * 1024


class ConnectionStats:
    def __init__(self):
        self.tls = False
        self.flights = 0
        self.bytes_up = 0
        self.bytes_down = 0
        self.last_direction = None  # "up" (client to server) or "down"

    def saw(self, direction, data):
        if direction == "up":
            if self.bytes_up == 0 and data[:1] == b"\x16":
                self.tls = True
            if self.last_direction != "up":
                self.flights += 1
            self.bytes_up += len(data)
        else:
            self.bytes_down += len(data)
        self.last_direction = direction

    def as_dict(self):
        return {"tls": self.tls, "flights": self.flights, "bytes_up": self.bytes_up,
                "bytes_down": self.bytes_down}


async def _pump(reader, writer, delay, direction, stats, not_before=0.0):
    """Reads from `reader`, writes each chunk to `writer` `delay` s after it was read (or after
    `not_before`, loop time, if that is later)."""
    loop = asyncio.get_running_loop()
    queue = collections.deque()
    more = asyncio.Event()
    done = False

    async def deliver():
        while True:
            while not queue:
                if done:
                    return
                more.clear()
                await more.wait()
            due, data = queue.popleft()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:  # the other side's end of stream, delayed like data
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    delivering = asyncio.ensure_future(deliver())
    try:
        while True:
            data = await reader.read(CHUNK)
            # Counted when it is read: the order of arrival is what the relay can see.
            if data:
                stats.saw(direction, data)
            queue.append((max(loop.time(), not_before) + delay, data or None))
            more.set()
            if not data:
                break
    except (ConnectionError, OSError):
        queue.append((loop.time() + delay, None))
        more.set()
    done = True
    more.set()
    try:
        await delivering
    except (ConnectionError, OSError):
        pass


class DelayRelay:
    """Listens on 127.0.0.1, relays every connection to `target` with `rtt_ms` / 2 each way."""

    def __init__(self, target_host, target_port, rtt_ms):
        self.target = (target_host, target_port)
        self.delay = rtt_ms / 2000.0
        self.connections = []  # ConnectionStats of every connection so far
        self.server = None
        self.port = None
        self._tasks = set()

    async def start(self, host="127.0.0.1", port=0):
        self.server = await asyncio.start_server(self._serve, host, port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    def take_stats(self):
        """Every connection's counts since the last call (the harness calls it per run)."""
        taken, self.connections = self.connections, []
        return [c.as_dict() for c in taken]

    async def _serve(self, client_reader, client_writer):
        task = asyncio.current_task()
        self._tasks.add(task)
        # The client's connect() returned at once (we accepted locally); over a real link it
        # returns one round trip later (SYN, SYN-ACK), and only then can its first bytes leave.
        handshake_done = asyncio.get_running_loop().time() + 2 * self.delay
        stats = ConnectionStats()
        self.connections.append(stats)
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            self._tasks.discard(task)
            return
        for w in (client_writer, server_writer):
            sock = w.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            await asyncio.gather(
                _pump(client_reader, server_writer, self.delay, "up", stats, handshake_done),
                _pump(server_reader, client_writer, self.delay, "down", stats))
        finally:  # also when close() cancels a connection still open
            for w in (client_writer, server_writer):
                w.close()
            self._tasks.discard(task)

    async def close(self):
        if self.server:
            self.server.close()
            await self.server.wait_closed()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--to", required=True, help="HOST:PORT")
    parser.add_argument("--rtt-ms", type=float, default=50)
    args = parser.parse_args()
    host, port = args.to.rsplit(":", 1)
    lhost, lport = args.listen.rsplit(":", 1)
    relay = DelayRelay(host, int(port), args.rtt_ms)
    print(await relay.start(lhost, int(lport)), flush=True)
    while True:
        await asyncio.sleep(1)
        for c in relay.take_stats():
            print(json.dumps(c), flush=True)


if __name__ == "__main__":
    try:
        asyncio.run(_main())
    except KeyboardInterrupt:
        sys.exit(130)
