#!/usr/bin/env python3
"""pvb-vnc-check (libvncclient) against the fake-vm program: every encoding the fake VM has, in
32 and 16 bpp, decodes to exactly the picture the VM dumps (JPEG within a tolerance); the screen
changes with the clock, steps when frozen, changes size (SIGHUP) and the client follows; typed
keys reach the VM's key log in order; and each failure has its own exit code.

    vnc_check_test.py --fake-vm PATH --check PATH
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

ARGS = None


def read_ppm(path):
    with open(path, "rb") as f:
        data = f.read()
    parts = data.split(maxsplit=4)
    assert parts[0] == b"P6" and parts[3] == b"255", path
    return int(parts[1]), int(parts[2]), parts[4]


class FakeVm:
    def __init__(self, work, *extra):
        self.dump = os.path.join(work, "vm-%d.ppm" % id(self))
        self.keys = os.path.join(work, "keys-%d.log" % id(self))
        self.proc = subprocess.Popen(
            [ARGS.fake_vm, "--password", "check-pw", "--dump-path", self.dump,
             "--key-log", self.keys] + list(extra),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.port = json.loads(self.proc.stdout.readline())["port"]

    def signal(self, sig):
        self.proc.send_signal(sig)

    def dump_now(self):
        if os.path.exists(self.dump):
            os.unlink(self.dump)
        self.signal(signal.SIGUSR1)
        deadline = time.time() + 10
        while not os.path.exists(self.dump):
            assert time.time() < deadline, "no dump"
            time.sleep(0.01)
        return self.dump

    def close(self):
        self.proc.terminate()
        code = self.proc.wait(timeout=10)
        self.proc.stdout.close()
        # 0 on SIGTERM; anything else (a sanitizer's report in an ASan build) is a failure.
        assert code == 0, "fake-vm exited with %d" % code


class VncCheckTest(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="pvb-vnc-check-")
        self.password_file = os.path.join(self.work, "pw")
        with open(self.password_file, "w") as f:
            f.write("check-pw\n")
        os.chmod(self.password_file, 0o600)
        self.vms = []

    def tearDown(self):
        for vm in self.vms:
            vm.close()

    def vm(self, *extra):
        vm = FakeVm(self.work, *extra)
        self.vms.append(vm)
        return vm

    def check(self, port, *args, password_file=None, stdin=None, timeout=60):
        cmd = [ARGS.check, "127.0.0.1:%d" % port]
        if stdin is None:
            cmd += ["--password-file", password_file or self.password_file]
        else:
            cmd += ["--password-stdin"]
        run = subprocess.run(cmd + list(args), input=stdin, capture_output=True, text=True,
                             timeout=timeout)
        return run.returncode, run.stderr

    def test_every_encoding_matches_the_vm_exactly(self):
        vm = self.vm("--freeze-at", "42")
        expected = vm.dump_now()
        for encodings in ["tight", "zrle", "hextile", "zlib", "raw",
                          "copyrect tight hextile zlib zrle raw"]:
            for bpp in ["32", "16"]:
                with self.subTest(encodings=encodings, bpp=bpp):
                    out = os.path.join(self.work, "out.ppm")
                    code, err = self.check(vm.port, "--encodings", encodings, "--bpp", bpp,
                                           "--updates", "3", "--expect", expected, "--out", out)
                    self.assertEqual(code, 0, err)
                    self.assertIn("matches (mean channel difference 0.000)", err)
                    self.assertEqual(read_ppm(out)[:2], (640, 480))

    def test_the_update_log_has_a_line_per_update_with_its_area(self):
        vm = self.vm()
        log = os.path.join(self.work, "updates.log")
        before = time.clock_gettime(time.CLOCK_MONOTONIC) * 1000
        code, err = self.check(vm.port, "--encodings", "tight", "--updates", "3",
                               "--update-log", log)
        after = time.clock_gettime(time.CLOCK_MONOTONIC) * 1000
        self.assertEqual(code, 0, err)
        with open(log) as f:
            lines = [l.split() for l in f.read().splitlines()]
        self.assertEqual(len(lines), 3, lines)
        times = [float(t) for t, _ in lines]
        self.assertEqual(times, sorted(times))
        self.assertTrue(before <= times[0] and times[-1] <= after, (before, times, after))
        # The first answers the non-incremental request: the whole 640x480 screen.
        self.assertEqual(int(lines[0][1]), 640 * 480)

    def test_jpeg_within_tolerance_and_not_exact(self):
        vm = self.vm("--freeze-at", "7")
        expected = vm.dump_now()
        code, err = self.check(vm.port, "--encodings", "tight", "--quality", "6",
                               "--expect", expected, "--tolerance", "4")
        self.assertEqual(code, 0, err)
        code, err = self.check(vm.port, "--encodings", "tight", "--quality", "6",
                               "--expect", expected)
        self.assertEqual(code, 6, "JPEG is lossy: an exact comparison fails\n" + err)

    def test_the_screen_changes_with_the_clock(self):
        vm = self.vm("--tick-ms", "100", "--incremental-delay-ms", "20")
        first = os.path.join(self.work, "first.ppm")
        second = os.path.join(self.work, "second.ppm")
        code, err = self.check(vm.port, "--encodings", "zrle", "--out", first)
        self.assertEqual(code, 0, err)
        time.sleep(0.3)
        code, err = self.check(vm.port, "--encodings", "zrle", "--seconds", "1", "--out", second)
        self.assertEqual(code, 0, err)
        summary = [line for line in err.split("\n") if " updates, " in line][0]
        updates = int(summary.split("pvb-vnc-check: ")[1].split(" updates")[0])
        rects = int(summary.split(" updates, ")[1].split(" rectangles")[0])
        self.assertGreaterEqual(updates, 5, err)
        # Every update carries the whole screen (ZRLE: bands of 64 rows, 8 for 480 rows).
        self.assertEqual(rects, 8 * updates, err)
        self.assertNotEqual(hash(read_ppm(first)[2]), hash(read_ppm(second)[2]))

    def test_a_frozen_screen_steps_and_the_client_follows(self):
        vm = self.vm("--freeze-at", "1", "--incremental-delay-ms", "20")
        before = hash(read_ppm(vm.dump_now())[2])
        vm.signal(signal.SIGUSR2)
        # Signals are handled in the VM's loop in no promised order: dump until the step shows.
        deadline = time.time() + 10
        while hash(read_ppm(vm.dump_now())[2]) == before:
            self.assertLess(time.time(), deadline, "SIGUSR2 did not change the frozen screen")
            time.sleep(0.05)
        expected = vm.dump_now()
        code, err = self.check(vm.port, "--encodings", "tight", "--seconds", "20",
                               "--expect", expected, "--until-match")
        self.assertEqual(code, 0, err)

    def test_a_resize_reaches_the_client(self):
        vm = self.vm("--freeze-at", "3", "--alt-size", "320x240", "--incremental-delay-ms", "20")
        out = os.path.join(self.work, "resized.ppm")
        result = {}

        def run():
            result["run"] = self.check(vm.port, "--encodings", "hextile", "--seconds", "3",
                                       "--out", out)

        t = threading.Thread(target=run)
        t.start()
        time.sleep(1)
        vm.signal(signal.SIGHUP)
        deadline = time.time() + 10
        while read_ppm(vm.dump_now())[:2] != (320, 240):  # the signals' order is not promised
            self.assertLess(time.time(), deadline, "SIGHUP did not resize the screen")
            time.sleep(0.05)
        expected = vm.dump
        t.join()
        code, err = result["run"]
        self.assertEqual(code, 0, err)
        width, height, pixels = read_ppm(out)
        self.assertEqual((width, height), (320, 240))
        self.assertTrue(pixels == read_ppm(expected)[2], "the client's picture is not the VM's")

    def test_sigusr1_writes_the_picture_during_the_run(self):
        vm = self.vm("--freeze-at", "2", "--incremental-delay-ms", "20")
        expected = vm.dump_now()
        out = os.path.join(self.work, "midway.ppm")
        check = subprocess.Popen([ARGS.check, "127.0.0.1:%d" % vm.port, "--password-file",
                                  self.password_file, "--encodings", "zlib", "--seconds", "30",
                                  "--out", out], stderr=subprocess.PIPE, text=True)
        try:
            self.assertIn("connected to", check.stderr.readline())  # SIGUSR1 is handled now
            # Each SIGUSR1 writes the picture as it is then: ask until the update has arrived.
            want = read_ppm(expected)[2]
            deadline = time.time() + 20
            while not (os.path.exists(out) and read_ppm(out)[2] == want):
                self.assertLess(time.time(), deadline, "no matching picture on SIGUSR1")
                check.send_signal(signal.SIGUSR1)
                time.sleep(0.2)
            self.assertIsNone(check.poll(), "the client keeps running after SIGUSR1")
        finally:
            check.terminate()
            check.communicate(timeout=10)

    def test_typed_keys_arrive_in_order(self):
        vm = self.vm("--freeze-at", "0")
        code, err = self.check(vm.port, stdin="check-pw\n", *["--type", "pve!", "--encodings",
                                                               "raw"])
        self.assertEqual(code, 0, err)
        deadline = time.time() + 5
        want = []
        for ch in "pve!":
            want += ["down 0x%08x" % ord(ch), "up 0x%08x" % ord(ch)]
        lines = []
        while time.time() < deadline:
            with open(vm.keys) as f:
                lines = f.read().split("\n")[:-1]
            if len(lines) >= len(want):
                break
            time.sleep(0.02)
        self.assertEqual(lines, want)

    def test_a_held_key_stays_down_and_typing_waits_for_sigusr2(self):
        vm = self.vm("--freeze-at", "0")
        check = subprocess.Popen([ARGS.check, "127.0.0.1:%d" % vm.port, "--password-file",
                                  self.password_file, "--encodings", "raw", "--seconds", "30",
                                  "--hold", "0xffe1", "--type", "ab", "--type-on-signal"],
                                 stderr=subprocess.PIPE, text=True)

        def key_lines():
            with open(vm.keys) as f:
                return f.read().split("\n")[:-1]

        try:
            self.assertIn("connected to", check.stderr.readline())
            self.assertIn("holding 0xffe1", check.stderr.readline())
            # Nothing is typed without the signal: only the held key, for half a second.
            time.sleep(0.5)
            self.assertEqual(key_lines(), ["down 0x0000ffe1"])
            check.send_signal(signal.SIGUSR2)
            self.assertIn("typed 2 keys", check.stderr.readline())
            want = ["down 0x0000ffe1", "down 0x00000061", "up 0x00000061", "down 0x00000062",
                    "up 0x00000062"]
            deadline = time.time() + 5
            while key_lines() != want and time.time() < deadline:
                time.sleep(0.02)
            self.assertEqual(key_lines(), want, "the held key is never released")
        finally:
            check.terminate()
            check.communicate(timeout=10)

    def test_exit_codes(self):
        vm = self.vm("--freeze-at", "0")
        wrong = os.path.join(self.work, "wrong")
        with open(wrong, "w") as f:
            f.write("not-it\n")
        self.assertEqual(self.check(vm.port, password_file=wrong)[0], 4)
        self.assertEqual(self.check(vm.port, password_file=os.path.join(self.work, "none"))[0], 7)
        # A port nobody listens on (bound, never listening).
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.assertEqual(self.check(s.getsockname()[1])[0], 3)
        s.close()
        self.assertEqual(self.check(vm.port, "--bpp", "24")[0], 2)
        self.assertEqual(self.check(vm.port, "--until-match")[0], 2)
        self.assertEqual(self.check(vm.port, "--hold", "shift")[0], 2)
        # Another tick's picture: a mismatch.
        other = self.vm("--freeze-at", "9")
        code, err = self.check(vm.port, "--expect", other.dump_now())
        self.assertEqual(code, 6, err)
        self.assertIn("pixels differ", err)

    def test_a_server_that_is_not_rfb_is_a_protocol_error(self):
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(1)

        def answer():
            conn, _ = server.accept()
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            time.sleep(0.5)
            conn.close()

        t = threading.Thread(target=answer)
        t.start()
        code, err = self.check(server.getsockname()[1])
        t.join()
        server.close()
        self.assertEqual(code, 5, err)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--fake-vm", required=True)
    parser.add_argument("--check", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest)


if __name__ == "__main__":
    main()
