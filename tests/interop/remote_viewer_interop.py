#!/usr/bin/env python3
"""Interop: the real remote-viewer (virt-viewer) on a private Xvfb display.

Modes:
  direct    remote-viewer on a hand-written .vv against fake-vm: proves the X/viewer side alone.
  vv-file   mock-pveproxy + `pvebridge connect web01`, which launches remote-viewer on its
            private .vv file; the file must be gone once pvebridge has ended.
  vv-stdin  the same with --vv-stdin: the .vv goes to `remote-viewer -` and never touches disk.
  demo      ci/demo.sh's viewer path: `pvebridge connect web01` configured by PVE_HOST,
            PVE_FINGERPRINT and PVE_API_TOKEN only, human output.

In each: the viewer window must show the fake VM's colour bars (a screenshot is saved in --work),
then the window is closed as a user does, the viewer must exit 0 and, through pvebridge, so must
pvebridge (with viewer_exited code 0 in its --json events), no .vv file may be left and the API
token's secret must not appear in pvebridge's output.

Exit status: 0 passed, 1 failed, 77 skipped (Xvfb, remote-viewer or libX11/libXtst missing:
`apt-get install xvfb virt-viewer`). Every wait has a deadline; everything started is stopped.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import viewer_user
from processes import Deadline, LineReader, ProcessGroup, TestFailure, read_line, wait_exit
from x11_display import X11Display, X11Error, load_libraries

SKIP = 77
GUEST = "web01"
FAKE_VM_PASSWORD = "interop1"


def log(message):
    print("interop: " + message, flush=True)


def missing_prerequisites():
    missing = [p for p in ("Xvfb", "remote-viewer") if shutil.which(p) is None]
    if load_libraries() is None:
        missing.append("libX11/libXtst")
    return missing


class Session:
    """One test run: its directories, its processes and its display."""

    def __init__(self, args):
        self.args = args
        self.work = os.path.abspath(args.work)
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work)
        self.deadline = Deadline(args.timeout)
        self.procs = ProcessGroup(log)
        self.display = None
        self.env = self._private_environment()

    def _dir(self, name, mode=0o700):
        path = os.path.join(self.work, name)
        os.makedirs(path, exist_ok=True)
        os.chmod(path, mode)
        return path

    def _private_environment(self):
        """The developer's own settings (e.g. ask-quit=false) must not change what is tested;
        the temp and runtime dirs are private so the test can see every .vv written there."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PVE_", "XDG_", "DBUS_", "WAYLAND_"))}
        home = self._dir("home")
        env.update({
            "HOME": home,
            "XDG_CONFIG_HOME": os.path.join(home, ".config"),
            "XDG_CACHE_HOME": os.path.join(home, ".cache"),
            "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
            "XDG_RUNTIME_DIR": self._dir("runtime"),
            "TMPDIR": self._dir("tmp"),
            "GDK_BACKEND": "x11",
            "NO_AT_BRIDGE": "1",  # no accessibility bus to look for
            "GSETTINGS_BACKEND": "memory",
        })
        return env

    def close(self):
        if self.display is not None:
            self.display.close()
        self.procs.close()

    def seed_viewer_settings(self, ask_quit):
        """remote-viewer's settings file; ask-quit=false is a user who ticked "Do not ask me
        again" in the close confirmation."""
        path = os.path.join(self.env["XDG_CONFIG_HOME"], "virt-viewer")
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "settings"), "w") as f:
            f.write("[virt-viewer]\nask-quit=%s\n" % ("true" if ask_quit else "false"))

    def start_xvfb(self):
        """Xvfb on a free display it picks itself (-displayfd): no races over display numbers."""
        read_fd, write_fd = os.pipe()
        try:
            self.procs.start("Xvfb", ["Xvfb", "-displayfd", str(write_fd), "-screen", "0",
                                      "1280x1024x24", "-nolisten", "tcp", "-noreset"],
                             self.log_path("xvfb.log"), pass_fds=(write_fd,), env=self.env,
                             stdin=subprocess.DEVNULL)
        finally:
            os.close(write_fd)
        try:
            number = read_line(read_fd, Deadline(self.deadline.left(15)), "Xvfb's display number")
        finally:
            os.close(read_fd)
        name = ":" + number
        self.env["DISPLAY"] = name
        self.display = X11Display(load_libraries(), name)
        log("Xvfb ready on display " + name)

    def log_path(self, name):
        """Where logs and screenshots go: the work directory, kept after the run."""
        return os.path.join(self.work, name)


def run_direct(session):
    """remote-viewer straight against fake-vm on a hand-written .vv file."""
    fake_vm = session.procs.start(
        "fake-vm", [session.args.fake_vm, "--listen", "127.0.0.1:0", "--password",
                    FAKE_VM_PASSWORD, "--name", GUEST, "--exit-on-stdin-eof"],
        session.log_path("fake-vm.log"), env=session.env, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE)
    ready = json.loads(LineReader(fake_vm.stdout).next_line(session.deadline, "fake-vm ready"))
    title = GUEST + " (direct)"
    vv = session.log_path("direct.vv")
    with os.fdopen(os.open(vv, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write("[virt-viewer]\ntype=vnc\nhost=127.0.0.1\nport=%d\npassword=%s\ntitle=%s\n" %
                (ready["port"], FAKE_VM_PASSWORD, title))
    viewer = session.procs.start(
        "remote-viewer", ["remote-viewer", vv], env=session.env, stdin=subprocess.DEVNULL,
        log_path=session.log_path("remote-viewer.log"))
    sighting = viewer_user.await_picture(session.display, title, session.deadline,
                                         session.log_path("viewer.png"), log)
    viewer_user.close_like_a_user(session.display, sighting.window,
                                  lambda: viewer.poll() is not None, session.deadline,
                                  session.log_path("close-dialog.png"), log)
    code = wait_exit(viewer, session.deadline, "remote-viewer")
    if code != 0:
        raise TestFailure("remote-viewer exited %d after its window was closed" % code)
    log("remote-viewer exited 0")


def start_mock(session):
    mock = session.procs.start(
        "mock-pveproxy", [session.args.mock_pveproxy, "--listen", "127.0.0.1:0",
                          "--exit-on-stdin-eof"],
        session.log_path("mock-pveproxy.log"), env=session.env, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE)
    return json.loads(LineReader(mock.stdout).next_line(session.deadline, "mock-pveproxy ready"))


def vv_files_under(*dirs):
    found = []
    for top in dirs:
        for root, _, files in os.walk(top):
            found += [os.path.join(root, f) for f in files if f.endswith(".vv")]
    return found


def run_bridge(session, mode):
    """pvebridge connect web01 against the mock, launching the real remote-viewer."""
    ready = start_mock(session)
    host = "127.0.0.1:%d" % ready["port"]
    env = dict(session.env, PVE_API_TOKEN=ready["api_token"])  # a secret: never on argv
    argv = [session.args.pvebridge, "connect", GUEST]
    if mode == "demo":
        # ci/demo.sh's viewer path, to the letter: everything from the environment.
        env.update(PVE_HOST=host, PVE_FINGERPRINT=ready["fingerprint"])
    else:
        argv += ["--host", host, "--fingerprint", ready["fingerprint"], "--json"]
    if mode == "vv-stdin":
        argv.append("--vv-stdin")
    stdout_log = session.log_path("pvebridge-stdout.log")
    stderr_log = session.log_path("pvebridge.log")
    bridge = session.procs.start("pvebridge", argv, stderr_log, env=env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE)
    events = LineReader(bridge.stdout, stdout_log)

    vv_file = None
    if mode != "demo":
        listening = _next_event(events, session.deadline, "listening")
        vv_file = listening["vv_file"]
        if mode == "vv-stdin" and vv_file is not None:
            raise TestFailure("--vv-stdin reported a .vv file: %r" % vv_file)
        if mode == "vv-file" and not vv_file:
            raise TestFailure("no .vv file reported: %r" % listening)
        _next_event(events, session.deadline, "client_connected")

    # pvebridge's default title starts with the guest's name.
    sighting = viewer_user.await_picture(session.display, GUEST, session.deadline,
                                         session.log_path("viewer.png"), log)
    private_dirs = (session.env["TMPDIR"], session.env["XDG_RUNTIME_DIR"])
    if mode == "vv-stdin" and vv_files_under(*private_dirs):
        raise TestFailure("--vv-stdin wrote a .vv file: %r" % vv_files_under(*private_dirs))

    viewer_user.close_like_a_user(session.display, sighting.window,
                                  lambda: bridge.poll() is not None, session.deadline,
                                  session.log_path("close-dialog.png"), log)
    code = wait_exit(bridge, session.deadline, "pvebridge")
    if mode != "demo":
        exited = _next_event(events, session.deadline, "viewer_exited")
        closed = _next_event(events, session.deadline, "closed")
        if exited.get("code") != 0:
            raise TestFailure("remote-viewer exited %r (event %r)" % (exited.get("code"), exited))
        # remote-viewer closes its VNC connection just before it exits: pvebridge waits for the
        # exit status so that the exit is the reason.
        if closed.get("reason") != "viewer_exited":
            raise TestFailure("session closed for %r, not viewer_exited" % closed.get("reason"))
        log("%d bytes from the guest" % closed.get("bytes_from_guest", -1))
    events.rest(session.deadline, "the end of pvebridge's output")
    if code != 0:
        raise TestFailure("pvebridge exited %d after the viewer was closed" % code)
    if vv_file and os.path.exists(vv_file):
        raise TestFailure(".vv file left behind: " + vv_file)
    leftovers = vv_files_under(*private_dirs)
    if leftovers:
        raise TestFailure(".vv files left behind: %r" % leftovers)
    secret = ready["api_token"].split("=", 1)[1]
    for path in (stdout_log, stderr_log):
        with open(path, errors="replace") as f:
            if secret in f.read():
                raise TestFailure("the API token's secret is in " + path)
    log("pvebridge exited 0; no .vv left; no secret in its output")


def _next_event(events, deadline, name):
    """The next --json event named `name`; an `error` event or another closing one fails."""
    while True:
        line = events.next_line(deadline, "pvebridge's %s event" % name)
        try:
            event = json.loads(line)
        except ValueError:
            raise TestFailure("pvebridge printed a non-JSON line: %r" % line) from None
        if event.get("event") == name:
            return event
        if event.get("event") == "error":
            raise TestFailure("pvebridge error while waiting for %s: %r" % (name, event))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=("direct", "vv-file", "vv-stdin", "demo"),
                        required=True)
    parser.add_argument("--work", required=True, help="directory for logs and screenshots")
    parser.add_argument("--pvebridge")
    parser.add_argument("--mock-pveproxy")
    parser.add_argument("--fake-vm")
    parser.add_argument("--ask-quit", choices=("true", "false"), default="true",
                        help="remote-viewer's close confirmation (answered with OK when asked)")
    parser.add_argument("--timeout", type=float, default=90, help="seconds for the whole run")
    args = parser.parse_args()
    needed = ["fake_vm"] if args.mode == "direct" else ["pvebridge", "mock_pveproxy"]
    for name in needed:
        if not getattr(args, name):
            parser.error("--%s is needed for --mode %s" % (name.replace("_", "-"), args.mode))

    missing = missing_prerequisites()
    if missing:
        print("SKIP: not installed: %s (apt-get install xvfb virt-viewer)" % ", ".join(missing))
        return SKIP

    # A CTest timeout or ^C still runs the clean-up below.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, _f: sys.exit(128 + s))
    session = Session(args)
    started = time.monotonic()
    try:
        session.seed_viewer_settings(ask_quit=args.ask_quit == "true")
        session.start_xvfb()
        if args.mode == "direct":
            run_direct(session)
        else:
            run_bridge(session, args.mode)
    except (TestFailure, X11Error) as e:
        log("FAILED: %s (logs and screenshots in %s)" % (e, session.work))
        return 1
    finally:
        session.close()
    log("passed in %.1f s (screenshots in %s)" % (time.monotonic() - started, session.work))
    return 0


if __name__ == "__main__":
    sys.exit(main())
