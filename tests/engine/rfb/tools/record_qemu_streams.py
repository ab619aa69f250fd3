#!/usr/bin/env python3
"""Records real QEMU VNC sessions for the RFB delimiter tests (tests/engine/rfb/data/).

For each variant: starts qemu-system-x86_64 (no disk: SeaBIOS, then "No bootable device", a
screen that changes for a few seconds), connects to its VNC server as a viewer would (RFB 3.8,
security None, shared), sends SetPixelFormat, SetEncodings (the variant's list), a full update
request and then incremental ones, and records both directions after the handshake:
    <variant>.server   ServerInit and everything the server sent after it
    <variant>.client   everything we sent after ClientInit
Run it only to regenerate the recordings (needs the Debian package qemu-system-x86):
    tests/engine/rfb/tools/record_qemu_streams.py
"""

import os
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "data"


def pixel_format(bpp, depth, rmax, gmax, bmax, rs, gs, bs, big=0):
    return struct.pack(">BBBBHHHBBB3x", bpp, depth, big, 1, rmax, gmax, bmax, rs, gs, bs)


RGB888 = pixel_format(32, 24, 255, 255, 255, 16, 8, 0)
RGB565 = pixel_format(16, 16, 31, 63, 31, 11, 5, 0)
BGR233 = pixel_format(8, 8, 7, 7, 3, 0, 3, 6)

# remote-viewer's list as measured (docs RFB.md), then variations that make QEMU pick each
# encoding it has.
REMOTE_VIEWER = [7, -309, -258, -261, -308, -223, -307, -224, 0x574D5669, -259, -314, -239, -240,
                 -257, 16, 5, 2, 1, 0]
VARIANTS = {
    "qemu_tight_remote_viewer": (RGB888, REMOTE_VIEWER),
    # JPEG quality 7 and compression 9: QEMU's Tight then sends JPEG too (lossy=on).
    "qemu_tight_jpeg": (RGB888, [7, -25, -247, -224, -223, -308, -261, -314, 0]),
    "qemu_tight_16bpp": (RGB565, [7, -224, -223, -239, 0]),
    "qemu_zrle": (RGB888, [16, -224, -223, -308, -239, 1, 0]),
    "qemu_zlib": (RGB888, [6, -223, 0]),
    "qemu_hextile_8bpp": (BGR233, [5, -223, -240, 1, 0]),
    # WMVi: QEMU answers a SetPixelFormat with its own format in a WMVi rectangle.
    "qemu_wmvi_hextile": (RGB565, [0x574D5669, 5, -223, 0]),
}


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise EOFError("server closed")
        out += chunk
    return out


def record(name, fmt, encodings, workdir):
    sock_path = os.path.join(workdir, name + ".vnc")
    qemu = subprocess.Popen(
        ["qemu-system-x86_64", "-display", "none", "-vnc", f"unix:{sock_path},lossy=on",
         "-nodefaults", "-no-user-config", "-vga", "std", "-m", "32", "-machine", "accel=tcg"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists(sock_path):
                break
            time.sleep(0.05)
        s = socket.socket(socket.AF_UNIX)
        s.connect(sock_path)
        version = recv_exact(s, 12)
        assert version.startswith(b"RFB 003."), version
        s.sendall(b"RFB 003.008\n")
        n = recv_exact(s, 1)[0]
        types = recv_exact(s, n)
        assert 1 in types, types
        s.sendall(b"\x01")
        assert recv_exact(s, 4) == b"\0\0\0\0"
        s.sendall(b"\x01")  # shared
        init = recv_exact(s, 24)
        width, height = struct.unpack(">HH", init[:4])
        name_len = struct.unpack(">I", init[20:24])[0]
        server = init + recv_exact(s, name_len)

        client = b"\x00\0\0\0" + fmt
        client += struct.pack(">BBH", 2, 0, len(encodings)) + b"".join(
            struct.pack(">i", e) for e in encodings)
        client += struct.pack(">BBHHHH", 3, 0, 0, 0, width, height)
        s.sendall(client)
        s.settimeout(0.05)
        deadline = time.time() + 4.0
        next_request = time.time() + 0.2
        while time.time() < deadline:
            try:
                data = s.recv(65536)
                if not data:
                    break
                server += data
            except socket.timeout:
                pass
            if time.time() >= next_request:
                # Incremental, for the whole screen as it is now (it may have been resized).
                req = struct.pack(">BBHHHH", 3, 1, 0, 0, 0xFFFF, 0xFFFF)
                s.sendall(req)
                client += req
                next_request = time.time() + 0.2
        s.close()
    finally:
        qemu.terminate()
        qemu.wait()
    (OUT / f"{name}.server").write_bytes(server)
    (OUT / f"{name}.client").write_bytes(client)
    print(f"{name}: {len(server)} bytes from the server, {len(client)} to it")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        for name, (fmt, encodings) in VARIANTS.items():
            record(name, fmt, encodings, workdir)


if __name__ == "__main__":
    main()
