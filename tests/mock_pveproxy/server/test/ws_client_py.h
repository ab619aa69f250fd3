// The Python side of the program tests: a small client on Debian's python3-websockets (an
// implementation independent of ours) and the standard library's ssl/urllib. Written into the
// test's temporary directory and run as `python3 ws_client.py READY_JSON COMMAND ARGS...`; it
// prints one JSON object with what it saw.
#pragma once

namespace pvb::mock::test {

inline constexpr const char* kWsClientPy = R"PY(
import asyncio, hashlib, json, random, socket, ssl, sys, time, urllib.parse, urllib.request
import websockets

ready = json.load(open(sys.argv[1]))
command, args = sys.argv[2], sys.argv[3:]
ctx = ssl.create_default_context(cafile=ready["ca_file"])
host = f"localhost:{ready['port']}"
auth = {"Authorization": "PVEAPIToken=" + ready["api_token"]}

def vncproxy(guest):  # guest: "pve1/qemu/100"
    body = b"websocket=1" + (b"&generate-password=1" if "/qemu/" in guest else b"")
    req = urllib.request.Request(f"https://{host}/api2/json/nodes/{guest}/vncproxy", data=body,
                                 headers=auth, method="POST")
    return json.load(urllib.request.urlopen(req, context=ctx, timeout=10))["data"]

def ws_uri(guest, console):
    ticket = urllib.parse.quote(console["ticket"], safe="")
    return f"wss://{host}/api2/json/nodes/{guest}/vncwebsocket?port={console['port']}&vncticket={ticket}"

def connect(guest, console):
    # max_queue=None: frames that keep coming after we stopped reading (the source console) must
    # not stop websockets from reading on to the end of the connection when it closes.
    return websockets.connect(ws_uri(guest, console), ssl=ctx, subprotocols=["binary"],
                              extra_headers=auth, ping_interval=None, compression=None,
                              max_size=None, max_queue=None, open_timeout=10)

def closed_info(e):
    return {"closed": True, "code": getattr(e, "code", None), "error": type(e).__name__}

async def recv_exactly(ws, n, timeout=20):
    got = bytearray()
    while len(got) < n:
        got += await asyncio.wait_for(ws.recv(), timeout)
    return bytes(got)

async def greeting(guest):
    async with connect(guest, vncproxy(guest)) as ws:
        m = await asyncio.wait_for(ws.recv(), 10)
        return {"subprotocol": ws.subprotocol, "binary": isinstance(m, bytes),
                "first": m.decode("latin-1")}

async def frame(guest, size):
    async with connect(guest, vncproxy(guest)) as ws:
        try:
            await ws.send(bytes(size))
            return {"echoed": len(await recv_exactly(ws, size, 10))}
        except websockets.exceptions.ConnectionClosed as e:
            return closed_info(e)

async def fragmented(guest):
    async with connect(guest, vncproxy(guest)) as ws:
        await ws.send(b"whole")
        first = await recv_exactly(ws, 5)
        try:
            await ws.send(iter([b"frag", b"ment"]))  # two frames: FIN clear, then a continuation
            await asyncio.wait_for(ws.recv(), 10)
            return {"first": first.decode(), "closed": False}
        except websockets.exceptions.ConnectionClosed as e:
            return dict(closed_info(e), first=first.decode())

async def ping(guest):
    async with connect(guest, vncproxy(guest)) as ws:
        waiter = await ws.ping(b"are you there")
        await asyncio.wait_for(waiter, 10)
        return {"pong": True}

async def refused(guest, console):
    try:
        async with connect(guest, console) as ws:
            return {"status": 101}
    except websockets.exceptions.InvalidStatusCode as e:
        return {"status": e.status_code}

async def reuse(guest):
    console = vncproxy(guest)
    async with connect(guest, console) as ws:
        await asyncio.wait_for(ws.recv(), 10)
    return await refused(guest, console)

async def window(guest):
    console = vncproxy(guest)
    issued = time.time()
    # The mock's clock counts whole seconds: wait until the issuing second is over.
    while int(time.time()) <= int(issued) or time.time() - issued < 0.15:
        await asyncio.sleep(0.05)
    return await refused(guest, console)

async def echo(guest, total):
    data = random.Random(1).randbytes(total)
    async with connect(guest, vncproxy(guest)) as ws:
        async def send():
            for off in range(0, total, 16384):
                await ws.send(data[off:off + 16384])
        sender = asyncio.create_task(send())
        got = await recv_exactly(ws, total)
        await sender
        return {"ok": got == data, "received": len(got)}

async def source(guest, total):
    async with connect(guest, vncproxy(guest)) as ws:
        got = await recv_exactly(ws, total)
        ok = all(b == (i & 0xFF) for i, b in enumerate(got))
        return {"ok": ok, "received": len(got)}

async def drain(guest):
    total = 0
    async with connect(guest, vncproxy(guest)) as ws:
        try:
            while True:
                total += len(await asyncio.wait_for(ws.recv(), 20))
        except websockets.exceptions.ConnectionClosed as e:
            return dict(closed_info(e), received=total)

def fingerprint():
    with socket.create_connection(("127.0.0.1", ready["port"]), timeout=10) as sock:
        with ctx.wrap_socket(sock, server_hostname="localhost") as tls:
            der = tls.getpeercert(binary_form=True)
            cipher = tls.cipher()[0]
    digest = hashlib.sha256(der).hexdigest().upper()
    return {"fingerprint": ":".join(digest[i:i + 2] for i in range(0, 64, 2)), "cipher": cipher}

commands = {
    "greeting": lambda: greeting(args[0]),
    "frame": lambda: frame(args[0], int(args[1])),
    "fragmented": lambda: fragmented(args[0]),
    "ping": lambda: ping(args[0]),
    "reuse": lambda: reuse(args[0]),
    "window": lambda: window(args[0]),
    "echo": lambda: echo(args[0], int(args[1])),
    "source": lambda: source(args[0], int(args[1])),
    "drain": lambda: drain(args[0]),
}
if command == "fingerprint":
    print(json.dumps(fingerprint()))
else:
    print(json.dumps(asyncio.run(commands[command]())))
)PY";

}  // namespace pvb::mock::test
