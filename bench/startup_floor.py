#!/usr/bin/env python3
"""Start-up floor: minivmm against the least a VMM can do.

Rows, run interleaved (one run of each row per round, N rounds):
  /bin/true             process start and exit, nothing else
  kvm_floor             bench/kvm_floor.c: /dev/kvm, one VM, 2 MiB RAM, one vCPU entered
                        in 64-bit mode, "ok" over COM1, exit at hlt
  minivmm --version     the binary's own start-up (dynamic loader, static libraries)
  minivmm exit_status   the smallest test guest (PVH ELF, --mem 64M, --rng off): builds the
                        whole machine (ACPI, CPUID, irqchip), prints a line, exit port 0
  minivmm bzImage       the same guest as a bzImage with the default 256M and virtio-rng

Each row: start-to-exit time and peak RSS (GNU time's %M), median and range over the
rounds.  Where this machine has no usable /dev/kvm the script re-runs itself inside the
SVM test host (tests/hostvm/run): absolute numbers there are TCG numbers, compare ratios.
Asserts nothing.  Usage: bench/startup_floor.py [-n ROUNDS]
"""
import argparse
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import BUILD, IN_L1, MINIVMM, ROOT, WHERE_DIRECT, run_vmm  # noqa: E402

FLOOR_SRC = os.path.join(ROOT, "bench", "kvm_floor.c")
FLOOR_BIN = os.path.join(BUILD, "bench", "kvm_floor")


def build_floor():
    """Compiles kvm_floor like minivmm is linked (-O2, glibc shared) when out of date."""
    if (os.path.exists(FLOOR_BIN) and
            os.path.getmtime(FLOOR_BIN) >= os.path.getmtime(FLOOR_SRC)):
        return
    os.makedirs(os.path.dirname(FLOOR_BIN), exist_ok=True)
    subprocess.run(["gcc", "-O2", "-Wall", "-o", FLOOR_BIN, FLOOR_SRC], check=True)


def kvm_usable():
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


def spread(vals, scale, fmt):
    """'median (min-max)' of vals times scale.  On a loaded machine (the SVM test host is
    a TCG guest sharing its cores) the minimum is the steadiest estimate of a floor."""
    s = sorted(v * scale for v in vals)
    return f"{fmt.format(statistics.median(s))} ({fmt.format(s[0])}-{fmt.format(s[-1])})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", "--rounds", type=int, default=21)
    args = ap.parse_args()
    if not kvm_usable() and not IN_L1:
        print("startup_floor: no usable /dev/kvm here; running in the SVM test host",
              flush=True)
        runner = [os.path.join(ROOT, "tests/hostvm/run"), "--timeout", "900", "--"]
        sys.exit(subprocess.run(runner + ["python3", "bench/startup_floor.py", "-n",
                                          str(args.rounds)], cwd=ROOT).returncode)
    build_floor()
    guests = os.path.join(BUILD, "guests")
    common = ["--log-level", "error", "--no-console-stdin", "--cmdline", "status=0"]
    rows = [
        ("/bin/true", ["/bin/true"]),
        ("kvm_floor", [FLOOR_BIN]),
        ("minivmm --version", [MINIVMM, "--version"]),
        ("minivmm exit_status", [MINIVMM, "--kernel", os.path.join(guests, "exit_status.elf"),
                                 "--mem", "64M", "--rng", "off"] + common),
        ("minivmm bzImage", [MINIVMM, "--kernel",
                             os.path.join(guests, "exit_status.bzImage")] + common),
    ]
    times = {name: [] for name, _ in rows}
    rss = {name: [] for name, _ in rows}
    for _ in range(args.rounds):
        for name, argv in rows:
            r = run_vmm(argv, 60, measure_rss=True, stderr=subprocess.DEVNULL)
            if r.status != 0:
                print(f"{name}: exit {r.status}", file=sys.stderr)
                continue
            times[name].append(r.seconds)
            rss[name].append(r.peak_mib)
    print(f"start-up floor on {WHERE_DIRECT}: {args.rounds} interleaved rounds, "
          "median (min-max); time includes GNU time's own fork+exec")
    print(f"{'program':22} {'start to exit ms':>24} {'peak RSS MiB':>22}")
    for name, _ in rows:
        if not times[name]:
            print(f"{name:22} {'failed':>24}")
            continue
        print(f"{name:22} {spread(times[name], 1000, '{:.1f}'):>24} "
              f"{spread(rss[name], 1, '{:.2f}'):>22}")
    base, vm = times["kvm_floor"], times["minivmm exit_status"]
    if base and vm:
        print(f"minivmm exit_status / kvm_floor: time {statistics.median(vm) / statistics.median(base):.2f}x "
              f"by medians, {min(vm) / min(base):.2f}x by minima (goal <= 1.5x); peak RSS "
              f"{statistics.median(rss['minivmm exit_status']):.2f} MiB (goal <= 3 MiB)")


if __name__ == "__main__":
    main()
