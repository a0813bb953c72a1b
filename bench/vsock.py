#!/usr/bin/env python3
"""vsock benchmark: minivmm's virtio-vsock (hybrid, Unix socket) vs QEMU microvm with
vhost-vsock-device (the kernel's vhost_vsock; host side AF_VSOCK).

The microVM kernel (vsock built in) with the test initramfs, 1 vCPU, 256 MiB; the guest
runs tests/linux/vsock_tool (appended to the initramfs; `make` builds it): a source that
writes MIB MiB to each connection, a sink that reads one connection to EOF, and an echo
server.  The host side, timed by the host's clock, per boot:
  guest->host  MiB/s reading MIB MiB from the guest's source
  host->guest  MiB/s writing MIB MiB to the guest's sink, until the guest closes it
  RR/s         1-byte request/response round trips on one connection for RR_SECONDS
One boot per run, the VMMs taking turns (A B A B ...); the median and the spread (half
the range, in % of the median) are printed.  minivmm's host side is its Unix socket
(CONNECT/OK, README "vsock"); QEMU's is AF_VSOCK to the guest's CID through vhost_vsock
(modprobe vhost_vsock; where it does not load, QEMU is left out and the table says so).
Without a usable /dev/kvm the benchmark re-runs itself inside the SVM test host
(tests/hostvm/run): there every number is a TCG number; compare the ratios.

Usage: bench/vsock.py [-n RUNS] [--mib MIB] [--rr-seconds S] [--vmms minivmm,qemu] [-v]
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (BUILD, CACHE, IN_L1, MINIVMM, WHERE_LINUX, indented,  # noqa: E402
                      interleaved, minivmm_argv, qemu_microvm_argv, require,
                      rerun_in_l1_without_kvm, run_vmm, with_spread)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests", "linux"))
from vsock_hybrid import drain, vconnect  # noqa: E402

TOOL = os.path.join(BUILD, "vsock_tool")
KERNEL = os.path.join(CACHE, "microvm-kernel/bzImage")
INITRD = os.path.join(CACHE, "guest-initramfs.cpio.gz")
CID = 42
ROWS = ("guest->host MiB/s", "host->guest MiB/s", "RR/s")

GUEST_SCRIPT = """
arg() { tr ' ' '\\n' < /proc/cmdline | sed -n "s/^vsockbench\\.$1=//p" | tail -1; }
t=/vsock_tool
$t source 5001 "$(arg bytes)" 2>/dev/null &
$t echo 5000 2>/dev/null &
($t recv 5002 > /dev/null 2>&1; $t recv 5003 > /dev/null 2>&1) &
sleep 1
echo "vsockbench: ready"
wait $!
echo "vsockbench: done"
"""


def make_initrd(tmp):
    d = os.path.join(tmp, "cpio")
    os.makedirs(d, exist_ok=True)
    shutil.copy(TOOL, os.path.join(d, "vsock_tool"))
    with open(os.path.join(d, "vsock-bench.sh"), "w") as f:
        f.write(GUEST_SCRIPT)
    extra = subprocess.run(["cpio", "-o", "-H", "newc", "-R", "0:0", "--quiet"], cwd=d,
                           input=b"vsock-bench.sh\nvsock_tool\n", stdout=subprocess.PIPE,
                           check=True).stdout
    base = subprocess.run(["gzip", "-dc", INITRD], stdout=subprocess.PIPE, check=True).stdout
    path = os.path.join(tmp, "initrd")
    with open(path, "wb") as f:
        f.write(base + extra)
    return path


def uds_connect(uds):
    def connect(port):
        return vconnect(uds, port, timeout=60)[0]
    return connect


def vsock_connect(port):
    s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect((CID, port))
    return s


def measure(connect, nbytes, rr_seconds):
    out = {}
    s = connect(5001)
    t0 = time.monotonic()
    got = drain(s)
    dt = time.monotonic() - t0
    s.close()
    out[ROWS[0]] = got / dt / (1 << 20) if got == nbytes else None
    s = connect(5002)
    buf = b"\xa5" * (1 << 20)
    t0 = time.monotonic()
    left = nbytes
    while left:
        left -= s.send(buf[:min(left, len(buf))])
    s.shutdown(socket.SHUT_WR)
    drain(s)
    out[ROWS[1]] = nbytes / (time.monotonic() - t0) / (1 << 20)
    s.close()
    s = connect(5000)
    n = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < rr_seconds:
        s.sendall(b"x")
        if s.recv(1) != b"x":
            break
        n += 1
    out[ROWS[2]] = n / (time.monotonic() - t0)
    s.close()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", "--runs", type=int, default=3)
    ap.add_argument("--mib", type=int, default=64)
    ap.add_argument("--rr-seconds", type=float, default=3.0)
    ap.add_argument("--vmms", default="minivmm,qemu")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    require((KERNEL, INITRD, MINIVMM, TOOL), "vsock",
            "run make, tests/linux/prepare and guest-images/build-microvm-kernel.sh")
    rerun_in_l1_without_kvm(2400)
    names = [n for n in ("minivmm", "qemu") if n in args.vmms.split(",")]
    qemu_note = ""
    if "qemu" in names:
        subprocess.run(["modprobe", "vhost_vsock"], stderr=subprocess.DEVNULL)
        if not os.path.exists("/dev/vhost-vsock"):
            names.remove("qemu")
            qemu_note = "qemu: left out: vhost_vsock does not load here (no /dev/vhost-vsock)"
    nbytes = args.mib << 20
    tmp = tempfile.mkdtemp(prefix="vsock-bench.")
    initrd = make_initrd(tmp)
    cmdline = (f"console=ttyS0 quiet panic=-1 vsockbench.bytes={nbytes} "
               f"run=sh${{IFS}}/vsock-bench.sh")
    limit = 120 + args.rr_seconds + args.mib
    print(f"== vsock: microVM kernel, 1 vCPU, 256 MiB; {args.mib} MiB each way, RR 1 byte for "
          f"{args.rr_seconds:g} s; on {WHERE_LINUX}; median of {args.runs}, A B A B ...",
          flush=True)

    def one(name, run):
        uds = os.path.join(tmp, f"v{run}.sock")
        if name == "minivmm":
            argv = minivmm_argv(KERNEL, "256M", 1, limit) + [
                "--initrd", initrd, "--cmdline", cmdline, "--vsock", f"cid={CID},uds={uds}"]
            connect = uds_connect(uds)
        else:
            argv = qemu_microvm_argv("256M", 1) + [
                "-kernel", KERNEL, "-initrd", initrd, "-append", cmdline,
                "-device", f"vhost-vsock-device,guest-cid={CID}"]
            connect = vsock_connect
        result = {}
        errors = []

        def host_side():
            try:
                result.update(measure(connect, nbytes, args.rr_seconds))
            except OSError as e:
                errors.append(str(e))
            try:
                connect(5003).close()  # "done": the guest powers off
            except OSError:
                pass

        worker = []

        def on_line(line, t):
            if args.verbose:
                print("    | " + line, flush=True)
            if "vsockbench: ready" in line and not worker:
                worker.append(threading.Thread(target=host_side, daemon=True))
                worker[0].start()

        r = run_vmm(argv, limit + 30, on_line)
        for w in worker:
            w.join(timeout=30)
        if not result or errors:
            print(f"  {name} run {run}: failed ({'; '.join(errors) or 'no ready line'}); "
                  f"status {r.status}" + indented(r.last_lines(10)), flush=True)
            return {}
        print(f"  {name} run {run}: " + ", ".join(
            f"{k} {v:.1f}" if v is not None else f"{k} failed" for k, v in result.items()),
            flush=True)
        return result

    runs = interleaved(names, args.runs, one)
    print(f"\n{'':20s}" + "".join(f"{n:>22s}" for n in ("minivmm", "qemu")))
    for row in ROWS:
        cells = []
        for n in ("minivmm", "qemu"):
            vals = [r.get(row) for r in runs.get(n, [])]
            cells.append(with_spread(vals) if vals else "-")
        print(f"{row:20s}" + "".join(f"{c:>22s}" for c in cells))
    if qemu_note:
        print(qemu_note)
    print("Host clock.  minivmm: --vsock (hybrid: the host side is a Unix socket, every "
          "byte through minivmm's event loop).  qemu: vhost-vsock-device (the host kernel "
          "moves the data; host side AF_VSOCK).  Same kernel, initramfs, guest program.")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
