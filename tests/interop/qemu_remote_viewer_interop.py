#!/usr/bin/env python3
"""Interop: the real remote-viewer, launched by pvebridge, on a console that mock-pveproxy --qemu
relays to a real QEMU, on a private Xvfb display.

`pvebridge connect web01 --json` against the mock: remote-viewer must show QEMU's screen (the
guest has no disk: SeaBIOS's text on black; a screenshot is saved in --work), then the window is
closed as a user does; remote-viewer and pvebridge must exit 0 (viewer_exited code 0, closed by
viewer_exited), and the mock must have set the console's password in QEMU over QMP.

Exit status: 0 passed, 1 failed, 77 skipped (Xvfb, remote-viewer, libX11/libXtst or
qemu-system-x86_64 missing: `apt-get install xvfb virt-viewer qemu-system-x86`). Every wait has a
deadline; everything started is stopped (the mock stops its QEMU).
"""

import argparse
import json
import shutil
import signal
import subprocess
import sys
import time

import qemu_screen
import remote_viewer_interop as rvi
import screen_picture
import viewer_user
from processes import LineReader, TestFailure, wait_exit
from x11_display import X11Error

GUEST = "web01"
_POLL_SECONDS = 0.2  # X has no event for "the picture arrived": look again


def log(message):
    print("qemu-interop: " + message, flush=True)


def await_qemu_screen(session, title, png_path):
    """Waits until the viewer window titled `title...` shows QEMU's screen; saves the
    screenshot (also when it never does, to see what went wrong)."""
    display, deadline = session.display, session.deadline
    last_image = None
    while True:
        window = next((w for w in viewer_user.viewer_windows(display)
                       if w.title.startswith(title) and w.width >= 100 and w.height >= 100),
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
                log("QEMU's screen in window 0x%x %r %dx%d: %d display rows, %d text pixels; "
                    "screenshot %s" % (window.id, window.title, window.width, window.height,
                                       found.display_rows, found.text_pixels, png_path))
                return window
        if deadline.expired():
            break
        time.sleep(deadline.left(_POLL_SECONDS))
    if last_image is not None:
        screen_picture.write_png(last_image, png_path)
        raise TestFailure("the viewer window never showed QEMU's screen (see %s)" % png_path)
    raise TestFailure("no remote-viewer window titled %r appeared" % title)


def run(session):
    mock_log = session.log_path("mock-pveproxy.log")
    mock = session.procs.start(
        "mock-pveproxy", [session.args.mock_pveproxy, "--listen", "127.0.0.1:0",
                          "--exit-on-stdin-eof", "--qemu"],
        mock_log, env=session.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    ready = json.loads(LineReader(mock.stdout).next_line(session.deadline, "mock-pveproxy ready"))
    env = dict(session.env, PVE_API_TOKEN=ready["api_token"])  # a secret: never on argv
    argv = [session.args.pvebridge, "connect", GUEST, "--host", "127.0.0.1:%d" % ready["port"],
            "--fingerprint", ready["fingerprint"], "--json"]
    bridge = session.procs.start("pvebridge", argv, session.log_path("pvebridge.log"), env=env,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    events = LineReader(bridge.stdout, session.log_path("pvebridge-stdout.log"))
    rvi._next_event(events, session.deadline, "listening")
    rvi._next_event(events, session.deadline, "client_connected")

    window = await_qemu_screen(session, GUEST, session.log_path("viewer.png"))
    viewer_user.close_like_a_user(session.display, window, lambda: bridge.poll() is not None,
                                  session.deadline, session.log_path("close-dialog.png"), log)
    code = wait_exit(bridge, session.deadline, "pvebridge")
    exited = rvi._next_event(events, session.deadline, "viewer_exited")
    closed = rvi._next_event(events, session.deadline, "closed")
    if exited.get("code") != 0:
        raise TestFailure("remote-viewer exited %r (event %r)" % (exited.get("code"), exited))
    if closed.get("reason") != "viewer_exited":
        raise TestFailure("session closed for %r, not viewer_exited" % closed.get("reason"))
    if code != 0:
        raise TestFailure("pvebridge exited %d after the viewer was closed" % code)
    log("pvebridge exited 0; %d bytes from QEMU" % closed.get("bytes_from_guest", -1))

    mock.stdin.close()  # --exit-on-stdin-eof: the mock stops its QEMU and exits
    if wait_exit(mock, session.deadline, "mock-pveproxy") != 0:
        raise TestFailure("mock-pveproxy did not exit cleanly (see %s)" % mock_log)
    with open(mock_log, errors="replace") as f:
        text = f.read()
    for expected in ("qemu/100: VNC password set in QEMU, expires +30", "qemu 100: stopped"):
        if expected not in text:
            raise TestFailure("%r is not in the mock's log %s" % (expected, mock_log))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", required=True, help="directory for logs and screenshots")
    parser.add_argument("--pvebridge", required=True)
    parser.add_argument("--mock-pveproxy", required=True)
    parser.add_argument("--timeout", type=float, default=90, help="seconds for the whole run")
    args = parser.parse_args()

    missing = rvi.missing_prerequisites()
    if shutil.which("qemu-system-x86_64") is None:
        missing.append("qemu-system-x86_64")
    if missing:
        print("SKIP: not installed: %s (apt-get install xvfb virt-viewer qemu-system-x86)" %
              ", ".join(missing))
        return rvi.SKIP

    # A CTest timeout or ^C still runs the clean-up below.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, _f: sys.exit(128 + s))
    session = rvi.Session(args)
    started = time.monotonic()
    try:
        session.seed_viewer_settings(ask_quit=True)
        session.start_xvfb()
        run(session)
    except (TestFailure, X11Error) as e:
        log("FAILED: %s (logs and screenshots in %s)" % (e, session.work))
        return 1
    finally:
        session.close()
    log("passed in %.1f s (screenshots in %s)" % (time.monotonic() - started, session.work))
    return 0


if __name__ == "__main__":
    sys.exit(main())
