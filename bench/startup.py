#!/usr/bin/env python3
"""Start-up benchmark: minivmm vs QEMU microvm on the same test guest.

For each VMM, boots tests/guests' `boot_info` guest N times and reports the
median time from process start to the guest's first serial byte, to process
exit, and the peak RSS (GNU time's %M; needs Debian's `time` package).  Prints a table; asserts
nothing.  Usage: bench/startup.py [-n RUNS] [--guest NAME]
"""
import argparse
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import BUILD, MINIVMM, PVM, qemu_microvm_argv, run_vmm  # noqa: E402


def measure(name, argv, runs):
    """Medians of (first byte s, exit s, peak RSS MiB) over runs, and the last status."""
    firsts, totals, rss, first = [], [], [], None

    def on_chunk(data, t):
        nonlocal first
        if first is None:
            first = t

    for _ in range(runs):
        first = None
        # stderr is not output: the first byte is the guest's.
        r = run_vmm(argv, 60, on_chunk=on_chunk, measure_rss=True, stderr=subprocess.DEVNULL)
        if first is None:
            print(f"{name}: no output (exit {r.status})", file=sys.stderr)
            continue
        firsts.append(first)
        totals.append(r.seconds)
        rss.append(r.peak_mib)
    if not totals:
        return None
    return statistics.median(firsts), statistics.median(totals), statistics.median(rss), r.status


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", "--runs", type=int, default=5)
    ap.add_argument("--guest", default="boot_info")
    args = ap.parse_args()
    elf = os.path.join(BUILD, "guests", args.guest + ".elf")
    bz = os.path.join(BUILD, "guests", args.guest + ".bzImage")
    kvm = "direct /dev/kvm (PVM)" if PVM else "/dev/kvm"
    rows = [
        ("minivmm bzImage", [MINIVMM, "--kernel", bz, "--log-level", "error", "--mem", "128M"]),
        ("minivmm PVH ELF", [MINIVMM, "--kernel", elf, "--log-level", "error", "--mem", "128M"]),
        ("qemu microvm PVH ELF", qemu_microvm_argv("128M", debug_exit=True) + ["-kernel", elf]),
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
