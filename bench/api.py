#!/usr/bin/env python3
"""API latency: PATCH /vm {"state":"Paused"} and {"state":"Resumed"} over the socket.

minivmm --api-sock boots the `hang` test guest (one vCPU halted in KVM_RUN, so
every pause has to kick it out) and a client on one keep-alive connection
alternates pause and resume N times (default 100).  Each time is the round trip
of the request: the reply comes once the VM is paused (every vCPU parked, the
clock stopped) or running again, so it is pause->paused and resume->running as
a client sees them.  Prints median, p90 and min..max per direction; asserts
nothing.  Without a usable /dev/kvm it re-runs inside the SVM test host (TCG:
absolute numbers are slow there, compare with other TCG numbers only).
Usage: bench/api.py [-n CALLS] [--cpus N]
"""
import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import BUILD, MINIVMM, WHERE_DIRECT, require, rerun_in_l1_without_kvm  # noqa: E402


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(self.path)


def call(conn, method, url, body=None):
    conn.request(method, url, body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    return r.status, data


def pct(vals, p):
    s = sorted(vals)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", "--calls", type=int, default=100, help="pause/resume pairs")
    ap.add_argument("--cpus", type=int, default=1)
    args = ap.parse_args()
    rerun_in_l1_without_kvm(1800)
    guest = os.path.join(BUILD, "guests", "hang.elf")
    require([MINIVMM, guest], "api bench", "make -j2 all guests")

    tmp = tempfile.mkdtemp(prefix="minivmm-api-bench-")
    sock = os.path.join(tmp, "api.sock")
    proc = subprocess.Popen([MINIVMM, "--kernel", guest, "--mem", "128M", "--cpus", str(args.cpus),
                             "--api-sock", sock, "--no-console-stdin", "--log-level", "error"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        for _ in range(600):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        conn = UnixHTTPConnection(sock)
        # The guest must be up (its vCPU in KVM_RUN) before the clock starts.
        for _ in range(600):
            st, body = call(conn, "GET", "/")
            if b'"state":"Running"' in body:
                break
            time.sleep(0.05)
        time.sleep(0.5)
        t_pause, t_resume = [], []
        for _ in range(args.calls):
            t0 = time.perf_counter()
            st, body = call(conn, "PATCH", "/vm", b'{"state":"Paused"}')
            t_pause.append(time.perf_counter() - t0)
            if st != 204:
                sys.exit(f"api bench: pause answered {st} {body!r}")
            t0 = time.perf_counter()
            st, body = call(conn, "PATCH", "/vm", b'{"state":"Resumed"}')
            t_resume.append(time.perf_counter() - t0)
            if st != 204:
                sys.exit(f"api bench: resume answered {st} {body!r}")
        # The floor: a GET / that only reads state, on the same connection.
        t_get = []
        for _ in range(args.calls):
            t0 = time.perf_counter()
            call(conn, "GET", "/")
            t_get.append(time.perf_counter() - t0)
        call(conn, "PUT", "/actions", b'{"action_type":"InstanceHalt"}')
        conn.close()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    print(f"API latency over the socket, {args.calls} calls each, {args.cpus} vCPU(s), "
          f"on {WHERE_DIRECT}")
    print(f"{'request':<28}{'median ms':>11}{'p90 ms':>10}{'min..max ms':>18}")
    for name, vals in (("PATCH /vm Paused -> paused", t_pause),
                       ("PATCH /vm Resumed -> running", t_resume),
                       ("GET / (floor)", t_get)):
        ms = [v * 1000 for v in vals]
        print(f"{name:<28}{statistics.median(ms):>11.3f}{pct(ms, 90):>10.3f}"
              f"{min(ms):>9.3f}..{max(ms):<8.3f}")


if __name__ == "__main__":
    main()
