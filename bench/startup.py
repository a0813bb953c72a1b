#!/usr/bin/env python3
"""Start-up benchmark: minivmm vs QEMU microvm on the same test guest.

Boots tests/guests' `boot_info` guest N times per VMM, the VMMs taking turns,
and reports the median (± half the range) time from process start to the
guest's first serial byte, to process exit, and the peak RSS (GNU time's %M;
needs Debian's `time` package).  Without a usable /dev/kvm it re-runs itself
inside the SVM test host.  Prints a table; asserts nothing.
Usage: bench/startup.py [-n RUNS] [--guest NAME]
"""
import argparse
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (BUILD, MINIVMM, PVM, interleaved, qemu_microvm_argv,  # noqa: E402
                      rerun_in_l1_without_kvm, run_vmm, with_spread)


def run_once(name, argv):
    """(first byte s, exit s, peak RSS MiB, status) of one run; None without output."""
    first = None

    def on_chunk(data, t):
        nonlocal first
        if first is None:
            first = t

    # stderr is not output: the first byte is the guest's.
    r = run_vmm(argv, 60, on_chunk=on_chunk, measure_rss=True, stderr=subprocess.DEVNULL)
    if first is None:
        print(f"{name}: no output (exit {r.status})", file=sys.stderr)
        return None
    return first, r.seconds, r.peak_mib, r.status


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", "--runs", type=int, default=5)
    ap.add_argument("--guest", default="boot_info")
    args = ap.parse_args()
    rerun_in_l1_without_kvm(600)
    elf = os.path.join(BUILD, "guests", args.guest + ".elf")
    bz = os.path.join(BUILD, "guests", args.guest + ".bzImage")
    kvm = ("the SVM test host's /dev/kvm (TCG)" if os.environ.get("MINIVMM_HOSTVM") else
           "direct /dev/kvm (PVM)" if PVM else "/dev/kvm")
    rows = {
        "minivmm bzImage": [MINIVMM, "--kernel", bz, "--log-level", "error", "--mem", "128M"],
        "minivmm PVH ELF": [MINIVMM, "--kernel", elf, "--log-level", "error", "--mem", "128M"],
        "qemu microvm PVH ELF": qemu_microvm_argv("128M", debug_exit=True) + ["-kernel", elf],
    }
    print(f"start-up of test guest '{args.guest}' on {kvm}: median ±half the range of "
          f"{args.runs} runs, the VMMs taking turns run by run")
    res = interleaved(list(rows), args.runs, lambda n, r: run_once(n, rows[n]))
    print(f"{'VMM':22} {'first byte ms':>15} {'exit ms':>15} {'peak RSS MiB':>15} {'status':>7}")
    med = {}
    for name in rows:
        ok = [m for m in res[name] if m is not None]
        if not ok:
            print(f"{name:22} {'failed':>15}")
            continue
        cols = [[m[i] for m in ok] for i in range(3)]
        med[name] = [statistics.median(c) for c in cols]
        print(f"{name:22} {with_spread(cols[0], scale=1000):>15} {with_spread(cols[1], scale=1000):>15} "
              f"{with_spread(cols[2]):>15} {ok[-1][3]:7}")
    a, b = med.get("minivmm PVH ELF"), med.get("qemu microvm PVH ELF")
    if a and b:
        print(f"ratio qemu/minivmm (PVH ELF): first byte {b[0]/a[0]:.1f}x, "
              f"exit {b[1]/a[1]:.1f}x, peak RSS {b[2]/a[2]:.1f}x")


if __name__ == "__main__":
    main()
