#!/usr/bin/python3
"""Checks of delay_relay.py (ctest bench_delay_relay_test): the bytes arrive whole and in order
in both directions, nothing arrives before the added delay (a lower bound only: how much later
it arrives is the machine's business), the connect's round trip is charged to the first bytes,
and the counts (TLS, flights, bytes) are what the traffic was."""
import asyncio
import os
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from delay_relay import DelayRelay  # noqa: E402

RTT_MS = 40


async def echo_server():
    async def serve(reader, writer):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def read_exactly(reader, n):
    return await reader.readexactly(n)


class DelayRelayTest(unittest.TestCase):
    def run_async(self, coro):
        return asyncio.run(coro)

    def test_bulk_bytes_arrive_whole_and_in_order(self):
        async def go():
            server, port = await echo_server()
            relay = DelayRelay("127.0.0.1", port, RTT_MS)
            await relay.start()
            reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
            payload = os.urandom(8 * 1024 * 1024)

            async def send():
                for i in range(0, len(payload), 100_000):
                    writer.write(payload[i:i + 100_000])
                    await writer.drain()
            sending = asyncio.ensure_future(send())
            got = await read_exactly(reader, len(payload))
            await sending
            writer.close()
            await relay.close()
            server.close()
            return payload, got, relay
        payload, got, _ = self.run_async(go())
        self.assertEqual(payload, got)

    def test_round_trips_take_at_least_the_rtt_and_are_counted(self):
        async def go():
            server, port = await echo_server()
            relay = DelayRelay("127.0.0.1", port, RTT_MS)
            await relay.start()
            reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
            times = []
            for message in (b"\x16first", b"second", b"third"):
                start = time.monotonic()
                writer.write(message)
                self.assertEqual(await read_exactly(reader, len(message)), message)
                times.append((time.monotonic() - start) * 1000)
            writer.close()
            await asyncio.sleep(RTT_MS / 1000 * 2)
            stats = relay.take_stats()
            await relay.close()
            server.close()
            return times, stats
        times, stats = self.run_async(go())
        # The first also waits for the connect's round trip (SYN, SYN-ACK) the relay models.
        self.assertGreaterEqual(times[0], 2 * RTT_MS)
        for t in times[1:]:
            self.assertGreaterEqual(t, RTT_MS)
        self.assertEqual(len(stats), 1)
        self.assertEqual(stats[0], {"tls": True, "flights": 3, "bytes_up": 17, "bytes_down": 17})

    def test_a_plain_connection_is_not_counted_as_tls(self):
        async def go():
            server, port = await echo_server()
            relay = DelayRelay("127.0.0.1", port, 0)
            await relay.start()
            reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
            writer.write(b"GET / HTTP/1.1\r\n\r\n")
            await read_exactly(reader, 18)
            writer.close()
            await asyncio.sleep(0.05)
            stats = relay.take_stats()
            await relay.close()
            server.close()
            return stats
        stats = self.run_async(go())
        self.assertEqual([s["tls"] for s in stats], [False])


if __name__ == "__main__":
    unittest.main()
