#!/usr/bin/env python3
"""Linux boot benchmark: minivmm vs QEMU microvm (-accel kvm), same kernel and initramfs.

Boots Debian's stock cloud kernel with the tiny initramfs of
guest-images/build-initramfs.sh (which prints "minivmm-initramfs: up" and powers
off) N times with each VMM and reports the medians of: time from process start
to the /init marker, time to process exit, peak RSS (GNU time's %M), and the
ratios minivmm/QEMU.  Asserts nothing.

Meant to run where /dev/kvm is hardware-style.  On a PVM host it re-runs itself
inside the SVM test host (tests/hostvm/run), where timings are TCG timings:
only the ratios mean anything.
Usage: bench/linux_boot.py [-n RUNS] [--kernel VMLINUZ] [--initrd INITRAMFS]
"""
import argparse
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("MINIVMM_CACHE", os.path.expanduser("~/.cache/minivmm"))
MARKER = b"minivmm-initramfs: up"
CMDLINE = "console=ttyS0 quiet panic=-1 minivmm.action=poweroff"


def run_once(argv, limit):
    """Returns (seconds to marker or None, seconds to exit, peak RSS MiB, status)."""
    with tempfile.NamedTemporaryFile(prefix="linux-boot-rss-") as rss:
        start = time.monotonic()
        # Through GNU time: ru_maxrss of a child forked from Python would
        # include Python's own peak.
        proc = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", rss.name] + argv,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        marker, buf = None, b""
        while True:
            left = limit - (time.monotonic() - start)
            r, _, _ = select.select([proc.stdout], [], [], max(left, 0))
            if not r:
                proc.kill()
                break
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buf = (buf + chunk)[-4096:]
            if marker is None and MARKER in buf:
                marker = time.monotonic() - start
        _, status, _ = os.wait4(proc.pid, 0)
        total = time.monotonic() - start
        try:
            peak = int(open(rss.name).read().split()[-1]) / 1024.0
        except (ValueError, IndexError):
            peak = float("nan")
    return marker, total, peak, os.waitstatus_to_exitcode(status)


def measure(name, argv, runs, limit):
    marks, totals, rss, statuses = [], [], [], []
    for i in range(runs):
        m, t, p, s = run_once(argv, limit)
        statuses.append(s)
        print(f"  {name} run {i + 1}: /init {m if m is None else round(m, 2)} s, exit {t:.2f} s, "
              f"peak RSS {p:.1f} MiB, status {s}", flush=True)
        if m is None:
            continue
        marks.append(m)
        totals.append(t)
        rss.append(p)
    if not marks:
        return None
    return statistics.median(marks), statistics.median(totals), statistics.median(rss), statuses


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", "--runs", type=int, default=3)
    ap.add_argument("--kernel", default=os.path.join(CACHE, "debian-kernel/cloud/vmlinuz"))
    ap.add_argument("--initrd", default=os.path.join(CACHE, "guest-initramfs.cpio.gz"))
    ap.add_argument("--limit", type=float, default=180.0, help="seconds before a boot is killed")
    args = ap.parse_args()

    if os.path.exists("/sys/module/kvm_pvm") and not os.environ.get("MINIVMM_HOSTVM"):
        # Guest kernel code is emulated on PVM: a boot takes minutes.  Go to L1.
        subprocess.run([os.path.join(ROOT, "tests/linux/prepare")], check=True,
                       stdout=subprocess.DEVNULL)
        runner = [os.path.join(ROOT, "tests/hostvm/run"), "--timeout", "1800", "--"]
        sys.exit(subprocess.run(runner + ["python3", "bench/linux_boot.py"] + sys.argv[1:],
                                cwd=ROOT).returncode)
    for f in (args.kernel, args.initrd):
        if not os.path.exists(f):
            sys.exit(f"linux_boot: {f} missing: run tests/linux/prepare")

    where = ("SVM test host (kvm_amd under QEMU TCG: compare ratios only)"
             if os.environ.get("MINIVMM_HOSTVM") else "/dev/kvm")
    rows = [
        ("qemu microvm", ["qemu-system-x86_64", "-M", "microvm", "-accel", "kvm", "-m", "512M",
                          "-smp", "2", "-nodefaults", "-no-user-config", "-display", "none",
                          "-serial", "stdio", "-no-reboot", "-kernel", args.kernel,
                          "-initrd", args.initrd, "-append", CMDLINE]),
        ("minivmm", [os.path.join(ROOT, "build/minivmm"), "--kernel", args.kernel, "--initrd",
                     args.initrd, "--cmdline", CMDLINE, "--mem", "512M", "--cpus", "2",
                     "--no-console-stdin", "--log-level", "error", "--timeout", str(int(args.limit))]),
    ]
    print(f"Linux boot ({os.path.basename(args.kernel)}, tiny initramfs, 2 vCPUs, 512 MiB) "
          f"on {where}; median of {args.runs} runs", flush=True)
    res = {}
    for name, argv in rows:
        res[name] = measure(name, argv, args.runs, args.limit)
    print(f"{'VMM':14} {'to /init s':>11} {'to exit s':>10} {'peak RSS MiB':>13}  statuses")
    for name, _ in rows:
        m = res[name]
        if m is None:
            print(f"{name:14} {'failed':>11}")
            continue
        print(f"{name:14} {m[0]:11.2f} {m[1]:10.2f} {m[2]:13.1f}  {m[3]}")
    q, v = res.get("qemu microvm"), res.get("minivmm")
    if q and v:
        print(f"ratio minivmm/qemu: to /init {v[0] / q[0]:.2f}, to exit {v[1] / q[1]:.2f}, "
              f"peak RSS {v[2] / q[2]:.2f}")


if __name__ == "__main__":
    main()
