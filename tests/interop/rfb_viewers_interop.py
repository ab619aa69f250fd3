#!/usr/bin/env python3
"""Interop: real VNC viewers on a private Xvfb display through the bridge that terminates RFB
(issue 13), each picture compared pixel for pixel with the fake VM's screen.

The mock's fake VM is frozen (--fake-vm-freeze-at) and dumps its screen on SIGUSR1
(--fake-vm-dump-dir); the node's VNC password is fixed (--vnc-password) so the test can look for
it in every output.

Modes:
  tigervnc-serve  `pvebridge serve web01 --json`; two TigerVNC vncviewers (Debian
                  tigervnc-viewer) side by side, Tight and ZRLE, lossless, the local password in
                  a vncpasswd-format file (-passwd; made by `vncpasswd -f`, tightvncpasswd): both
                  windows must show exactly the VM's screen. Then a third vncviewer with a wrong
                  password must be refused (`local_auth_failed`) while the two keep their
                  sessions; SIGTERM ends serve with 143 and removes its .vv.
  remote-viewer   `pvebridge connect web01 --json` launching remote-viewer on its .vv (the local
                  one-time password): its window must contain exactly the VM's screen; closing
                  it ends pvebridge with 0.
  remote-viewer-qemu
                  a real QEMU behind the mock (--qemu) and `pvebridge serve web01`: remote-viewer
                  on serve's .vv and, at the same time, pvb-vnc-check (libvncclient) as a second
                  client; remote-viewer's window must contain exactly the picture libvncclient
                  decoded (two independent decoders agree on QEMU's screen, SeaBIOS's text).

In both: the node's password and any VNC ticket appear neither in the .vv nor in pvebridge's
output. Exit status: 0 passed, 1 failed, 77 skipped (a program missing). Every wait has a
deadline; everything started is stopped.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import remote_viewer_interop as rvi
import screen_picture
import viewer_user
from processes import LineReader, TestFailure, wait_exit
from x11_display import X11Error

GUEST = "web01"
NODE_PASSWORD = "NODE-PW7"
_POLL_SECONDS = 0.2


def log(message):
    print("rfb-interop: " + message, flush=True)


def read_ppm(path):
    """A binary PPM (P6, maxval 255) as RgbImage."""
    with open(path, "rb") as f:
        data = f.read()
    fields, at = [], 0
    while len(fields) < 4:
        while data[at:at + 1].isspace():
            at += 1
        if data[at:at + 1] == b"#":
            at = data.index(b"\n", at)
            continue
        end = at
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[at:end])
        at = end
    if fields[0] != b"P6" or fields[3] != b"255":
        raise TestFailure("%s is not an 8-bit P6 PPM" % path)
    width, height = int(fields[1]), int(fields[2])
    pixels = data[at + 1:at + 1 + width * height * 3]
    if len(pixels) != width * height * 3:
        raise TestFailure("%s is cut short" % path)
    return screen_picture.RgbImage(width, height, pixels)


def find_exact(image, picture):
    """Where `picture` appears unchanged inside `image` (x, y), or None."""
    stride, row_bytes = image.width * 3, picture.width * 3
    first = picture.rgb[:row_bytes]
    at = image.rgb.find(first)
    while at >= 0:
        y, x3 = divmod(at, stride)
        if x3 % 3 == 0 and x3 + row_bytes <= stride and y + picture.height <= image.height:
            if all(image.rgb[(y + r) * stride + x3:(y + r) * stride + x3 + row_bytes] ==
                   picture.rgb[r * row_bytes:(r + 1) * row_bytes]
                   for r in range(1, picture.height)):
                return x3 // 3, y
        at = image.rgb.find(first, at + 1)
    return None


def await_exact(session, rect, picture, png_path, what):
    """Waits until the screen inside rect (x, y, w, h) contains `picture` exactly."""
    image = None
    while True:
        try:
            image = session.display.capture(*rect)
        except X11Error as e:
            log("capture failed (window changing?): %s" % e)
            image = None
        if image is not None:
            found = find_exact(image, picture)
            if found is not None:
                screen_picture.write_png(image, png_path)
                log("%s shows the VM's screen exactly at %d,%d; screenshot %s" %
                    (what, rect[0] + found[0], rect[1] + found[1], png_path))
                return
        if session.deadline.expired():
            break
        time.sleep(session.deadline.left(_POLL_SECONDS))
    if image is not None:
        screen_picture.write_png(image, png_path)
    raise TestFailure("%s never showed the VM's screen exactly (see %s)" % (what, png_path))


def vv_password(path):
    with open(path) as f:
        text = f.read()
    m = re.search(r"\npassword=(.*)", text)
    if not m:
        raise TestFailure("no password in the .vv " + path)
    return m.group(1).replace("\\s", " ").replace("\\\\", "\\"), text


def check_no_node_secret(text, where):
    if NODE_PASSWORD in text:
        raise TestFailure("the node's VNC password is in " + where)
    if "PVEVNC:" in text:
        raise TestFailure("a VNC ticket is in " + where)


def start_frozen_mock(session, extra_args=(), env=None):
    """mock-pveproxy with its fake VM frozen at tick 3, dumping its screen on SIGUSR1;
    extra_args: more of its options (e.g. a --fault); env: instead of the session's."""
    dump_dir = session.log_path("dump")
    os.makedirs(dump_dir, exist_ok=True)
    mock = session.procs.start(
        "mock-pveproxy", [session.args.mock_pveproxy, "--listen", "127.0.0.1:0",
                          "--exit-on-stdin-eof", "--vnc-password", NODE_PASSWORD,
                          "--fake-vm-freeze-at", "3", "--fake-vm-dump-dir", dump_dir,
                          *extra_args],
        session.log_path("mock-pveproxy.log"), env=env or session.env, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE)
    ready = json.loads(LineReader(mock.stdout).next_line(session.deadline, "mock-pveproxy ready"))
    return mock, ready, dump_dir


def dump_screen(session, mock, dump_dir):
    path = os.path.join(dump_dir, "100.ppm")
    if os.path.exists(path):
        os.unlink(path)
    mock.send_signal(signal.SIGUSR1)
    while not os.path.exists(path):
        if session.deadline.expired():
            raise TestFailure("the mock wrote no screen dump")
        time.sleep(0.05)
    return read_ppm(path)


def next_event(events, session, name):
    return rvi._next_event(events, session.deadline, name)


def run_tigervnc_serve(session):
    mock, ready, dump_dir = start_frozen_mock(session)
    env = dict(session.env, PVE_API_TOKEN=ready["api_token"])
    argv = [session.args.pvebridge, "serve", GUEST, "--host", "127.0.0.1:%d" % ready["port"],
            "--fingerprint", ready["fingerprint"], "--json", "--verbose"]
    stdout_log, stderr_log = session.log_path("pvebridge-stdout.log"), session.log_path(
        "pvebridge.log")
    bridge = session.procs.start("pvebridge", argv, stderr_log, env=env,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    events = LineReader(bridge.stdout, stdout_log)
    listening = next_event(events, session, "listening")
    port, vv_file = listening["port"], listening["vv_file"]
    if listening.get("url") != "vnc://127.0.0.1:%d/" % port:
        raise TestFailure("serve's url is %r" % listening.get("url"))
    password, vv_text = vv_password(vv_file)
    check_no_node_secret(vv_text, "serve's .vv")

    def passwd_file(name, secret):
        path = session.log_path(name)
        made = subprocess.run(["vncpasswd", "-f"], input=secret.encode(), capture_output=True,
                              check=True)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            f.write(made.stdout)
        return path

    good = passwd_file("passwd", password)
    viewers = []
    # One above the other (the screen is 1280x1024; each window is 640x480 plus its frame).
    for i, (y, encoding) in enumerate(((0, "Tight"), (520, "ZRLE"))):
        viewers.append(session.procs.start(
            "vncviewer-%d" % (i + 1),
            ["vncviewer", "-passwd", good, "-geometry", "640x480+0+%d" % y, "-AutoSelect=0",
             "-PreferredEncoding=" + encoding, "-NoJPEG", "-FullColor", "-Shared",
             "127.0.0.1::%d" % port],
            session.log_path("vncviewer-%d.log" % (i + 1)), env=session.env,
            stdin=subprocess.DEVNULL))
    first = next_event(events, session, "client_connected")
    second = next_event(events, session, "client_connected")
    if first.get("client") == second.get("client"):
        raise TestFailure("two clients with one id: %r %r" % (first, second))
    screen = dump_screen(session, mock, dump_dir)
    await_exact(session, (0, 0, 700, 515), screen, session.log_path("vncviewer-1.png"),
                "vncviewer 1 (Tight)")
    await_exact(session, (0, 515, 700, 509), screen, session.log_path("vncviewer-2.png"),
                "vncviewer 2 (ZRLE)")

    # A wrong password: refused and reported, and the two sessions go on.
    wrong = passwd_file("passwd-wrong", "A" * 8 if password != "A" * 8 else "B" * 8)
    session.procs.start("vncviewer-wrong",
                        ["vncviewer", "-passwd", wrong, "-geometry", "320x240+800+0",
                         "127.0.0.1::%d" % port],
                        session.log_path("vncviewer-wrong.log"), env=session.env,
                        stdin=subprocess.DEVNULL)
    failed = next_event(events, session, "local_auth_failed")
    log("wrong password refused: %r" % failed)
    for v in viewers:
        if v.poll() is not None:
            raise TestFailure("a vncviewer ended after another client's wrong password")
    if bridge.poll() is not None:
        raise TestFailure("serve ended after a wrong password")
    await_exact(session, (0, 0, 700, 515), screen, session.log_path("vncviewer-1-after.png"),
                "vncviewer 1 after the refusal")

    bridge.send_signal(signal.SIGTERM)
    code = wait_exit(bridge, session.deadline, "pvebridge serve")
    lines = events.rest(session.deadline, "the end of serve's output")
    if code != 143:
        raise TestFailure("serve exited %d on SIGTERM, not 143" % code)
    if os.path.exists(vv_file):
        raise TestFailure("serve left its .vv behind: " + vv_file)
    # The clients still connected at SIGTERM are summed up in the session's closed event.
    closed = [json.loads(l) for l in lines if '"event":"closed"' in l]
    if len(closed) != 1 or closed[0].get("reason") != "interrupted" or \
            closed[0].get("bytes_from_guest", 0) <= 0:
        raise TestFailure("expected one closed event (interrupted, bytes from the guest), got %r"
                          % lines)
    for path in (stdout_log, stderr_log):
        with open(path, errors="replace") as f:
            text = f.read()
        check_no_node_secret(text, path)
        if password in text:
            raise TestFailure("the local password is in %s without --show-password" % path)
    log("serve exited 143; no .vv left; no secret in its output")


def run_remote_viewer(session):
    mock, ready, dump_dir = start_frozen_mock(session)
    env = dict(session.env, PVE_API_TOKEN=ready["api_token"])
    argv = [session.args.pvebridge, "connect", GUEST, "--host", "127.0.0.1:%d" % ready["port"],
            "--fingerprint", ready["fingerprint"], "--json", "--verbose"]
    stdout_log, stderr_log = session.log_path("pvebridge-stdout.log"), session.log_path(
        "pvebridge.log")
    bridge = session.procs.start("pvebridge", argv, stderr_log, env=env,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    events = LineReader(bridge.stdout, stdout_log)
    listening = next_event(events, session, "listening")
    if listening.get("local_auth") != "vnc_password":
        raise TestFailure("local_auth is %r" % listening.get("local_auth"))
    _, vv_text = vv_password(listening["vv_file"])
    check_no_node_secret(vv_text, "the .vv")
    next_event(events, session, "client_connected")
    sighting = viewer_user.await_picture(session.display, GUEST, session.deadline,
                                         session.log_path("viewer.png"), log)
    screen = dump_screen(session, mock, dump_dir)
    w = sighting.window
    await_exact(session, (w.x, w.y, w.width, w.height), screen,
                session.log_path("viewer-exact.png"), "remote-viewer's window")
    viewer_user.close_like_a_user(session.display, w, lambda: bridge.poll() is not None,
                                  session.deadline, session.log_path("close-dialog.png"), log)
    code = wait_exit(bridge, session.deadline, "pvebridge")
    events.rest(session.deadline, "the end of pvebridge's output")
    if code != 0:
        raise TestFailure("pvebridge exited %d after the viewer was closed" % code)
    for path in (stdout_log, stderr_log):
        with open(path, errors="replace") as f:
            check_no_node_secret(f.read(), path)
    log("pvebridge exited 0; no node secret in the .vv or its output")


def run_remote_viewer_qemu(session):
    mock = session.procs.start(
        "mock-pveproxy", [session.args.mock_pveproxy, "--listen", "127.0.0.1:0",
                          "--exit-on-stdin-eof", "--qemu", "--vnc-password", NODE_PASSWORD],
        session.log_path("mock-pveproxy.log"), env=session.env, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE)
    ready = json.loads(LineReader(mock.stdout).next_line(session.deadline, "mock-pveproxy ready"))
    env = dict(session.env, PVE_API_TOKEN=ready["api_token"])
    argv = [session.args.pvebridge, "serve", GUEST, "--host", "127.0.0.1:%d" % ready["port"],
            "--fingerprint", ready["fingerprint"], "--json"]
    stdout_log = session.log_path("pvebridge-stdout.log")
    bridge = session.procs.start("pvebridge", argv, session.log_path("pvebridge.log"), env=env,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    events = LineReader(bridge.stdout, stdout_log)
    listening = next_event(events, session, "listening")
    password, vv_text = vv_password(listening["vv_file"])
    check_no_node_secret(vv_text, "serve's .vv")
    pw_file = session.log_path("password")
    with os.fdopen(os.open(pw_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write(password + "\n")
    reference = session.log_path("libvncclient.ppm")

    def libvncclient_picture():
        """pvb-vnc-check's picture of QEMU's screen (a client of its own), once QEMU is in
        SeaBIOS's 720x400 text mode (libvncclient 0.9.14 cannot follow QEMU's mode switch)."""
        while True:
            done = subprocess.run(
                [session.args.vnc_check, "127.0.0.1:%d" % listening["port"], "--password-file",
                 pw_file, "--encodings", "zrle raw", "--seconds", "1", "--out", reference],
                capture_output=True, text=True, env=session.env,
                timeout=max(1, session.deadline.left()))
            if done.returncode == 0 and ", 720x400" in done.stderr:
                return read_ppm(reference)
            if session.deadline.expired():
                raise TestFailure("pvb-vnc-check never saw QEMU's 720x400 screen: " + done.stderr)
            time.sleep(session.deadline.left(_POLL_SECONDS))

    libvncclient_picture()  # QEMU is up and in text mode before the viewer starts
    viewer = session.procs.start(
        "remote-viewer", ["remote-viewer", listening["vv_file"]], env=session.env,
        stdin=subprocess.DEVNULL, log_path=session.log_path("remote-viewer.log"))
    window = None
    while window is None:
        window = next((w for w in viewer_user.viewer_windows(session.display)
                       if w.width >= 720 and w.height >= 400), None)
        if window is None:
            if session.deadline.expired() or viewer.poll() is not None:
                raise TestFailure("no remote-viewer window of QEMU's size appeared")
            time.sleep(session.deadline.left(_POLL_SECONDS))
    # SeaBIOS rewrites its text now and then: take the reference again until both agree.
    while True:
        picture = libvncclient_picture()
        try:
            image = session.display.capture(window.x, window.y, window.width, window.height)
        except X11Error as e:
            log("capture failed (window changing?): %s" % e)
            image = None
        if image is not None and find_exact(image, picture) is not None:
            screen_picture.write_png(image, session.log_path("viewer.png"))
            screen_picture.write_png(picture, session.log_path("libvncclient.png"))
            log("remote-viewer's window shows exactly libvncclient's picture of QEMU's screen")
            break
        if session.deadline.expired():
            if image is not None:
                screen_picture.write_png(image, session.log_path("viewer.png"))
            screen_picture.write_png(picture, session.log_path("libvncclient.png"))
            raise TestFailure("remote-viewer's window and libvncclient's picture of QEMU differ "
                              "(viewer.png, libvncclient.png)")
        time.sleep(session.deadline.left(_POLL_SECONDS))
    connected = 0
    bridge.send_signal(signal.SIGTERM)
    code = wait_exit(bridge, session.deadline, "pvebridge serve")
    for line in events.rest(session.deadline, "the end of serve's output"):
        connected += '"client_connected"' in line
        check_no_node_secret(line, "serve's output")
    if code != 143:
        raise TestFailure("serve exited %d on SIGTERM, not 143" % code)
    log("serve exited 143 after %d more clients" % connected)
    mock.stdin.close()
    wait_exit(mock, session.deadline, "mock-pveproxy")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=("tigervnc-serve", "remote-viewer",
                                           "remote-viewer-qemu"), required=True)
    parser.add_argument("--work", required=True, help="directory for logs and screenshots")
    parser.add_argument("--pvebridge", required=True)
    parser.add_argument("--mock-pveproxy", required=True)
    parser.add_argument("--vnc-check", help="pvb-vnc-check (remote-viewer-qemu)")
    parser.add_argument("--timeout", type=float, default=90, help="seconds for the whole run")
    args = parser.parse_args()

    missing = rvi.missing_prerequisites()
    if args.mode == "remote-viewer-qemu":
        if shutil.which("qemu-system-x86_64") is None:
            missing.append("qemu-system-x86_64")
        if not args.vnc_check:
            missing.append("pvb-vnc-check (libvncserver-dev at build time)")
    if args.mode == "tigervnc-serve":
        missing = [m for m in missing if m != "remote-viewer"]
        missing += [p for p in ("vncviewer", "vncpasswd") if shutil.which(p) is None]
    if missing:
        print("SKIP: not installed: %s (apt-get install xvfb virt-viewer tigervnc-viewer "
              "tightvncpasswd)" % ", ".join(missing))
        return rvi.SKIP

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, _f: sys.exit(128 + s))
    session = rvi.Session(args)
    started = time.monotonic()
    try:
        session.seed_viewer_settings(ask_quit=False)
        session.start_xvfb()
        if args.mode == "tigervnc-serve":
            run_tigervnc_serve(session)
        elif args.mode == "remote-viewer":
            run_remote_viewer(session)
        else:
            run_remote_viewer_qemu(session)
    except (TestFailure, X11Error, subprocess.CalledProcessError,
            subprocess.TimeoutExpired) as e:
        log("FAILED: %s (logs and screenshots in %s)" % (e, session.work))
        return 1
    finally:
        session.close()
    log("passed in %.1f s (screenshots in %s)" % (time.monotonic() - started, session.work))
    return 0


if __name__ == "__main__":
    sys.exit(main())
