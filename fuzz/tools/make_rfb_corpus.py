#!/usr/bin/env python3
"""Writes the seed corpora and dictionaries of the RFB fuzz targets:
fuzz/corpus/fuzz_rfb_{server_stream,client_stream,handshake,reconnect}/ and fuzz/dict/<target>.dict.

Seeds are committed; run this only to regenerate them (needs python3 and openssl for the DES of
the VNC Authentication response):
    fuzz/tools/make_rfb_corpus.py
Layouts: see the comment at the top of each target. After the target's own leading bytes comes
the chunked layout of fuzz/fuzz_support.h: a flags byte and a count of cut sizes (0 here).
"""

import struct
import subprocess
from pathlib import Path

FUZZ = Path(__file__).resolve().parent.parent


def write(target, name, data):
    d = FUZZ / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def u8(v): return struct.pack(">B", v)
def u16(v): return struct.pack(">H", v)
def u32(v): return struct.pack(">I", v)
def s32(v): return struct.pack(">i", v)


def rect(x, y, w, h, enc): return u16(x) + u16(y) + u16(w) + u16(h) + s32(enc)


def fbu(*rects): return u8(0) + u8(0) + u16(len(rects)) + b"".join(rects)


def compact(n):
    out = bytes([(n & 0x7F) | (0x80 if n > 0x7F else 0)])
    if n > 0x7F:
        out += bytes([((n >> 7) & 0x7F) | (0x80 if n > 0x3FFF else 0)])
        if n > 0x3FFF:
            out += bytes([n >> 14])
    return out


def pixel_format(bpp=32, depth=24, big=0, true=1, rmax=255, gmax=255, bmax=255, rs=16, gs=8, bs=0):
    return (u8(bpp) + u8(depth) + u8(big) + u8(true) + u16(rmax) + u16(gmax) + u16(bmax) +
            u8(rs) + u8(gs) + u8(bs) + b"\0\0\0")


RGB565 = pixel_format(16, 16, 0, 1, 31, 63, 31, 11, 5, 0)

# --- server stream ------------------------------------------------------------------------------
TIGHT, HEXTILE, RAW, COPYRECT, RRE, CORRE, ZLIB, ZRLE = 7, 5, 0, 1, 2, 4, 6, 16
tight_session = (
    fbu(rect(0, 0, 1024, 768, TIGHT) + u8(0x80) + b"\x10\x20\x30",                  # fill
        rect(0, 0, 64, 64, TIGHT) + u8(0x90) + compact(200) + b"J" * 200,          # JPEG
        rect(0, 0, 16, 2, TIGHT) + u8(0x41) + u8(1) + u8(1) + b"\0" * 6 + compact(3) + b"zzz",
        rect(0, 0, 3, 3, TIGHT) + u8(0x50) + u8(1) + u8(3) + b"\1" * 12 + b"\2" * 9,  # 4 colours
        rect(0, 0, 8, 8, TIGHT) + u8(0x60) + u8(2) + compact(20) + b"g" * 20,       # gradient
        rect(0, 0, 2, 1, TIGHT) + u8(0x30) + b"c" * 6)                              # copy < 12
    + u8(0) + u8(0) + u16(0xFFFF) + rect(0, 0, 1, 1, RAW) + b"\0" * 4 + rect(0, 0, 0, 0, -224)
    + fbu(rect(0, 0, 1280, 800, -223))
    + fbu(rect(2, 2, 4, 4, -314) + s32(RAW) + b"\xff" * 64))
hextile = (u8(1) + b"\xaa" * 16 * 16 * 4 + u8(2 | 4 | 8) + b"\1" * 8 + u8(2) + b"\0" * 4
           + u8(8 | 16) + u8(1) + b"\3" * 6 + u8(0))
classic = fbu(rect(0, 0, 32, 32, HEXTILE) + hextile,
              rect(0, 0, 10, 10, RRE) + u32(1) + b"\0" * 4 + b"\1" * 12,
              rect(0, 0, 10, 10, CORRE) + u32(1) + b"\0" * 4 + b"\1" * 8,
              rect(5, 5, 10, 10, COPYRECT) + u16(0) + u16(0),
              rect(0, 0, 2, 2, RAW) + b"\7" * 16,
              rect(0, 0, 64, 64, ZRLE) + u32(5) + b"zrle!",
              rect(0, 0, 64, 64, ZLIB) + u32(3) + b"zlb")
pseudo = fbu(rect(0, 0, 800, 600, -308) + u8(1) + b"\0" * 3 + b"\0" * 16,
             rect(0, 0, 0, 0, -307) + u32(4) + b"QEMU",
             rect(0, 0, 0, 0, -261) + u8(2),
             rect(0, 0, 9, 2, -240) + b"\0" * 14,
             rect(0, 0, 2, 2, -239) + b"\1" * 16 + b"\0" * 2,
             rect(0, 0, 1, 0, -257), rect(0, 0, 0, 0, -258), rect(0, 0, 0, 0, -259),
             rect(0, 0, 640, 480, 0x574D5669) + RGB565,
             rect(0, 0, 2, 2, RAW) + b"\5" * 8)
messages = (u8(1) + u8(0) + u16(0) + u16(2) + b"\0" * 12 + u8(2)
            + u8(3) + b"\0" * 3 + u32(5) + b"hello" + u8(3) + b"\0" * 3 + s32(-4) + u32(0)
            + u8(150) + u8(248) + b"\0" * 3 + u32(0) + u8(2) + b"ab" + u8(250) + u8(0) + u8(1) + u8(1)
            + u8(255) + u8(1) + u16(1) + u8(255) + u8(1) + u16(2) + u32(4) + b"pcm!" + u8(255) + u8(1) + u16(0))
write("fuzz_rfb_server_stream", "tight_session", b"\0\x0f\0\0" + tight_session)
write("fuzz_rfb_server_stream", "classic_encodings", b"\0\x00\0\0" + classic)
write("fuzz_rfb_server_stream", "pseudo_encodings", b"\0\x00\0\0" + pseudo)
write("fuzz_rfb_server_stream", "messages", b"\0\x0f\0\0" + messages)
write("fuzz_rfb_server_stream", "tight_16bpp_cut", b"\1\x00\0\3\4\0\x10" + tight_session)

# The fake VM's recorded sessions (tests/engine/rfb/data, record_fake_vm_streams.py): real zlib
# streams, JPEG and every method of Tight, ZRLE, Hextile and Zlib, as a node would send them.
RFB_DATA = FUZZ.parent / "tests" / "engine" / "rfb" / "data"
for name, pick in [("fakevm_tight", 0), ("fakevm_tight_jpeg", 0), ("fakevm_tight_16bpp", 1),
                   ("fakevm_zrle", 0), ("fakevm_hextile_16bpp", 1), ("fakevm_zlib", 0),
                   ("fakevm_zrle_resize", 0), ("fakevm_tight_wmvi_resize", 1)]:
    recording = (RFB_DATA / (name + ".server")).read_bytes()
    init_length = 24 + struct.unpack(">I", recording[20:24])[0]
    write("fuzz_rfb_server_stream", name, bytes([pick, 0, 0, 0]) + recording[init_length:])
# --- client stream ------------------------------------------------------------------------------
viewer_list = [7, -309, -258, -261, -308, -223, -307, -224, 0x574D5669, -259, -314, -239, -240,
               -257, 16, 5, 2, 1, 0, -312, -313]
viewer = (u8(0) + b"\0" * 3 + pixel_format()
          + u8(2) + u8(0) + u16(len(viewer_list)) + b"".join(s32(e) for e in viewer_list)
          + u8(3) + u8(0) + u16(0) + u16(0) + u16(1024) + u16(768)
          + u8(4) + u8(1) + u16(0) + u32(0xff0d) + u8(5) + u8(1) + u16(10) + u16(20)
          + u8(6) + b"\0" * 3 + u32(3) + b"abc" + u8(6) + b"\0" * 3 + s32(-4) + u32(1)
          + u8(255) + u8(0) + u16(1) + u32(0x61) + u32(30)
          + u8(255) + u8(1) + u16(2) + u8(3) + u8(2) + u32(44100) + u8(255) + u8(1) + u16(0)
          + u8(250) + u8(0) + u8(1) + u8(2) + u8(251) + u8(0) + u16(800) + u16(600) + u8(1) + u8(0) + b"\0" * 16
          + u8(248) + b"\0" * 3 + u32(0) + u8(1) + b"x" + u8(150) + u8(1) + u16(0) + u16(0) + u16(8) + u16(8))
write("fuzz_rfb_client_stream", "remote_viewer", b"\0\0\0" + viewer)
write("fuzz_rfb_client_stream", "remote_viewer_cut", b"\1\0\3\2\0\6" + viewer)

for name in ["fakevm_tight_jpeg", "fakevm_zrle"]:
    write("fuzz_rfb_client_stream", name, b"\0\0\0" + (RFB_DATA / (name + ".client")).read_bytes())
# --- handshake ----------------------------------------------------------------------------------
def vnc_response(password, challenge):
    key = bytes(int(f"{b:08b}"[::-1], 2) for b in password.encode()[:8].ljust(8, b"\0"))
    out = subprocess.run(["openssl", "enc", "-des-ecb", "-nopad", "-provider", "legacy",
                          "-provider", "default", "-K", key.hex()],
                         input=challenge, capture_output=True, check=True).stdout
    return out


challenge = bytes(0xC0 + i for i in range(16))
response = vnc_response("fuzzpass", challenge)
server_init = u16(1024) + u16(768) + pixel_format() + u32(4) + b"QEMU"
write("fuzz_rfb_handshake", "server_38_vnc", b"\x03\0\0" + b"RFB 003.008\n" + u8(2) + response + u8(1) + u8(2))
write("fuzz_rfb_handshake", "server_33_vnc", b"\x03\0\0" + b"RFB 003.003\n" + response + u8(0))
write("fuzz_rfb_handshake", "server_37_none", b"\x01\0\0" + b"RFB 003.007\n" + u8(1) + u8(0))
write("fuzz_rfb_handshake", "client_38_vnc", b"\x06\0\0" + b"RFB 003.008\n" + u8(2) + u8(1) + u8(2)
      + challenge + u32(0) + server_init + u8(2))
write("fuzz_rfb_handshake", "client_38_fail", b"\x02\0\0" + b"RFB 003.008\n" + u8(1) + u8(2)
      + challenge + u32(1) + u32(21) + b"Authentication failed")
write("fuzz_rfb_handshake", "client_33_none", b"\x00\0\0" + b"RFB 003.003\n" + u32(1) + server_init)
write("fuzz_rfb_handshake", "client_refused", b"\x00\0\0" + b"RFB 003.007\n" + u8(0) + u32(4) + b"busy")
write("fuzz_rfb_handshake", "client_response_check", response)  # so the DES block is seen

# --- dictionaries -------------------------------------------------------------------------------
def esc(b): return "".join(f"\\x{c:02x}" for c in b)


encodings = [0, 1, 2, 4, 5, 6, 7, 16, -223, -224, -232, -239, -240, -257, -258, -259, -260, -261,
             -307, -308, -309, -312, -313, -314, 0x574D5669]
stream_dict = ["# RFB encodings and pseudo-encodings (S32, big-endian)"]
stream_dict += [f'"{esc(s32(e))}"' for e in encodings]
stream_dict += ['# FramebufferUpdate headers, LastRect count, Tight control bytes, compact lengths',
                f'"{esc(u8(0) + u8(0) + u16(1))}"', f'"{esc(u16(0xFFFF))}"',
                '"\\x80"', '"\\x90"', '"\\x40\\x01"', '"\\x40\\x02"', '"\\xff\\xff\\x7f"',
                '"\\x01\\x00\\x00\\x00"', '"\\xff\\xff\\xff\\xfc"']
(FUZZ / "dict" / "fuzz_rfb_server_stream.dict").write_text("\n".join(stream_dict) + "\n")
client_dict = ["# RFB client messages: types, encodings (S32), negative cut text lengths"]
client_dict += [f'"{esc(s32(e))}"' for e in encodings]
client_dict += ['"\\x00\\x00\\x00\\x00"', '"\\x02\\x00"', '"\\x03\\x00"', '"\\x06\\x00\\x00\\x00"',
                '"\\xff\\x00"', '"\\xff\\x01\\x00\\x02"', '"\\xfb"', '"\\xf8"', '"\\x96"', '"\\xfa"',
                '"\\xff\\xff\\xff\\xf8"']
(FUZZ / "dict" / "fuzz_rfb_client_stream.dict").write_text("\n".join(client_dict) + "\n")
hs_dict = ["# RFB handshakes", '"RFB 003.008\\x0a"', '"RFB 003.007\\x0a"', '"RFB 003.003\\x0a"',
           '"RFB 003.889\\x0a"', '"RFB 004.000\\x0a"', '"\\x00\\x00\\x00\\x00"',
           '"\\x00\\x00\\x00\\x01"', '"\\x00\\x00\\x00\\x02"', '"\\x01\\x02"', '"\\x02\\x01\\x02"',
           '"Authentication failed"', f'"{esc(response)}"', f'"{esc(challenge)}"',
           f'"{esc(pixel_format())}"']
(FUZZ / "dict" / "fuzz_rfb_handshake.dict").write_text("\n".join(hs_dict) + "\n")

# fuzz_rfb_reconnect: recording, flags, then (op, argument) pairs (see the target's comment).
SEND, KEY, QKEY, POINTER, REQUEST, PROCESS, CUT, RECONNECT = range(8)


def script(*ops): return b"".join(u8(op) + u8(arg) for op, arg in ops)


SEND_ALL = [(SEND, 255)] * 4
for rec in range(7):
    # Typing through a cut: a key pressed before, released while the link is down.
    write("fuzz_rfb_reconnect", f"typing_{rec}", u8(rec) + u8(0) + script(
        (SEND, 40), (KEY, 0x81), (PROCESS, 0), (CUT, 0), (KEY, 0x01), (POINTER, 0x21),
        (REQUEST, 0), (REQUEST, 1), (RECONNECT, 0), *SEND_ALL, (PROCESS, 0)))
    # A key and a button held while the link breaks; the key's release lost in flight.
    write("fuzz_rfb_reconnect", f"held_{rec}", u8(rec) + u8(0) + script(
        (SEND, 20), (QKEY, 0x82), (POINTER, 0x01), (SEND, 30), (QKEY, 0x02), (CUT, 1),
        (RECONNECT, 0), *SEND_ALL, (POINTER, 0x00), (PROCESS, 0)))
    # Cuts at many offsets, with a new size, half forwarding, a small gate and a small queue.
    cuts = []
    for k in range(1, 12):
        cuts += [(SEND, 7 * k), (KEY, 0x80 | k), (CUT, k), (POINTER, k * 8), (KEY, k),
                 (RECONNECT, k)]
    write("fuzz_rfb_reconnect", f"cuts_{rec}", u8(rec) + u8(16 | 4) + script(*cuts))
    write("fuzz_rfb_reconnect", f"small_{rec}", u8(rec) + u8(2 | 8 | 1) + script(*cuts))
