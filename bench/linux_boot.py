#!/usr/bin/env python3
"""Linux boot benchmark: minivmm vs QEMU microvm (-accel kvm), same kernel and initramfs.

Boots each kernel (Debian's stock cloud kernel and guest-images' microVM
kernel, when cached) with the tiny initramfs of guest-images/build-initramfs.sh
(which prints "minivmm-initramfs: up" and powers off) N times with each VMM
and reports the medians of: time from process start to the kernel banner
("Linux version"), to the /init marker, to process exit, peak RSS (GNU time's
%M), and the ratios minivmm/QEMU.  Asserts nothing.

Where /dev/kvm is hardware-style this runs directly.  On a PVM host it
re-runs itself inside the SVM test host (tests/hostvm/run), where timings are
TCG timings: only the ratios mean anything.  With --pvm it stays on the PVM
host instead (`make pvm-linux-boot`): one bounded boot per VMM and kernel
(default 900 s), reporting how far each got and when: guest kernel code is
emulated there, and peers stop at the first instruction KVM cannot emulate.

Usage: bench/linux_boot.py [-n RUNS] [--kernel PATH]... [--initrd INITRAMFS]
                           [--limit SECONDS] [--pvm]
"""
import argparse
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (CACHE, IN_L1, PVM, WHERE_LINUX, interleaved, minivmm_argv,  # noqa: E402
                      qemu_microvm_argv, rerun_in_l1, rerun_in_l1_without_kvm, run_vmm,
                      with_spread)

KERNELS = [os.path.join(CACHE, "debian-kernel/cloud/vmlinuz"),
           os.path.join(CACHE, "microvm-kernel/bzImage")]
# loglevel=6: notices and worse, so the banner (a notice) shows but not every info line.
CMDLINE = "console=ttyS0 loglevel=6 panic=-1 minivmm.action=poweroff"
# On PVM: fewer emulated instructions (README), not quiet (to see how far it got),
# and QEMU gets the CPU-feature parameters minivmm adds there by itself.
PVM_CMDLINE = ("console=ttyS0 panic=-1 minivmm.action=poweroff lpj=5000000 tsc=reliable "
               "no_timer_check nokaslr mitigations=off nosoftlockup 8250.nr_uarts=1 "
               "random.trust_cpu=on")
PVM_CPU_PARAMS = ("noxsave clearcpuid=cx16,popcnt,smap,fsgsbase,rdrand,rdseed,pcid,invpcid,"
                  "rdtscp,erms,fsrm,ssse3,sse4_1,sse4_2,pclmulqdq,aes")
MILESTONES = [("banner", b"Linux version"), ("exec init", b"Run /init as init process"),
              ("/init", b"minivmm-initramfs: up")]
# QEMU pauses the VM forever after an emulation failure (HOST-KVM.md): stop there.
STOP_MARKERS = [b"KVM internal error"]


def run_once(argv, limit):
    """Returns ({milestone: seconds}, seconds to exit, peak RSS MiB, status, last lines)."""
    seen, buf = {}, b""

    def on_chunk(chunk, t):
        nonlocal buf
        buf = (buf + chunk)[-4096:]
        for name, marker in MILESTONES:
            if name not in seen and marker in buf:
                seen[name] = t
        return any(m in buf for m in STOP_MARKERS)

    r = run_vmm(argv, limit, on_chunk=on_chunk, measure_rss=True)
    tail = r.text[-8192:]
    lines = [l for l in tail.split("\n") if l.strip()]
    # The line that says why it stopped, if any, else the last one.
    why = [l for l in lines if any(k in l for k in ("KVM internal error", "guest fault",
                                                   "Kernel panic", "segfault", "timeout"))]
    return seen, r.seconds, r.peak_mib, r.status, (why or lines)[-3:]


def measure_once(name, argv, run, limit):
    """One boot: (banner s, /init s, exit s, peak RSS MiB, status), None values where the
    milestone was not reached."""
    seen, t, p, s, _ = run_once(argv, limit)
    b, m = seen.get("banner"), seen.get("/init")
    print(f"  {name} run {run}: banner {b if b is None else round(b, 2)} s, "
          f"/init {m if m is None else round(m, 2)} s, exit {t:.2f} s, "
          f"peak RSS {p:.1f} MiB, status {s}", flush=True)
    return b, m, t, p, s


def summarize(runs):
    """Medians and the runs behind them for the runs that reached /init, or None."""
    good = [r for r in runs if r[0] is not None and r[1] is not None]
    if not good:
        return None
    cols = [[r[i] for r in good] for i in range(4)]
    return [statistics.median(c) for c in cols], cols, [r[4] for r in runs]


def vmm_rows(kernel, initrd, cmdline, limit, qemu_extra=""):
    qemu_cmdline = (cmdline + " " + qemu_extra).strip()
    return [
        ("qemu microvm", qemu_microvm_argv("512M", 2) + ["-kernel", kernel, "-initrd", initrd,
                                                         "-append", qemu_cmdline]),
        ("minivmm", minivmm_argv(kernel, "512M", 2, limit, log_level="warn") +
         ["--initrd", initrd, "--cmdline", cmdline]),
    ]


def bench_kernel(kernel, args, where):
    print(f"\nLinux boot ({kernel}, tiny initramfs, 2 vCPUs, 512 MiB) on {where}; "
          f"median ±half the range of {args.runs} runs, the VMMs taking turns", flush=True)
    rows = dict(vmm_rows(kernel, args.initrd, CMDLINE, args.limit))
    runs = interleaved(list(rows), args.runs,
                       lambda n, r: measure_once(n, rows[n], r, args.limit))
    res = {n: summarize(runs[n]) for n in rows}
    print(f"{'VMM':14} {'banner s':>12} {'/init s':>12} {'exit s':>12} {'peak RSS MiB':>14}"
          f"  statuses")
    for name in rows:
        m = res[name]
        if m is None:
            print(f"{name:14} {'failed':>12}  {[r[4] for r in runs[name]]}")
            continue
        cols = m[1]
        print(f"{name:14} {with_spread(cols[0], '{:.2f}'):>12} {with_spread(cols[1], '{:.2f}'):>12} "
              f"{with_spread(cols[2], '{:.2f}'):>12} {with_spread(cols[3]):>14}  {m[2]}")
    q, v = res.get("qemu microvm"), res.get("minivmm")
    if q and v:
        q, v = q[0], v[0]
        print(f"ratio minivmm/qemu: banner {v[0] / q[0]:.2f}, /init {v[1] / q[1]:.2f}, "
              f"exit {v[2] / q[2]:.2f}, peak RSS {v[3] / q[3]:.2f}")


def pvm_kernel(kernel, args):
    """One bounded boot per VMM on the PVM host: how far, and when."""
    print(f"\nLinux boot on the direct PVM /dev/kvm ({kernel}, tiny initramfs, 1 vCPU); "
          f"bound {args.limit:.0f} s per VMM", flush=True)
    rows = vmm_rows(kernel, args.initrd, PVM_CMDLINE, args.limit, PVM_CPU_PARAMS)
    for _, argv in rows:
        i = argv.index("-smp") if "-smp" in argv else argv.index("--cpus")
        argv[i + 1] = "1"
    print(f"{'VMM':14} {'banner s':>9} {'exec init s':>12} {'/init s':>8} {'end s':>7}  status")

    def cell(v, width):
        return f"{'-' if v is None else f'{v:.1f}':>{width}}"

    for name, argv in rows:
        seen, t, _, s, last = run_once(argv, args.limit)
        how = "timeout" if t >= args.limit - 1 else str(s)
        lastline = re.sub(r"\s+", " ", last[-1] if last else "")
        print(f"{name:14} {cell(seen.get('banner'), 9)} {cell(seen.get('exec init'), 12)} "
              f"{cell(seen.get('/init'), 8)} {t:7.1f}  {how:>6}", flush=True)
        print(f"{'':14} stopped at: {lastline}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", "--runs", type=int, default=3)
    ap.add_argument("--kernel", action="append", help="default: the cloud and microVM kernels")
    ap.add_argument("--initrd", default=os.path.join(CACHE, "guest-initramfs.cpio.gz"))
    ap.add_argument("--limit", type=float, default=None,
                    help="seconds before a boot is killed (180; 900 with --pvm)")
    ap.add_argument("--pvm", action="store_true", help="stay on the PVM host (see above)")
    args = ap.parse_args()
    args.limit = args.limit or (900.0 if args.pvm else 180.0)
    if PVM and not IN_L1 and not args.pvm:
        # Guest kernel code is emulated on PVM: a boot takes minutes.  Go to L1.
        sys.exit(rerun_in_l1(["python3", "bench/linux_boot.py"] + sys.argv[1:], 2400))
    if not args.pvm:
        rerun_in_l1_without_kvm(2400)
    kernels = args.kernel or [k for k in KERNELS if os.path.exists(k)]
    if not kernels:
        sys.exit("linux_boot: no kernel: run tests/linux/prepare and "
                 "guest-images/build-microvm-kernel.sh")
    for f in kernels + [args.initrd]:
        if not os.path.exists(f):
            sys.exit(f"linux_boot: {f} missing: run tests/linux/prepare")
    if args.pvm:
        for k in kernels:
            pvm_kernel(k, args)
        return
    for k in kernels:
        bench_kernel(k, args, WHERE_LINUX)


if __name__ == "__main__":
    main()
