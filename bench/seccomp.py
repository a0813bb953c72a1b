#!/usr/bin/env python3
"""What the seccomp filters cost: minivmm with --seccomp on against --seccomp off.

Two test guests, runs interleaved (on, off, on, off, ...) so that drift in the
machine's load hits both modes alike:
  - boot: `poweroff`, time from process start to exit (VM build, filters
    generated and loaded, boot, ACPI power-off, teardown);
  - per exit: `exit_loop`, 100000 port writes, each a VM exit handled on the
    vCPU thread (one KVM_RUN ioctl through the vCPU filter per exit); the cost
    per exit is (exit_loop time - poweroff time) / exits.
  - per system call, natively (build/tools/seccomp_cost, no KVM): ioctl
    KVM_RUN (EBADF) and a zero-timeout epoll_wait before and after loading
    the vCPU's and the loop's filter, i.e. what the filter itself adds.
Prints medians, the spread (min..max) and the on/off ratios; asserts nothing.
On a PVM host the VM parts re-run inside the SVM test host (TCG: compare ratios).
Usage: bench/seccomp.py [-n PAIRS] [--here]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import BUILD, IN_L1, MINIVMM, PVM, WHERE_DIRECT, rerun_in_l1, require, run_vmm  # noqa: E402

MODES = ("on", "off")


def one_run(guest, mode):
    """(seconds, exits) of one run; exits from minivmm's timeline line."""
    argv = [MINIVMM, "--kernel", os.path.join(BUILD, "guests", guest + ".elf"), "--mem", "128M",
            "--no-console-stdin", "--log-level", "info", "--seccomp", mode, "--timeout", "120"]
    r = run_vmm(argv, 150)
    if r.status != 0:
        sys.exit(f"seccomp bench: {guest} with --seccomp {mode} ended with status {r.status}:"
                 + "\n    " + "\n    ".join(r.last_lines(10)))
    m = re.search(r"vCPU 0: [0-9.]+ ms in KVM_RUN, exits: (\d+) port I/O", r.text)
    return r.seconds, int(m.group(1)) if m else 0


def spread(vals, scale):
    return (f"{statistics.median(vals) * scale:9.2f} "
            f"({min(vals) * scale:.2f}..{max(vals) * scale:.2f})")


def native_cost(runs=5):
    """The filter's own cost per system call, on this machine's CPU (no KVM)."""
    tool = os.path.join(BUILD, "tools", "seccomp_cost")
    if not os.path.exists(tool):
        print(f"(no {tool}: make build/tools/seccomp_cost for the per-syscall cost)")
        return
    vals = {}
    for _ in range(runs):
        out = subprocess.run([tool], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            role, _, off, _, on = line.split()
            vals.setdefault(role, []).append((float(off), float(on)))
    print(f"per system call on this CPU (no KVM), median of {runs} runs of 10^6 calls:")
    for role, call in (("vcpu", "ioctl KVM_RUN"), ("loop", "epoll_wait 0")):
        off = statistics.median(v[0] for v in vals[role])
        on = statistics.median(v[1] for v in vals[role])
        print(f"  {role:5} {call:14} off {off:7.1f} ns  on {on:7.1f} ns  "
              f"(+{on - off:.1f} ns, {on / off:.3f}x)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", "--pairs", type=int, default=8, help="on/off pairs per guest")
    ap.add_argument("--here", action="store_true", help="run on this /dev/kvm even if PVM")
    args = ap.parse_args()
    require([MINIVMM, os.path.join(BUILD, "guests", "exit_loop.elf")], "seccomp bench",
            "make -j2 all guests")
    native_cost()
    if PVM and not IN_L1 and not args.here:
        sys.exit(rerun_in_l1(["python3", "bench/seccomp.py", "-n", str(args.pairs)], 1800))

    boot = {m: [] for m in MODES}
    loop = {m: [] for m in MODES}
    exits = {m: [] for m in MODES}
    for _ in range(args.pairs):
        for mode in MODES:  # interleaved: on, off, on, off, ...
            boot[mode].append(one_run("poweroff", mode)[0])
            s, n = one_run("exit_loop", mode)
            loop[mode].append(s)
            exits[mode].append(n)
    print(f"seccomp cost on {WHERE_DIRECT}, {args.pairs} interleaved on/off pairs; "
          f"median (min..max)")
    print(f"{'':10} {'boot ms':>24} {'exit_loop ms':>26} {'ns per exit':>12}")
    per_exit = {}
    for mode in MODES:
        n = statistics.median(exits[mode]) or 1
        per_exit[mode] = [(loop[mode][i] - boot[mode][i]) / n * 1e9 for i in range(args.pairs)]
        print(f"seccomp {mode:3} {spread(boot[mode], 1e3):>24} {spread(loop[mode], 1e3):>26} "
              f"{statistics.median(per_exit[mode]):12.0f}   ({int(n)} exits)")
    ratio = lambda d: statistics.median(d["on"]) / statistics.median(d["off"])  # noqa: E731
    print(f"ratio on/off: boot {ratio(boot):.3f}x, exit_loop {ratio(loop):.3f}x, "
          f"per exit {ratio(per_exit):.3f}x")


if __name__ == "__main__":
    main()
