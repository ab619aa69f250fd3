#!/usr/bin/python3
"""Stand-in viewer for the time-to-first-picture benchmark (first_picture.py).

pvebridge launches it as its viewer (`--viewer PATH`) exactly as it launches remote-viewer: the
.vv path last on the command line, or "-" with the .vv on standard input (`--vv-stdin`). It
imitates a viewer's start-up with a sleep, then does what a viewer does before it can show
anything: connect to host:port from the .vv, RFB 3.3/3.7/3.8 handshake with VNC authentication
by the .vv's password (or None when that is offered), ClientInit (shared), SetEncodings, a
non-incremental FramebufferUpdateRequest, and it reads until a whole framebuffer has arrived.
Then it exits 0 (pvebridge ends with its viewer).

It is configured through the environment (never through argv, which other users can read, and
never with a secret):
  STANDIN_VIEWER_REPORT      where to write the JSON report (mode 0600; required)
  STANDIN_VIEWER_STARTUP_MS  the start-up to imitate: it connects this long after pvebridge
                             launched it (default 300)
  STANDIN_VIEWER_STARTUP_FROM  "harness": count the start-up from STANDIN_VIEWER_T0_NS (the
                             harness's clock just before it started pvebridge) instead: what a
                             viewer launched the moment pvebridge starts would do (a what-if)
  STANDIN_VIEWER_ENCODINGS   the encodings to announce, comma separated (default "raw"; known:
                             raw, copyrect, rre, zrle, desktop-size, last-rect)
  STANDIN_VIEWER_TIMEOUT_S   give up after this long (default 30)

The report holds CLOCK_MONOTONIC timestamps in ns (comparable with the harness's, which took its
own just before starting pvebridge): launched (our fork by pvebridge, from /proc: 10 ms steps),
exec (this script running), awake (start-up over), connected, banner, security_result,
server_init, first_picture; and width, height, bytes read, rectangles, the security type, how
the .vv came (file or stdin), or "error". The password is never written anywhere.
"""
import json
import os
import socket
import struct
import sys
import time

T_EXEC = time.clock_gettime_ns(time.CLOCK_MONOTONIC)  # the interpreter is up, the script runs

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402

ENCODINGS = {"raw": 0, "copyrect": 1, "rre": 2, "zrle": 16, "desktop-size": -223,
             "last-rect": -224}


class ViewerError(Exception):
    pass


def now():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def unescape(value):
    """A GKeyFile string value: \\s, \\n, \\t, \\r and \\\\ are escapes (g_key_file_get_string)."""
    out, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            i += 1
            c = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}.get(value[i])
            if c is None:
                raise ViewerError("the .vv has an invalid escape")
        out.append(c)
        i += 1
    return "".join(out)


def launched_ns():
    """When pvebridge launched us (our fork), in CLOCK_MONOTONIC ns, from /proc/self/stat's
    starttime (clock ticks since boot, so 10 ms steps, always rounded down); None when that is
    not plausible (a time namespace, say)."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None
    boot_to_monotonic = (time.clock_gettime_ns(time.CLOCK_BOOTTIME) -
                         time.clock_gettime_ns(time.CLOCK_MONOTONIC))
    launched = start_ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK") - boot_to_monotonic
    return launched if 0 <= T_EXEC - launched < 5_000_000_000 else None


def read_vv(argument):
    """The [virt-viewer] section of a .vv (a GKeyFile: key=value lines)."""
    if argument == "-":
        text, how = sys.stdin.read(), "stdin"
    else:
        with open(argument, encoding="utf-8") as f:
            text, how = f.read(), "file"
    values, section = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif section == "virt-viewer" and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = unescape(value.strip())
    for key in ("host", "port"):
        if key not in values:
            raise ViewerError(f"the .vv has no {key}")
    return values, how


def vnc_auth_response(password, challenge):
    # VNC authentication: DES-ECB of the 16-byte challenge, keyed by the password's first 8 bytes
    # (zero-padded) with the bits of each key byte mirrored.
    key = bytes(int(f"{b:08b}"[::-1], 2) for b in password.encode("latin-1")[:8].ljust(8, b"\0"))
    # TripleDES with one 8-byte key is single DES (K1 = K2 = K3).
    enc = Cipher(algorithms.TripleDES(key), modes.ECB()).encryptor()
    return enc.update(challenge) + enc.finalize()


class Rfb:
    def __init__(self, sock):
        self.sock = sock
        self.file = sock.makefile("rb")
        self.received = 0

    def read(self, n):
        data = self.file.read(n)
        if data is None or len(data) < n:
            raise ViewerError("the server closed the connection")
        self.received += n
        return data

    def u8(self):
        return self.read(1)[0]

    def u16(self):
        return struct.unpack(">H", self.read(2))[0]

    def u32(self):
        return struct.unpack(">I", self.read(4))[0]

    def reason(self):
        return self.read(self.u32()).decode("utf-8", "replace")

    def handshake(self, password, report):
        banner = self.read(12)
        report["banner"] = now()
        if not banner.startswith(b"RFB ") or banner[7:8] != b"." or banner[11:] != b"\n":
            raise ViewerError(f"not an RFB server (banner {banner!r})")
        major, minor = int(banner[4:7]), int(banner[8:11])
        minor = 8 if (major, minor) >= (3, 8) else 7 if (major, minor) >= (3, 7) else 3
        self.sock.sendall(b"RFB 003.%03d\n" % minor)
        report["rfb_version"] = f"3.{minor}"
        if minor == 3:
            security = self.u32()
            if security == 0:
                raise ViewerError("the server refused: " + self.reason())
        else:
            count = self.u8()
            if count == 0:
                raise ViewerError("the server refused: " + self.reason())
            offered = list(self.read(count))
            security = 2 if 2 in offered and password is not None else 1 if 1 in offered else 0
            if security == 0:
                raise ViewerError(f"no security type we speak among {offered}")
            self.sock.sendall(bytes([security]))
        report["security"] = {1: "none", 2: "vnc"}.get(security, security)
        if security == 2:
            if password is None:
                raise ViewerError("VNC authentication asked, the .vv has no password")
            self.sock.sendall(vnc_auth_response(password, self.read(16)))
        elif security != 1:
            raise ViewerError(f"the server chose security type {security}")
        if security == 2 or minor == 8:
            if self.u32() != 0:
                raise ViewerError("authentication failed" +
                                  (": " + self.reason() if minor == 8 else ""))
        report["security_result"] = now()
        self.sock.sendall(b"\x01")  # ClientInit: shared, as remote-viewer asks
        width, height = self.u16(), self.u16()
        pixel_format = self.read(16)
        self.read(self.u32())  # the desktop name
        return width, height, pixel_format[0] // 8

    def request(self, width, height, incremental):
        self.sock.sendall(struct.pack(">BBHHHH", 3, incremental, 0, 0, width, height))

    def skip_rectangle(self, encoding, w, h, bpp):
        """Reads one rectangle's data; returns False for LastRect (the update ends there)."""
        if encoding == 0:
            self.read(w * h * bpp)
        elif encoding == 1:
            self.read(4)
        elif encoding == 2:
            self.read(self.u32() * (bpp + 8) + bpp)
        elif encoding == 16:
            self.read(self.u32())
        elif encoding == -224:
            return False
        elif encoding != -223:
            raise ViewerError(f"the server sent encoding {encoding}, which we did not announce")
        return True

    def first_picture(self, width, height, bpp):
        """Reads server messages until FramebufferUpdates have covered the whole screen."""
        covered, rects, self.updates = 0, 0, 0
        while True:
            kind = self.u8()
            if kind == 0:  # FramebufferUpdate
                self.read(1)
                count = self.u16()
                self.updates += 1
                for _ in range(count):
                    x, y, w, h, encoding = struct.unpack(">HHHHi", self.read(12))
                    rects += 1
                    if encoding == -223:  # DesktopSize: the screen to cover changes
                        width, height, covered = w, h, 0
                    if not self.skip_rectangle(encoding, w, h, bpp):
                        break
                    if encoding >= 0:
                        covered += w * h
                if covered >= width * height:
                    return width, height, rects
                self.request(width, height, 0)
            elif kind == 1:  # SetColourMapEntries
                self.read(3)
                self.read(self.u16() * 6)
            elif kind == 2:  # Bell
                pass
            elif kind == 3:  # ServerCutText
                self.read(3)
                self.read(self.u32())
            else:
                raise ViewerError(f"unknown server message type {kind}")


def run(report):
    if len(sys.argv) < 2:
        raise ViewerError("usage: standin_viewer.py [ARGS...] VV_FILE|-")
    vv, report["vv_mode"] = read_vv(sys.argv[-1])
    names = os.environ.get("STANDIN_VIEWER_ENCODINGS", "raw").split(",")
    unknown = [n for n in names if n not in ENCODINGS]
    if unknown:
        raise ViewerError(f"unknown encodings {unknown} (known: {', '.join(ENCODINGS)})")
    # The start-up ends STARTUP_MS after pvebridge launched us (the interpreter's start and our
    # imports are part of it), or after the script began when the launch time is unknown. The
    # first DES costs ~50 ms (the crypto library's set-up): part of the start-up, as in a real
    # viewer, not of the handshake.
    report["launched"] = launched_ns()
    start = report["launched"] or T_EXEC
    if os.environ.get("STANDIN_VIEWER_STARTUP_FROM") == "harness":
        start = int(os.environ["STANDIN_VIEWER_T0_NS"])
    ready = start + int(os.environ.get("STANDIN_VIEWER_STARTUP_MS", "300")) * 1_000_000
    vnc_auth_response("warm-up", bytes(16))
    time.sleep(max(0, ready - now()) / 1e9)
    report["awake"] = now()
    timeout = float(os.environ.get("STANDIN_VIEWER_TIMEOUT_S", "30"))
    sock = socket.create_connection((vv["host"], int(vv["port"])), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    report["connected"] = now()
    rfb = Rfb(sock)
    width, height, bpp = rfb.handshake(vv.get("password"), report)
    report["server_init"] = now()
    encodings = [ENCODINGS[n] for n in names]
    sock.sendall(struct.pack(">BBH", 2, 0, len(encodings)) +
                 b"".join(struct.pack(">i", e) for e in encodings))
    rfb.request(width, height, 0)
    width, height, rects = rfb.first_picture(width, height, bpp)
    report["first_picture"] = now()
    report.update(width=width, height=height, rectangles=rects, updates=rfb.updates,
                  bytes=rfb.received)
    sock.close()


def main():
    report_path = os.environ.get("STANDIN_VIEWER_REPORT")
    if not report_path:
        print("standin_viewer: STANDIN_VIEWER_REPORT is not set", file=sys.stderr)
        return 2
    report = {"exec": T_EXEC}
    status = 0
    try:
        run(report)
    except (ViewerError, OSError, ValueError) as e:
        report["error"] = str(e)
        print(f"standin_viewer: {e}", file=sys.stderr)
        status = 1
    fd = os.open(report_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(report, f)
    return status


if __name__ == "__main__":
    sys.exit(main())
