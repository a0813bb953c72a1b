#!/usr/bin/env python3
"""Start-up benchmark: minivmm vs QEMU microvm on the same test guest.

For each VMM, boots tests/guests' `boot_info` guest N times and reports the
median time from process start to the guest's first serial byte, to process
exit, and the peak RSS (GNU time's %M; needs Debian's `time` package).  Prints a table; asserts
nothing.  Usage: bench/startup.py [-n RUNS] [--guest NAME]
"""
import argparse
import os
import select
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_once(argv):
    start = time.monotonic()
    # Through GNU time: a child forked straight from Python would report
    # Python's own RSS as its peak (ru_maxrss survives fork and exec).
    rss_file = "/tmp/minivmm-bench-rss"
    proc = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", rss_file] + argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    first = None
    out = b""
    while True:
        r, _, _ = select.select([proc.stdout], [], [], 60)
        if not r:
            proc.kill()
            break
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            break
        if first is None:
            first = time.monotonic() - start
        out += chunk
    _, status, _ = os.wait4(proc.pid, 0)
    total = time.monotonic() - start
    with open(rss_file) as f:
        peak_kib = int(f.read().split()[-1])
    return first, total, peak_kib / 1024.0, os.waitstatus_to_exitcode(status), out


def measure(name, argv, runs):
    firsts, totals, rss = [], [], []
    for _ in range(runs):
        first, total, peak, code, out = run_once(argv)
        if first is None:
            print(f"{name}: no output (exit {code})", file=sys.stderr)
            continue
        firsts.append(first)
        totals.append(total)
        rss.append(peak)
    if not totals:
        return None
    return statistics.median(firsts), statistics.median(totals), statistics.median(rss), code


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", "--runs", type=int, default=5)
    ap.add_argument("--guest", default="boot_info")
    args = ap.parse_args()
    elf = os.path.join(ROOT, "build/guests", args.guest + ".elf")
    bz = os.path.join(ROOT, "build/guests", args.guest + ".bzImage")
    vmm = os.path.join(ROOT, "build/minivmm")
    kvm = "direct /dev/kvm (PVM)" if os.path.exists("/sys/module/kvm_pvm") else "/dev/kvm"
    rows = [
        ("minivmm bzImage", [vmm, "--kernel", bz, "--log-level", "error", "--mem", "128M"]),
        ("minivmm PVH ELF", [vmm, "--kernel", elf, "--log-level", "error", "--mem", "128M"]),
        ("qemu microvm PVH ELF", ["qemu-system-x86_64", "-M", "microvm", "-accel", "kvm",
                                  "-m", "128M", "-nodefaults", "-no-user-config",
                                  "-display", "none", "-serial", "stdio", "-no-reboot",
                                  "-device", "isa-debug-exit,iobase=0xf4,iosize=1",
                                  "-kernel", elf]),
    ]
    print(f"start-up of test guest '{args.guest}' on {kvm}, median of {args.runs} runs")
    print(f"{'VMM':24} {'first byte ms':>14} {'exit ms':>9} {'peak RSS MiB':>13} {'status':>7}")
    results = {}
    for name, argv in rows:
        m = measure(name, argv, args.runs)
        if m is None:
            print(f"{name:24} {'failed':>14}")
            continue
        results[name] = m
        print(f"{name:24} {m[0]*1000:14.1f} {m[1]*1000:9.1f} {m[2]:13.1f} {m[3]:7}")
    a, b = results.get("minivmm PVH ELF"), results.get("qemu microvm PVH ELF")
    if a and b:
        print(f"ratio qemu/minivmm (PVH ELF): first byte {b[0]/a[0]:.1f}x, "
              f"exit {b[1]/a[1]:.1f}x, peak RSS {b[2]/a[2]:.1f}x")


if __name__ == "__main__":
    main()
