#!/usr/bin/env python3
"""Interop: the real remote-viewer stays connected while pvebridge reconnects the console
upstream (issue 14), its window compared pixel for pixel with the fake VM's screen after each cut.

`pvebridge connect web01 --json --verbose` launches remote-viewer (virt-viewer, gtk-vnc) on a
private Xvfb; the mock's fake VM is frozen and dumps its screen on SIGUSR1 (as in
rfb_viewers_interop.py). The mock cuts armed consoles: SIGUSR2 arms the cut of the console open
at that moment and steps the frozen screen (the picture changes). remote-viewer (gtk-vnc 1.3.1)
asks for 32-bit true colour and Tight first (then ZRLE, Hextile, RRE, CopyRect, Raw; no JPEG
quality level, so lossless): the fake VM answers in Tight, and every reconnect depends on the
bridge resetting the Tight zlib streams (gtk-vnc gives up with "Failure decompressing data").

Modes:
  cuts    --fault cut_ws=random:3000,armed,mixed,times=20: twenty cuts, cycling through down at
          a random offset by TCP RST, the same by a WebSocket Close, up by RST, up by a Close.
          For each: SIGUSR2 every 0.3 s until pvebridge says `reconnecting`, then `reconnected`,
          then the window must come to show exactly the VM's current screen.
  grow    --fault cut_ws=random:3000,armed,rst,resize=800x600: the guest's screen becomes
          800x600 as its console is cut (by RST); after `reconnected` the window must show
          exactly the VM's new 800x600 screen, and the window must have changed size by as
          much (remote-viewer fits its window to the guest's screen; a scaled picture would
          not match, and a smaller picture alone fits in the old frame buffer).
  shrink  the same to 512x384, the console cut by a WebSocket Close.
  keys    a-z typed into the window (XTEST) while four consoles are cut as in `cuts`: the
          fake VM (--fake-vm-key-log) gets them in order, none twice, none left down, at most
          one lost per cut (a key already written to the console being cut).
  held-keys
          the strict form: Super_R held down (XTEST press, no release), the console cut, and
          once pvebridge says `reconnecting` (nothing can be in flight to the dead console)
          "pvebridge" typed while the reconnect waits out three refused vncproxy calls
          (--fault refuse_vncproxy=3: 0.25 + 0.5 + 1 s of backoff). The fake VM's key log must
          then be exactly: Super_R down, Super_R up (the bridge releases it on the new
          session), every typed key down and up in order. Nothing lost, nothing twice.
  qemu    a real QEMU behind the console, booting the echo guest (mock --qemu-echo-guest: a
          720x400 text screen without a cursor that changes only when a key is typed; each
          SIGUSR2 types one over QMP): --fault cut_ws=random:120,armed,mixed,times=6, each cut
          followed by the window showing exactly QEMU's own screendump (the mock asks QEMU for
          it on SIGUSR1), which must differ from the one the last cut ended with.
  dialog-check
          the window check itself: remote-viewer on a .vv whose port refuses shows its error
          dialog, and the check must report it (no pvebridge needed).

In each, at every look at the window: remote-viewer runs, shows no other top-level window (a
dialog) and its main window stays mapped, and pvebridge reports nothing but `reconnecting` and
`reconnected` (no client_closed, no viewer_exited). What a lost connection looks like in
remote-viewer 11 (found by killing pvebridge under it, by a cut with --reconnect 0, and by a
bridge that broke the Tight zlib streams: "Failure decompressing data"): once its VNC session
was initialized, it hides its window and exits 0, with no dialog; before that, it shows the
dialog "Unable to connect to the graphic server" (mode dialog-check proves the window check
reports that dialog). Then the window is closed as a user does: pvebridge exits 0 and its `closed`
event counts the reconnects. The node's password and any VNC ticket appear neither in the .vv
nor in pvebridge's output.

Exit status: 0 passed, 1 failed, 77 skipped (Xvfb, remote-viewer or libX11/libXtst missing).
Every wait has a deadline; everything started is stopped.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import remote_viewer_interop as rvi
import rfb_viewers_interop as rfb
import screen_picture
import viewer_user
from processes import Deadline, LineReader, TestFailure, wait_exit
from x11_display import X11Error

CUTS = 20
QEMU_CUTS = 6
FAULTS = {
    "cuts": "cut_ws=random:3000,armed,mixed,times=%d" % CUTS,
    "grow": "cut_ws=random:3000,armed,rst,resize=800x600",
    "shrink": "cut_ws=random:3000,armed,resize=512x384",
    "keys": "cut_ws=random:3000,armed,mixed,times=4",
    "held-keys": "cut_ws=random:3000,armed",
    "qemu": "cut_ws=random:120,armed,mixed,times=%d" % QEMU_CUTS,
}
TYPED = "abcdefghijklmnopqrstuvwxyz"
TYPED_WHILE_RECONNECTING = "pvebridge"
SUPER_R = 0xffec  # a modifier: no autorepeat while held, and it changes no letter's keysym
_ARM_EVERY_SECONDS = 0.3  # an offset past this step's update waits for the next step
_PER_CUT_SECONDS = 15.0
_POLL_SECONDS = 0.1
_REDUMP_SECONDS = 1.0


def log(message):
    print("reconnect-interop: " + message, flush=True)


def split_windows(display, main_id):
    """(the main window or None, every other mapped top-level window). remote-viewer's dialogs
    are top-level windows of their own; nothing else draws on this private display."""
    windows = display.top_level_windows()
    main = next((w for w in windows if w.id == main_id), None)
    return main, [w for w in windows if w.id != main_id]


def expect_main_window_only(session, main_id, label):
    """The main window; TestFailure (with a screenshot) if it is not mapped or anything else
    is: a dialog, or remote-viewer's window hidden as it does when its connection ends."""
    main, others = split_windows(session.display, main_id)
    if main is not None and not others:
        return main
    png = session.log_path("dialog-%s.png" % label)
    screen_picture.write_png(session.display.capture(), png)
    seen = ", ".join("%r (%s, %dx%d)" % (w.title, w.wm_class, w.width, w.height) for w in others)
    what = ("remote-viewer shows another window besides its main one: " + seen if main else
            "remote-viewer's main window is gone" + (", it shows " + seen if seen else ""))
    raise TestFailure("%s: %s (screen %s)" % (label, what, png))


def _proc_stat(pid):
    """(command, state, parent pid) of a process from /proc, or None once it is gone."""
    try:
        with open("/proc/%s/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return stat[stat.index("(") + 1:stat.rindex(")")], fields[0], int(fields[1])


def viewer_pids(bridge_pid):
    """pvebridge's remote-viewer children (running, not zombies)."""
    stats = {int(e): _proc_stat(e) for e in os.listdir("/proc") if e.isdigit()}
    return [pid for pid, st in stats.items()
            if st and st[0] == "remote-viewer" and st[1] != "Z" and st[2] == bridge_pid]


class Viewer:
    """remote-viewer as the test watches it: its main window and pvebridge's events."""

    def __init__(self, session, bridge, events, window, dump):
        self.session, self.bridge, self.events = session, bridge, events
        self.window = window
        self.dump = dump  # the VM's screen now (asks the mock)
        pids = viewer_pids(bridge.pid)
        if len(pids) != 1:
            raise TestFailure("pvebridge has %d remote-viewer children" % len(pids))
        self.pid = pids[0]

    def look(self, label):
        """The main window as it is now, after checking that remote-viewer is still there and
        shows nothing else: no dialog, its main window mapped, it and pvebridge running."""
        main = expect_main_window_only(self.session, self.window.id, label)
        if self.bridge.poll() is not None:
            raise TestFailure("%s: pvebridge exited %d" % (label, self.bridge.returncode))
        st = _proc_stat(self.pid)
        if st is None or st[1] == "Z" or st[2] != self.bridge.pid:
            raise TestFailure("%s: remote-viewer (pid %d) is not running" % (label, self.pid))
        self.window = main
        return main

    def next_event(self, seconds, label):
        """The next --json event within `seconds` or None; anything but reconnecting or
        reconnected (the viewer gone, an error, the session closing) fails the test."""
        line = self.events.line_within(seconds, "pvebridge's next event (%s)" % label)
        if line is None:
            return None
        event = json.loads(line)
        if event.get("event") not in ("reconnecting", "reconnected"):
            raise TestFailure("%s: pvebridge reported %r" % (label, event))
        return event

    def cut(self, mock, label):
        """Arms and steps until a cut strikes, then waits for the reconnect. The bridge says
        `reconnecting` only after its first backoff (0.25 s) when a console is lost soon after
        a reconnect: a step sent meanwhile can arm the next console too, which is then cut
        while the bridge resumes it, and the next call finds that `reconnecting` waiting.
        Losses and calls stay one to one."""
        deadline = Deadline(_PER_CUT_SECONDS)
        first, steps = self.arm_until_cut(mock, label, deadline)
        event = first
        while event["event"] != "reconnected":
            event = self.next_event(deadline.left(), label)
            if event is None:
                raise TestFailure("%s: no reconnected within %.0f s of %r" %
                                  (label, _PER_CUT_SECONDS, first))
        log("%s: cut after %d steps (%s), reconnected after %d attempts in %d ms" %
            (label, steps, first.get("reason"), event.get("attempts"),
             event.get("downtime_ms")))

    def arm_until_cut(self, mock, label, deadline):
        """(pvebridge's `reconnecting` event, the steps it took): SIGUSR2 to the mock every
        _ARM_EVERY_SECONDS (arming the live console's cut and stepping the screen) until the
        cut strikes."""
        event, steps = None, 0
        while event is None:
            if deadline.expired():
                raise TestFailure("%s: no cut struck after %d steps" % (label, steps))
            mock.send_signal(signal.SIGUSR2)
            steps += 1
            event = self.next_event(_ARM_EVERY_SECONDS, label)
        if event["event"] != "reconnecting":
            raise TestFailure("%s: %r before any reconnecting" % (label, event))
        return event, steps

    def await_screen(self, previous, label):
        """Polls the window until it contains exactly the VM's screen, checking at every look
        that no dialog appeared; returns (the window, that screen). The mock is asked for the
        screen again every second: a SIGUSR2 sent just before may not be handled yet (the
        kernel hands the mock a pending SIGUSR1 first). A screen equal to `previous` (the one
        the last cut ended with) is not taken: every cut steps the screen, so an old picture
        cannot pass."""
        deadline = Deadline(_PER_CUT_SECONDS)
        png = self.session.log_path("viewer-%s.png" % label)
        vm, dumped_at, image = None, 0.0, None
        while True:
            if vm is None or time.monotonic() - dumped_at >= _REDUMP_SECONDS:
                vm, dumped_at = self.dump(), time.monotonic()
            w = self.look(label)
            fresh = previous is None or (vm.width, vm.height, vm.rgb) != (
                previous.width, previous.height, previous.rgb)
            try:
                image = self.session.display.capture(w.x, w.y, w.width, w.height)
            except X11Error as e:
                log("capture failed (window changing?): %s" % e)
                image = None
            if fresh and image is not None and rfb.find_exact(image, vm) is not None:
                screen_picture.write_png(image, png)
                return w, vm
            if deadline.expired():
                break
            time.sleep(deadline.left(_POLL_SECONDS))
        if image is not None:
            screen_picture.write_png(image, png)
        if not fresh:
            raise TestFailure("%s: the VM's screen did not change across the cut" % label)
        raise TestFailure("%s: remote-viewer's window (%dx%d) never showed the VM's %dx%d screen "
                          "exactly (see %s)" % (label, w.width, w.height, vm.width, vm.height,
                                                png))


def start(session, fault, mock_args=()):
    """The mock with its frozen fake VM, and pvebridge launching remote-viewer; returns once
    the window shows the VM's screen exactly."""
    mock, dump_dir, bridge, events = start_bridge(session, ("--fault", fault, *mock_args))
    sighting = viewer_user.await_picture(session.display, rfb.GUEST, session.deadline,
                                         session.log_path("viewer.png"), log)
    viewer = Viewer(session, bridge, events, sighting.window,
                    lambda: rfb.dump_screen(session, mock, dump_dir))
    _, vm = viewer.await_screen(None, "first")
    log("remote-viewer's window 0x%x shows the VM's screen exactly" % viewer.window.id)
    return mock, viewer, vm


def start_bridge(session, mock_args, mock_env=None):
    """mock-pveproxy (with mock_args) and `pvebridge connect` launching remote-viewer, up to
    the viewer's connection; checks that the .vv holds no node secret."""
    mock, ready, dump_dir = rfb.start_frozen_mock(session, mock_args, mock_env)
    env = dict(session.env, PVE_API_TOKEN=ready["api_token"])
    argv = [session.args.pvebridge, "connect", rfb.GUEST, "--host",
            "127.0.0.1:%d" % ready["port"], "--fingerprint", ready["fingerprint"], "--json",
            "--verbose"]
    bridge = session.procs.start("pvebridge", argv, session.log_path("pvebridge.log"), env=env,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    events = LineReader(bridge.stdout, session.log_path("pvebridge-stdout.log"))
    listening = rfb.next_event(events, session, "listening")
    _, vv_text = rfb.vv_password(listening["vv_file"])
    rfb.check_no_node_secret(vv_text, "the .vv")
    rfb.next_event(events, session, "client_connected")
    return mock, dump_dir, bridge, events


def run_cuts(session):
    mock, viewer, vm = start(session, FAULTS["cuts"])
    for i in range(1, CUTS + 1):
        label = "cut-%02d" % i
        viewer.cut(mock, label)
        _, vm = viewer.await_screen(vm, label)
    screen_picture.write_png(session.display.capture(), session.log_path("after-cuts.png"))
    finish(session, viewer, CUTS)


def run_qemu(session):
    """The cuts with a real QEMU behind the console: its window compared with QEMU's own
    screendump after each (QEMU's Tight, zlib streams and all). The echo guest's screen moves
    only with the keys each step types, which also carry the down cuts, so each cut must end
    with a picture the last one did not have."""
    # QEMU's QMP socket goes in the mock's runtime dir: a path of at most 107 bytes.
    mock_env = dict(session.env, XDG_RUNTIME_DIR=session.args.short_dir)
    mock, dump_dir, bridge, events = start_bridge(
        session, ("--qemu-echo-guest", "--fault", FAULTS["qemu"]), mock_env)
    window = None
    while window is None:  # SeaBIOS's 720x400 text screen, in its header bar and border
        window = next((w for w in viewer_user.viewer_windows(session.display)
                       if w.width >= 720 and w.height >= 400), None)
        if window is None:
            if session.deadline.expired():
                raise TestFailure("no remote-viewer window of QEMU's text screen appeared")
            time.sleep(_POLL_SECONDS)
    viewer = Viewer(session, bridge, events, window,
                    lambda: qemu_screen(session, mock, dump_dir))
    _, screen = viewer.await_screen(None, "first")
    log("remote-viewer's window 0x%x shows QEMU's screen exactly" % viewer.window.id)
    for i in range(1, QEMU_CUTS + 1):
        label = "cut-%02d" % i
        viewer.cut(mock, label)
        _, screen = viewer.await_screen(screen, label)
    finish(session, viewer, QEMU_CUTS)


def qemu_screen(session, mock, dump_dir):
    """QEMU's screen now: the mock has QEMU write DIR/100.ppm (QMP screendump) on SIGUSR1.
    QEMU writes the file in place: it is read once whole."""
    path = os.path.join(dump_dir, "100.ppm")
    if os.path.exists(path):
        os.unlink(path)
    mock.send_signal(signal.SIGUSR1)
    while True:
        try:
            return rfb.read_ppm(path)
        except (OSError, TestFailure, ValueError, IndexError):
            if session.deadline.expired():
                raise TestFailure("the mock wrote no whole screendump of QEMU") from None
            time.sleep(0.05)


def run_keys(session):
    """Types TYPED into the window (XTEST, a key every 0.15 s) while the consoles are cut (a
    step armed every third key): the fake VM gets the keys in the order typed, none pressed
    twice, none left down; a key already written to a console being cut may be lost with it,
    at most one per cut."""
    key_log = session.log_path("keys.log")
    mock, viewer, vm = start(session, FAULTS["keys"], ("--fake-vm-key-log", key_log))
    w = viewer.window
    session.display.click(w.x + w.width // 2, w.y + w.height // 2)  # the keyboard focus
    losses = reconnects = 0

    def count(event):
        nonlocal losses, reconnects
        if event["event"] == "reconnecting" and event.get("attempt") == 1:
            losses += 1
        elif event["event"] == "reconnected":
            reconnects += 1

    for i, ch in enumerate(TYPED):
        if i % 3 == 0:
            mock.send_signal(signal.SIGUSR2)
        session.display.key(ord(ch), True)
        time.sleep(0.05)
        session.display.key(ord(ch), False)
        time.sleep(0.1)
        while (event := viewer.next_event(0, "typing")) is not None:
            count(event)
        viewer.look("typing")
    deadline = Deadline(_PER_CUT_SECONDS)
    while reconnects < losses:
        event = viewer.next_event(deadline.left(), "the last reconnect")
        if event is None:
            raise TestFailure("no reconnected after the last of %d cuts" % losses)
        count(event)
    if losses < 2:
        raise TestFailure("only %d cuts struck while typing" % losses)
    pressed, down = typed_keys(key_log, deadline)
    log("%d cuts while typing %r; the VM got %r" % (losses, TYPED, pressed))
    if down:
        raise TestFailure("keys left down: %r" % sorted(down))
    at = 0
    for ch in pressed:  # in order and none twice: a subsequence of what was typed
        at = TYPED.find(ch, at) + 1
        if at == 0:
            raise TestFailure("the VM got %r: out of order or repeated" % pressed)
    if len(pressed) + losses < len(TYPED):
        raise TestFailure("the VM got %r: more than one key lost per cut" % pressed)
    viewer.await_screen(vm, "keys")
    finish(session, viewer, losses)


def run_held_keys(session):
    """Keys typed while the bridge is between consoles all arrive, in order, after the release
    of a key held across the cut (see the module's doc)."""
    key_log = session.log_path("keys.log")
    mock, viewer, vm = start(session, FAULTS["held-keys"],
                             ("--fake-vm-key-log", key_log, "--fault", "refuse_vncproxy=3"))
    w = viewer.window
    session.display.click(w.x + w.width // 2, w.y + w.height // 2)  # the keyboard focus
    session.display.key(SUPER_R, True)
    held = "100 down 0x%08x" % SUPER_R
    deadline = Deadline(_PER_CUT_SECONDS)
    while read_lines(key_log) != [held]:
        if deadline.expired():
            raise TestFailure("the held key never reached the VM alone: %r" % read_lines(key_log))
        time.sleep(_POLL_SECONDS)
    viewer.arm_until_cut(mock, "the cut", deadline)
    for ch in TYPED_WHILE_RECONNECTING:
        session.display.key(ord(ch), True)
        time.sleep(0.02)
        session.display.key(ord(ch), False)
        time.sleep(0.02)
    viewer.look("typed")
    # What makes this strict: every key went out while the bridge was between consoles.
    while (event := viewer.next_event(0, "typing")) is not None:
        if event["event"] == "reconnected":
            raise TestFailure("the reconnect was over before the typing: %r" % event)
    while event is None or event["event"] != "reconnected":
        event = viewer.next_event(deadline.left(), "the reconnect")
        if event is None:
            raise TestFailure("no reconnected within %.0f s" % _PER_CUT_SECONDS)
    want = [held, "100 up 0x%08x" % SUPER_R]
    for ch in TYPED_WHILE_RECONNECTING:
        want += ["100 down 0x%08x" % ord(ch), "100 up 0x%08x" % ord(ch)]
    while read_lines(key_log) != want and not deadline.expired():
        time.sleep(_POLL_SECONDS)
    got = read_lines(key_log)
    if got != want:
        raise TestFailure("the VM's key log is not the held key's release then every typed key "
                          "in order:\n%s" % "\n".join(got))
    log("typed %r while pvebridge reconnected (%d attempts, %d ms): the VM got the held "
        "Super_R's release, then all of them in order" %
        (TYPED_WHILE_RECONNECTING, event.get("attempts"), event.get("downtime_ms")))
    session.display.key(SUPER_R, False)
    viewer.await_screen(vm, "held-keys")
    finish(session, viewer, 1)


def read_lines(path):
    with open(path) as f:
        return f.read().splitlines()


def typed_keys(key_log, deadline):
    """(the keys pressed, in order, as text; the keysyms left down) from the fake VM's key log,
    once the last typed key has come and gone."""
    last = "%s 0x%08x" % ("up", ord(TYPED[-1]))
    while True:
        with open(key_log) as f:
            lines = f.read().splitlines()
        if any(line.endswith(last) for line in lines) or deadline.expired():
            break
        time.sleep(_POLL_SECONDS)
    pressed, down = "", set()
    for line in lines:
        _, what, keysym = line.split()
        key = int(keysym, 16)
        if what == "down":
            if key in down:
                raise TestFailure("0x%x pressed twice without a release:\n%s" %
                                  (key, "\n".join(lines)))
            down.add(key)
            pressed += chr(key) if key < 0x80 else "?"
        else:
            down.discard(key)
    return pressed, down


def run_resize(session):
    fault = FAULTS[session.args.mode]
    size = tuple(int(n) for n in fault.rsplit("=", 1)[1].split("x"))
    mock, viewer, first = start(session, fault)
    before = (viewer.window.width, viewer.window.height)
    viewer.cut(mock, "resize")
    _, vm = viewer.await_screen(first, "resize")
    if (vm.width, vm.height) != size:
        raise TestFailure("the VM's screen is %dx%d after the cut, not %dx%d" %
                          ((vm.width, vm.height) + size))
    # The picture alone does not show that the viewer learnt the size: a smaller one also fits
    # in the old frame buffer. remote-viewer fits its window to the guest's screen (header bar
    # and border around it), so its window must change by what the screen did.
    fitted = (before[0] + size[0] - first.width, before[1] + size[1] - first.height)
    deadline = Deadline(_PER_CUT_SECONDS)
    while True:
        w = viewer.look("resize")
        if (w.width, w.height) == fitted:
            break
        if deadline.expired():
            raise TestFailure("remote-viewer's window is %dx%d, not %dx%d: it did not learn the "
                              "new size" % ((w.width, w.height) + fitted))
        time.sleep(_POLL_SECONDS)
    viewer.await_screen(first, "resize")
    log("remote-viewer's window went from %dx%d to %dx%d and shows the VM's %dx%d screen "
        "exactly" % (before + fitted + size))
    finish(session, viewer, 1)


def finish(session, viewer, reconnects):
    """Closes the window as a user does: pvebridge exits 0 and counts the reconnects."""
    bridge = viewer.bridge
    viewer.look("before-close")
    event = viewer.next_event(0, "before-close")
    if event is not None:
        raise TestFailure("before the close, pvebridge reported %r" % event)
    viewer_user.close_like_a_user(session.display, viewer.window,
                                  lambda: bridge.poll() is not None, session.deadline,
                                  session.log_path("close-dialog.png"), log)
    code = wait_exit(bridge, session.deadline, "pvebridge")
    lines = viewer.events.rest(session.deadline, "the end of pvebridge's output")
    if code != 0:
        raise TestFailure("pvebridge exited %d after the viewer was closed" % code)
    closed = [json.loads(l) for l in lines if '"event":"closed"' in l]
    if len(closed) != 1 or closed[0].get("reconnects") != reconnects:
        raise TestFailure("expected one closed event with reconnects %d: %r" %
                          (reconnects, lines))
    for path in (session.log_path("pvebridge-stdout.log"), session.log_path("pvebridge.log")):
        with open(path, errors="replace") as f:
            rfb.check_no_node_secret(f.read(), path)
    log("pvebridge exited 0 after %d reconnects; no node secret in the .vv or its output" %
        reconnects)


def run_dialog_check(session):
    """The check above on a real remote-viewer dialog: remote-viewer on a .vv whose port
    refuses shows "Unable to connect to the graphic server"; the check must report it."""
    with socket.socket() as s:  # a port that was free a moment ago refuses connections
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    vv = session.log_path("refused.vv")
    with open(vv, "w") as f:
        f.write("[virt-viewer]\ntype=vnc\nhost=127.0.0.1\nport=%d\n" % port)
    viewer = session.procs.start("remote-viewer", ["remote-viewer", vv],
                                 session.log_path("remote-viewer.log"), env=session.env,
                                 stdin=subprocess.DEVNULL)
    while not split_windows(session.display, None)[1]:
        if session.deadline.expired() or viewer.poll() is not None:
            raise TestFailure("remote-viewer showed no dialog on a refused connection")
        time.sleep(_POLL_SECONDS)
    try:
        expect_main_window_only(session, None, "refused")
    except TestFailure as e:
        if "(remote-viewer, " not in str(e):
            raise TestFailure("the check failed, but not on remote-viewer's dialog: %s" % e)
        log("the window check reports remote-viewer's error dialog: %s" % e)
        return
    raise TestFailure("the window check did not notice remote-viewer's error dialog")


def log_viewer_errors(session):
    """What remote-viewer said (pvebridge --verbose passes its stderr on): e.g. gtk-vnc's
    "Failure decompressing data" when it gave up."""
    try:
        with open(session.log_path("pvebridge.log"), errors="replace") as f:
            said = [l.rstrip() for l in f if "viewer: " in l and not l.rstrip().endswith(":")]
    except OSError:
        return
    for line in said[-5:]:
        log("  " + line)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=sorted(FAULTS) + ["dialog-check"], required=True)
    parser.add_argument("--work", required=True, help="directory for logs and screenshots")
    parser.add_argument("--pvebridge")
    parser.add_argument("--mock-pveproxy")
    parser.add_argument("--timeout", type=float, default=120, help="seconds for the whole run")
    args = parser.parse_args()
    if args.mode != "dialog-check" and not (args.pvebridge and args.mock_pveproxy):
        parser.error("--pvebridge and --mock-pveproxy are needed for --mode " + args.mode)

    missing = rvi.missing_prerequisites()
    if args.mode == "qemu" and shutil.which("qemu-system-x86_64") is None:
        missing.append("qemu-system-x86_64")
    if missing:
        print("SKIP: not installed: %s (apt-get install xvfb virt-viewer qemu-system-x86)" %
              ", ".join(missing))
        return rvi.SKIP

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, _f: sys.exit(128 + s))
    session = rvi.Session(args)
    args.short_dir = tempfile.mkdtemp(prefix="pvb-rv-")  # private (0700), near the root
    started = time.monotonic()
    try:
        session.seed_viewer_settings(ask_quit=False)
        session.start_xvfb()
        {"cuts": run_cuts, "grow": run_resize, "shrink": run_resize, "keys": run_keys,
         "held-keys": run_held_keys, "qemu": run_qemu,
         "dialog-check": run_dialog_check}[args.mode](session)
    except (TestFailure, X11Error, subprocess.CalledProcessError) as e:
        log("FAILED: %s (logs and screenshots in %s)" % (e, session.work))
        log_viewer_errors(session)
        return 1
    finally:
        session.close()
        shutil.rmtree(args.short_dir, ignore_errors=True)
    log("passed in %.1f s (screenshots in %s)" % (time.monotonic() - started, session.work))
    return 0


if __name__ == "__main__":
    sys.exit(main())
