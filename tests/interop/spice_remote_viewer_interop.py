#!/usr/bin/env python3
"""Interop: SPICE consoles (issue 16) with the real remote-viewer, launched by pvebridge, on a
real QEMU (-vga qxl -spice tls-port=...,x509-dir=...) behind mock-pveproxy's spiceproxy, on a
private Xvfb display.

The SPICE certificates are made here with the openssl command line (a CA, and a server
certificate whose subject is the .vv's host-subject), so the channels run TLS end to end between
remote-viewer and QEMU, verified by the .vv's ca and host-subject, as on Proxmox.

Modes:
  direct    the .vv's proxy is the mock's spiceproxy (--spice-proxy): remote-viewer goes there
  relay     --spice-relay: remote-viewer's CONNECTs go through pvebridge's loopback relay
  tinyproxy --proxy http://tinyproxy: the relay is automatic and carries each channel through
            Debian's tinyproxy (an independent HTTP CONNECT proxy) to the spiceproxy
  late      a viewer that starts after the password's life (mock --spice-password-life-s 2, the
            viewer delayed 4 s, --client-wait 3): pvebridge must end with exit 10 and say so
  expired   the same late viewer without the relay (pvebridge cannot see it): QEMU must refuse
            the expired password, which remote-viewer shows as its "Authentication required"
            dialog (and never QEMU's screen); pvebridge is then ended by SIGTERM (exit 143)

In the first three, the viewer's window must show QEMU's screen (SeaBIOS's text on black: a
screenshot is saved in --work and checked by qemu_screen.find_qemu_screen), then the window is
closed as a user does and pvebridge must exit 0. The time from starting pvebridge to the first
screenshot that shows QEMU's screen is logged ("first SPICE picture after ... s"; it includes
QEMU's own start, which the first channel triggers, and the 0.2 s polling of the window).

Exit status: 0 passed, 1 failed, 77 skipped (Xvfb, remote-viewer, libX11/libXtst, openssl,
qemu-system-x86_64 or, for tinyproxy, tinyproxy missing). Every wait has a deadline; everything
started is stopped.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

import qemu_screen
import remote_viewer_interop as rvi
import screen_picture
import viewer_user
from processes import LineReader, TestFailure, wait_exit
from x11_display import X11Error

GUEST = "web01"
TITLE = "VM 100 - web01"  # spiceproxy's title, which pvebridge keeps without --title
HOST_SUBJECT = "O=Proxmox Virtual Environment,OU=PVE Cluster Node,CN=pve1.mock"
_POLL_SECONDS = 0.2


def log(message):
    print("spice-interop: " + message, flush=True)


def make_certificates(session):
    """ca-cert.pem, server-cert.pem, server-key.pem for QEMU's x509-dir (ECDSA P-256)."""
    d = os.path.join(session.work, "spice-x509")
    os.makedirs(d, mode=0o700)

    def openssl(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca-key.pem", "-out", "ca-cert.pem", "-days", "2",
            "-subj", "/CN=pvebridge test SPICE CA")
    subject = "/" + "/".join(HOST_SUBJECT.split(","))
    openssl("req", *ec, "-keyout", "server-key.pem", "-out", "server.csr", "-subj", subject)
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca-cert.pem", "-CAkey", "ca-key.pem",
            "-CAcreateserial", "-out", "server-cert.pem", "-days", "2")
    return d


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_tinyproxy(session):
    port = free_port()
    conf = session.log_path("tinyproxy.conf")
    with open(conf, "w") as f:
        f.write("Port %d\nListen 127.0.0.1\nTimeout 60\nMaxClients 50\nAllow 127.0.0.1\n"
                "LogLevel Info\n" % port)
    proc = session.procs.start("tinyproxy", ["tinyproxy", "-d", "-c", conf],
                               session.log_path("tinyproxy.log"), env=session.env,
                               stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return "http://127.0.0.1:%d" % port, proc
        except OSError:
            time.sleep(0.1)
    raise TestFailure("tinyproxy did not start (see tinyproxy.log)")


def await_qemu_screen(session, png_path):
    display, deadline = session.display, session.deadline
    last_image = None
    while True:
        window = next((w for w in viewer_user.viewer_windows(display)
                       if w.title.startswith(TITLE) and w.width >= 100 and w.height >= 100),
                      None)
        if window is not None:
            try:
                last_image = display.capture(window.x, window.y, window.width, window.height)
            except X11Error as e:
                log("capture failed (window changing?): %s" % e)
                last_image = None
            found = qemu_screen.find_qemu_screen(last_image) if last_image else None
            if found is not None:
                screen_picture.write_png(last_image, png_path)
                log("QEMU's screen over SPICE in window 0x%x %r %dx%d: %d display rows, %d text "
                    "pixels; screenshot %s" % (window.id, window.title, window.width,
                                               window.height, found.display_rows,
                                               found.text_pixels, png_path))
                return window
        if deadline.expired():
            break
        time.sleep(deadline.left(_POLL_SECONDS))
    if last_image is not None:
        screen_picture.write_png(last_image, png_path)
        raise TestFailure("the viewer window never showed QEMU's screen (see %s)" % png_path)
    raise TestFailure("no remote-viewer window titled %r appeared" % TITLE)


def await_auth_refused(session):
    """Waits for remote-viewer's "Authentication required" dialog: QEMU refused the password.
    QEMU's screen must never show."""
    display, deadline = session.display, session.deadline
    while not deadline.expired():
        windows = viewer_user.viewer_windows(display)
        for w in windows:
            if w.title.startswith(TITLE) and w.width >= 100 and w.height >= 100:
                image = display.capture(w.x, w.y, w.width, w.height)
                if qemu_screen.find_qemu_screen(image) is not None:
                    screen_picture.write_png(image, session.log_path("viewer.png"))
                    raise TestFailure("QEMU's screen showed with an expired password")
        dialog = next((w for w in windows if w.title == "Authentication required"), None)
        if dialog is not None:
            time.sleep(deadline.left(0.5))  # mapped before it is painted: a picture for the log
            image = display.capture(dialog.x, dialog.y, dialog.width, dialog.height)
            screen_picture.write_png(image, session.log_path("auth-dialog.png"))
            log("QEMU refused the expired password: remote-viewer asks for one (%s)" %
                session.log_path("auth-dialog.png"))
            return
        time.sleep(deadline.left(_POLL_SECONDS))
    raise TestFailure("remote-viewer never said the expired password was refused")


def next_event(events, session, name):
    return rvi._next_event(events, session.deadline, name)


def run(session, mode):
    x509 = make_certificates(session)
    mock_log = session.log_path("mock-pveproxy.log")
    mock_args = [session.args.mock_pveproxy, "--listen", "127.0.0.1:0", "--exit-on-stdin-eof",
                 "--qemu", "--spice-x509-dir", x509, "--spice-host-subject", HOST_SUBJECT]
    if mode in ("late", "expired"):
        mock_args += ["--spice-password-life-s", "2"]
    # QEMU's QMP and VNC sockets live in the mock's private directory: a Unix socket path has
    # at most 107 bytes, which a deep build tree's work directory can exceed.
    short = tempfile.mkdtemp(prefix="pvb-spice-")
    session.cleanups.append(lambda: shutil.rmtree(short, ignore_errors=True))
    mock_env = dict(session.env, TMPDIR=short, XDG_RUNTIME_DIR=short)
    mock = session.procs.start("mock-pveproxy", mock_args, mock_log, env=mock_env,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    ready = json.loads(LineReader(mock.stdout).next_line(session.deadline, "mock-pveproxy ready"))
    env = dict(session.env, PVE_API_TOKEN=ready["api_token"])  # a secret: never on argv
    spice_proxy = "127.0.0.1:%d" % ready["spice_proxy_port"]
    argv = [session.args.pvebridge, "connect", GUEST, "--protocol", "spice",
            "--host", "127.0.0.1:%d" % ready["port"], "--fingerprint", ready["fingerprint"],
            "--spice-proxy", spice_proxy, "--json", "--verbose"]
    tinyproxy = None
    if mode == "relay":
        argv.append("--spice-relay")
    elif mode == "tinyproxy":
        url, tinyproxy = start_tinyproxy(session)
        argv += ["--proxy", url]  # API and SPICE both go through it; the relay is automatic
    if mode in ("late", "expired"):
        viewer = session.log_path("late-viewer.sh")
        with open(viewer, "w") as f:
            f.write("#!/bin/sh\nsleep 4\nexec remote-viewer \"$@\"\n")
        os.chmod(viewer, stat.S_IRWXU)
        argv += ["--viewer", viewer]
    if mode == "late":
        argv += ["--spice-relay", "--client-wait", "3"]

    started = time.monotonic()
    bridge = session.procs.start("pvebridge", argv, session.log_path("pvebridge.log"), env=env,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    events = LineReader(bridge.stdout, session.log_path("pvebridge-stdout.log"))
    listening = next_event(events, session, "listening")
    if listening.get("protocol") != "spice":
        raise TestFailure("not a SPICE console: %r" % listening)

    if mode == "late":
        error = next_event(events, session, "error")
        code = wait_exit(bridge, session.deadline, "pvebridge")
        if code != 10 or error.get("code") != "no_client":
            raise TestFailure("a late viewer: pvebridge exited %d with %r, not 10 no_client" %
                              (code, error))
        log("late viewer: exit 10, %r" % error.get("message"))
    elif mode == "expired":
        await_auth_refused(session)
        bridge.send_signal(signal.SIGTERM)
        code = wait_exit(bridge, session.deadline, "pvebridge")
        closed = next_event(events, session, "closed")
        if code != 143 or closed.get("reason") != "interrupted":
            raise TestFailure("pvebridge exited %d, closed %r after SIGTERM" % (code, closed))
        vv = listening.get("vv_file")
        if vv and os.path.exists(vv):
            raise TestFailure("the .vv %s outlived pvebridge" % vv)
    else:
        if mode != "direct":
            next_event(events, session, "client_connected")
        window = await_qemu_screen(session, session.log_path("viewer.png"))
        log("first SPICE picture after %.2f s (pvebridge started -> screenshot shows QEMU)" %
            (time.monotonic() - started))
        viewer_user.close_like_a_user(session.display, window, lambda: bridge.poll() is not None,
                                      session.deadline, session.log_path("close-dialog.png"), log)
        code = wait_exit(bridge, session.deadline, "pvebridge")
        exited = next_event(events, session, "viewer_exited")
        closed = next_event(events, session, "closed")
        if exited.get("code") != 0 or closed.get("reason") != "viewer_exited" or code != 0:
            raise TestFailure("pvebridge exited %d, viewer %r, closed %r" % (code, exited, closed))
        if mode != "direct" and closed.get("bytes_from_guest", 0) < 10000:
            raise TestFailure("the relay carried only %r bytes from QEMU" %
                              closed.get("bytes_from_guest"))
        log("pvebridge exited 0" + ("" if mode == "direct" else
                                    "; %r bytes from QEMU through the relay" %
                                    closed.get("bytes_from_guest")))

    mock.stdin.close()
    if wait_exit(mock, session.deadline, "mock-pveproxy") != 0:
        raise TestFailure("mock-pveproxy did not exit cleanly (see %s)" % mock_log)
    with open(mock_log, errors="replace") as f:
        text = f.read()
    if mode not in ("late", "expired") and "relayed to QEMU's SPICE port" not in text:
        raise TestFailure("the mock's spiceproxy relayed nothing to QEMU (see %s)" % mock_log)
    if "refused a CONNECT" in text:
        raise TestFailure("the mock's spiceproxy refused a CONNECT (see %s)" % mock_log)
    if tinyproxy is not None:
        tinyproxy.send_signal(signal.SIGTERM)
        with open(session.log_path("tinyproxy.log"), errors="replace") as f:
            tp = f.read()
        if "CONNECT" not in tp or spice_proxy.split(":")[1] not in tp:
            raise TestFailure("tinyproxy carried no CONNECT to the spiceproxy (see tinyproxy.log)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=("direct", "relay", "tinyproxy", "late", "expired"),
                        required=True)
    parser.add_argument("--work", required=True, help="directory for logs and screenshots")
    parser.add_argument("--pvebridge", required=True)
    parser.add_argument("--mock-pveproxy", required=True)
    parser.add_argument("--timeout", type=float, default=90, help="seconds for the whole run")
    args = parser.parse_args()

    missing = rvi.missing_prerequisites()
    for program in ["qemu-system-x86_64", "openssl"] + (
            ["tinyproxy"] if args.mode == "tinyproxy" else []):
        if shutil.which(program) is None:
            missing.append(program)
    if missing:
        print("SKIP: not installed: %s (apt-get install xvfb virt-viewer qemu-system-x86 openssl "
              "tinyproxy)" % ", ".join(missing))
        return rvi.SKIP

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, _f: sys.exit(128 + s))
    session = rvi.Session(args)
    session.cleanups = []
    started = time.monotonic()
    try:
        session.seed_viewer_settings(ask_quit=True)
        session.start_xvfb()
        run(session, args.mode)
    except (TestFailure, X11Error, subprocess.SubprocessError) as e:
        log("FAILED: %s (logs and screenshots in %s)" % (e, session.work))
        return 1
    finally:
        session.close()
        for cleanup in session.cleanups:
            cleanup()
    log("passed in %.1f s (screenshots in %s)" % (time.monotonic() - started, session.work))
    return 0


if __name__ == "__main__":
    sys.exit(main())
