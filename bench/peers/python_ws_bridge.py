#!/usr/bin/python3
"""The bridge people write with Python: asyncio and the `websockets` package (Debian's
python3-websockets; run with /usr/bin/python3). A peer of pvebridge in bench/run_bridge.sh,
written the idiomatic way (no tuning beyond what such a bridge would do).

stdin: one JSON object {"url": "wss://...vncwebsocket?...", "headers": {...}, "ca_file": PATH}
(the harness made the vncproxy call; the ticket and the token never touch a command line).
stdout: {"event":"listening","port":N} once the WebSocket is open and 127.0.0.1:N listens,
{"event":"closed"} when the one local client and the WebSocket are both done; then it exits 0.
"""
import asyncio
import json
import ssl
import sys

import websockets


def say(event):
    print(json.dumps(event, separators=(",", ":")), flush=True)


async def bridge(config):
    ctx = ssl.create_default_context(cafile=config["ca_file"])
    # pveproxy never answers a Close and accepts frames up to 128 KiB; no compression, no pings
    # (a benchmark run is short).
    ws = await websockets.connect(config["url"], ssl=ctx, subprotocols=["binary"],
                                  extra_headers=config["headers"], compression=None,
                                  max_size=None, ping_interval=None, close_timeout=1)
    finished = asyncio.Event()

    async def serve(reader, writer):
        server.close()  # exactly one client

        async def to_guest():
            try:
                while data := await reader.read(65536):
                    await ws.send(data)
            finally:
                await ws.close()

        async def to_viewer():
            try:
                async for message in ws:
                    writer.write(message)
                    await writer.drain()
            finally:
                writer.close()

        await asyncio.gather(to_guest(), to_viewer(), return_exceptions=True)
        finished.set()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    say({"event": "listening", "port": server.sockets[0].getsockname()[1]})
    await finished.wait()
    say({"event": "closed"})


def main():
    try:
        config = json.loads(sys.stdin.read())
    except ValueError as e:
        sys.exit(f"python_ws_bridge: bad configuration on stdin: {e}")
    asyncio.run(bridge(config))


if __name__ == "__main__":
    main()
