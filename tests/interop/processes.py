"""Child processes for the interop test: each in its own process group, killed on every way
out, and never outliving the test (PR_SET_PDEATHSIG), so a crashed or killed test leaves no
Xvfb or viewer behind."""

import ctypes
import os
import queue
import select
import signal
import subprocess
import threading
import time

_PR_SET_PDEATHSIG = 1


class Deadline:
    """A point in time every wait is measured against, so the whole test is bounded."""

    def __init__(self, seconds):
        self._end = time.monotonic() + seconds

    def left(self, at_most=None):
        left = max(0.0, self._end - time.monotonic())
        return left if at_most is None else min(left, at_most)

    def expired(self):
        return self.left() == 0.0


class TestFailure(Exception):
    pass


def _die_with_parent():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class LineReader:
    """Lines of a child's output, read by a thread so waits can have deadlines."""

    def __init__(self, stream, log_path=None):
        self._lines = queue.Queue()
        self._log = open(log_path, "w") if log_path else None
        self._thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self._thread.start()

    def _run(self, stream):
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if self._log:
                self._log.write(line + "\n")
                self._log.flush()
            self._lines.put(line)
        self._lines.put(None)  # end of output

    def next_line(self, deadline, what):
        """The next line; TestFailure at the end of output or when the deadline passes."""
        line = self._next(deadline, what)
        if line is None:
            raise TestFailure("output ended before " + what)
        return line

    def line_within(self, seconds, what):
        """The next line if one comes within `seconds`, else None; TestFailure at the end of
        output."""
        try:
            line = self._lines.get(timeout=seconds)
        except queue.Empty:
            return None
        if line is None:
            self._lines.put(None)
            raise TestFailure("output ended before " + what)
        return line

    def rest(self, deadline, what):
        """Every line up to the end of the output (all of it written to the log by then)."""
        lines = []
        while (line := self._next(deadline, what)) is not None:
            lines.append(line)
        return lines

    def _next(self, deadline, what):
        try:
            line = self._lines.get(timeout=deadline.left())
        except queue.Empty:
            raise TestFailure("timed out waiting for " + what) from None
        if line is None:
            self._lines.put(None)  # stays at the end for later callers
        return line


def read_line(fd, deadline, what):
    """One line from a pipe (e.g. Xvfb's -displayfd), without its newline."""
    data = b""
    while not data.endswith(b"\n"):
        readable, _, _ = select.select([fd], [], [], deadline.left())
        if not readable:
            raise TestFailure("timed out waiting for " + what)
        chunk = os.read(fd, 256)
        if not chunk:
            raise TestFailure("pipe closed before " + what)
        data += chunk
    return data.decode("utf-8", "replace").strip()


class ProcessGroup:
    """Every process the test started, stopped in reverse order by close()."""

    def __init__(self, log):
        self._log = log
        self._children = []

    def start(self, name, argv, log_path, **kwargs):
        """Starts argv with its stderr (and stdout, unless kwargs redirect it) in log_path."""
        self._log("start %s: %s" % (name, " ".join(argv)))
        with open(log_path, "w") as log_file:  # the child has its own copy of the descriptor
            kwargs.setdefault("stdout", log_file)
            child = subprocess.Popen(argv, start_new_session=True, preexec_fn=_die_with_parent,
                                     stderr=log_file, **kwargs)
        self._children.append((name, child))
        return child

    def close(self):
        for name, child in reversed(self._children):
            if child.poll() is None:
                self._log("stopping %s (pid %d)" % (name, child.pid))
                _signal_group(child, signal.SIGTERM)
                try:
                    child.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    _signal_group(child, signal.SIGKILL)
                    child.wait(timeout=3)
            # Whatever it left in its group (a viewer pvebridge started) goes too.
            _signal_group(child, signal.SIGKILL)
            # Its output pipes are left to their LineReader threads, which end at end of file.
            if child.stdin:
                child.stdin.close()
        self._children.clear()


def _signal_group(child, sig):
    try:
        os.killpg(child.pid, sig)
    except ProcessLookupError:
        pass


def wait_exit(child, deadline, what):
    """The child's exit status; TestFailure if it is still running at the deadline."""
    try:
        return child.wait(timeout=deadline.left())
    except subprocess.TimeoutExpired:
        raise TestFailure("timed out waiting for %s to exit" % what) from None
