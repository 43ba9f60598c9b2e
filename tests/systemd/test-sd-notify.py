#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""vmbalanced's sd_notify(3) protocol without systemd: a datagram socket as NOTIFY_SOCKET.

Usage: test-sd-notify.py PATH/TO/vmbalanced SRCDIR

Runs the daemon on the fake backend the way systemd would (NOTIFY_SOCKET, WATCHDOG_USEC,
WATCHDOG_PID) and checks what it reports: READY=1 once, STATUS= only when it changed,
WATCHDOG=1 every half interval, RELOADING=1 with MONOTONIC_USEC then READY=1 around a SIGHUP
(also a rejected one), STOPPING=1 on SIGTERM, every message from the daemon's own pid, and
the degraded reason in STATUS= while libvirt is unreachable.
"""
import contextlib
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

failures = 0
count = 0


def check(ok, what, detail=""):
    global failures, count
    count += 1
    print(("ok" if ok else "not ok") + f" {count} - {what}")
    if not ok:
        failures += 1
        if detail:
            print("# " + str(detail).replace("\n", "\n# "))


class Listener:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.log = []  # (monotonic time, sender pid, {key: value})

    def _recv(self, timeout):
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
        except socket.timeout:
            return None
        pid = None
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", payload[:12])[0]
        fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
        entry = (time.monotonic(), pid, fields)
        self.log.append(entry)
        return entry

    def wait_for(self, key, value=None, timeout=10.0):
        """Next message carrying KEY (=VALUE); every message on the way is logged."""
        deadline = time.monotonic() + timeout
        while True:
            entry = self._recv(deadline - time.monotonic())
            if entry is None:
                return None
            if key in entry[2] and (value is None or entry[2][key] == value):
                return entry

    def drain(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._recv(deadline - time.monotonic())


@contextlib.contextmanager
def running(binary, args, env, log_path, watchdog_pid_self=True):
    """The daemon as a child process; killed on the way out if it still runs."""
    # WATCHDOG_PID must be the daemon's pid: a shell sets it and execs the daemon.
    pid_expr = "$$" if watchdog_pid_self else "1"
    proc = subprocess.Popen(
        ["/bin/sh", "-c", f'WATCHDOG_PID={pid_expr}; export WATCHDOG_PID; exec "$@"', "sh",
         binary] + args,
        env=env, stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def daemon_log(path):
    with open(path) as f:
        return f.read()


def main():
    binary, src = sys.argv[1], sys.argv[2]
    tmp = tempfile.TemporaryDirectory()
    conf = os.path.join(tmp.name, "vmbalanced.conf")
    with open(conf, "w") as f:
        f.write("[daemon]\ninterval = 1\n")
    args = ["--config", conf, "--connect", f"fake://{src}/data/demo.ini", "--no-bus",
            "--state-dir", os.path.join(tmp.name, "state")]
    sock_path = os.path.join(tmp.name, "notify")
    listener = Listener(sock_path)
    env = dict(os.environ, NOTIFY_SOCKET=sock_path, WATCHDOG_USEC="1000000")
    log_path = os.path.join(tmp.name, "daemon.log")

    with running(binary, args, env, log_path) as proc:
        ready = listener.wait_for("READY", "1")
        check(ready is not None, "READY=1 after start", daemon_log(log_path))
        if ready is None:
            return
        check(ready[1] == proc.pid, "messages come from the daemon's own pid",
              f"sender {ready[1]}, daemon {proc.pid}")
        status = listener.wait_for("STATUS", timeout=5)
        check(status is not None and "domain" in status[2]["STATUS"],
              "STATUS= tells the domains managed", status)

        # Several cycles at 1 s: watchdog every 0.5 s, STATUS only when its text changed.
        listener.drain(3.2)
        stamps = [t for t, _, f in listener.log if f.get("WATCHDOG") == "1"]
        check(len(stamps) >= 5, f"WATCHDOG=1 every half interval ({len(stamps)} in ~3 s)",
              listener.log)
        gaps = [b - a for a, b in zip(stamps, stamps[1:])]
        check(gaps and max(gaps) < 0.8, "no watchdog gap near the 1 s limit", gaps)
        statuses = [f["STATUS"] for _, _, f in listener.log if "STATUS" in f]
        repeats = [a for a, b in zip(statuses, statuses[1:]) if a == b]
        check(not repeats, "STATUS= only sent when it changed", statuses)
        pins = [s for s in statuses if "last: pin" in s]
        check(pins, "STATUS= reports the last action", statuses)
        readies = [f for _, _, f in listener.log if f.get("READY") == "1"]
        check(len(readies) == 1, "READY=1 only once before any reload", readies)

        # SIGHUP: RELOADING=1 with a current CLOCK_MONOTONIC stamp, then READY=1.
        before = time.clock_gettime(time.CLOCK_MONOTONIC)
        proc.send_signal(signal.SIGHUP)
        reloading = listener.wait_for("RELOADING", "1", timeout=5)
        after = time.clock_gettime(time.CLOCK_MONOTONIC)
        check(reloading is not None, "RELOADING=1 on SIGHUP", daemon_log(log_path))
        if reloading:
            stamp = int(reloading[2].get("MONOTONIC_USEC", "0")) / 1e6
            check(before - 0.01 <= stamp <= after + 0.01,
                  "MONOTONIC_USEC= is CLOCK_MONOTONIC at the reload", (before, stamp, after))
        check(listener.wait_for("READY", "1", timeout=5) is not None,
              "READY=1 after the reload")

        # A rejected reload still ends with READY=1: the old settings run on.
        with open(conf, "w") as f:
            f.write("[daemon]\ninterval = nope\n")
        proc.send_signal(signal.SIGHUP)
        check(listener.wait_for("RELOADING", "1", timeout=5) is not None,
              "RELOADING=1 on a bad reload")
        check(listener.wait_for("READY", "1", timeout=5) is not None,
              "READY=1 after the rejected reload", daemon_log(log_path))
        check(proc.poll() is None, "still running after the rejected reload")

        proc.send_signal(signal.SIGTERM)
        check(listener.wait_for("STOPPING", "1", timeout=5) is not None, "STOPPING=1 on SIGTERM")
        check(proc.wait(timeout=10) == 0, "exit 0 after SIGTERM", daemon_log(log_path))

    # WATCHDOG_PID naming another process: the keep-alive is not meant for this one.
    with open(conf, "w") as f:
        f.write("[daemon]\ninterval = 1\n")
    listener.log.clear()
    with running(binary, args, env, log_path, watchdog_pid_self=False) as proc:
        check(listener.wait_for("READY", "1") is not None, "READY=1 (foreign WATCHDOG_PID)")
        listener.drain(1.5)
        check(not [f for _, _, f in listener.log if "WATCHDOG" in f],
              "no WATCHDOG=1 when WATCHDOG_PID is another process", listener.log)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)

    # libvirt unreachable: still READY (it retries by itself), and STATUS= says why.
    listener.log.clear()
    unreachable = ["--config", conf, "--connect", "qemu+unix:///system?socket=/nonexistent/sock",
                   "--no-bus", "--state-dir", os.path.join(tmp.name, "state")]
    with running(binary, unreachable, env, log_path) as proc:
        check(listener.wait_for("READY", "1") is not None, "READY=1 while libvirt is unreachable",
              daemon_log(log_path))
        status = listener.wait_for("STATUS", timeout=5)
        check(status is not None and
              status[2]["STATUS"].startswith("Degraded: hypervisor disconnected"),
              "STATUS= gives the degraded reason", status)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)

    # Without NOTIFY_SOCKET nothing changes: it runs and stops as before.
    env.pop("NOTIFY_SOCKET")
    with running(binary, args, env, log_path) as proc:
        time.sleep(1.0)
        check(proc.poll() is None, "runs without NOTIFY_SOCKET", daemon_log(log_path))
        proc.send_signal(signal.SIGTERM)
        check(proc.wait(timeout=10) == 0, "exit 0 without NOTIFY_SOCKET")


if __name__ == "__main__":
    try:
        main()
    finally:
        print(f"1..{count}")
    sys.exit(1 if failures or not count else 0)
