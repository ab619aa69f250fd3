#!/usr/bin/env python3
"""Records sessions with the fake VM (tests/fake_vm) for the RFB delimiter tests and the fuzz
corpus, one per encoding it implements, in the format of record_qemu_streams.py:
    <variant>.server   ServerInit and everything the server sent after it
    <variant>.client   everything we sent after ClientInit
The fake VM runs frozen (--freeze-at) on a 160x120 screen, so a recording is the same every time.
Each session: SetPixelFormat, SetEncodings (the variant's list), a full update request; then the
screen steps one tick (SIGUSR2; for the resize variants it also changes size, SIGHUP) and we ask
for an incremental update of the whole screen; then another tick and a part of the screen.
Run it only to regenerate the recordings (then fuzz/tools/make_rfb_corpus.py for the corpus):
    tests/engine/rfb/tools/record_fake_vm_streams.py build/rel/tests/fake_vm/fake-vm
"""

import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "data"


def pixel_format(bpp, depth, rmax, gmax, bmax, rs, gs, bs, big=0):
    return struct.pack(">BBBBHHHBBB3x", bpp, depth, big, 1, rmax, gmax, bmax, rs, gs, bs)


RGB888 = pixel_format(32, 24, 255, 255, 255, 16, 8, 0)
RGB565 = pixel_format(16, 16, 31, 63, 31, 11, 5, 0)
# libvncclient's own 32-bit format: red in the low byte.
BGR888 = pixel_format(32, 24, 255, 255, 255, 0, 8, 16)

VARIANTS = {
    "fakevm_tight": (RGB888, [7, -224, -223, -308, 0], False),
    "fakevm_tight_jpeg": (RGB888, [7, -27, -247, -224, -223, 0], False),
    "fakevm_tight_16bpp": (RGB565, [7, -223, 0], False),
    "fakevm_zrle": (BGR888, [16, -223, 1, 0], False),
    "fakevm_hextile_16bpp": (RGB565, [5, -223, 0], False),
    "fakevm_zlib": (RGB888, [6, -223, 0], False),
    "fakevm_zrle_resize": (RGB888, [16, -308, -223, 0], True),
    # A display mode switch with WMVi announced: WMVi (back to 32 bpp), ExtendedDesktopSize, then
    # Tight in the server's format.
    "fakevm_tight_wmvi_resize": (RGB565, [7, 0x574D5669, -308, -223, 0], True),
}


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise EOFError("server closed")
        out += chunk
    return out


def read_until_quiet(s, quiet=0.3):
    out = b""
    while True:
        ready, _, _ = select.select([s], [], [], quiet)
        if not ready:
            return out
        chunk = s.recv(1 << 20)
        if not chunk:
            return out
        out += chunk


def record(fake_vm, name, fmt, encodings, resize):
    vm = subprocess.Popen([fake_vm, "--no-auth", "--freeze-at", "7", "--size", "160x120",
                           "--alt-size", "200x150", "--incremental-delay-ms", "0",
                           "--name", name], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        port = json.loads(vm.stdout.readline())["port"]
        s = socket.create_connection(("127.0.0.1", port))
        assert recv_exact(s, 12) == b"RFB 003.008\n"
        s.sendall(b"RFB 003.008\n")
        n = recv_exact(s, 1)[0]
        assert 1 in recv_exact(s, n)
        s.sendall(b"\x01")
        assert recv_exact(s, 4) == b"\0\0\0\0"
        s.sendall(b"\x00")  # exclusive, as remote-viewer asks
        init = recv_exact(s, 24)
        width, height = struct.unpack(">HH", init[:4])
        server = init + recv_exact(s, struct.unpack(">I", init[20:24])[0])

        client = b"\x00\0\0\0" + fmt
        client += struct.pack(">BBH", 2, 0, len(encodings)) + b"".join(
            struct.pack(">i", e) for e in encodings)
        client += struct.pack(">BBHHHH", 3, 0, 0, 0, width, height)
        s.sendall(client)
        server += read_until_quiet(s)

        vm.send_signal(signal.SIGUSR2)
        if resize:
            vm.send_signal(signal.SIGHUP)
        req = struct.pack(">BBHHHH", 3, 1, 0, 0, 0xFFFF, 0xFFFF)
        read_until_quiet(s, 0.2)  # let the signals land before asking
        s.sendall(req)
        client += req
        server += read_until_quiet(s)

        vm.send_signal(signal.SIGUSR2)
        read_until_quiet(s, 0.2)
        req = struct.pack(">BBHHHH", 3, 1, 10, 100, 150, 20)
        s.sendall(req)
        client += req
        server += read_until_quiet(s)
        s.close()
    finally:
        vm.terminate()
        vm.wait()
    (OUT / f"{name}.server").write_bytes(server)
    (OUT / f"{name}.client").write_bytes(client)
    print(f"{name}: {len(server)} bytes from the server, {len(client)} to it")


def main():
    if len(sys.argv) != 2 or not os.access(sys.argv[1], os.X_OK):
        sys.exit("usage: record_fake_vm_streams.py PATH/TO/fake-vm")
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (fmt, encodings, resize) in VARIANTS.items():
        record(sys.argv[1], name, fmt, encodings, resize)


if __name__ == "__main__":
    main()
