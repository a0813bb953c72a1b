#!/usr/bin/env python3
"""Disk benchmark: virtio-blk in minivmm vs QEMU microvm, with the host file as ceiling.

Sequential write and read in MB/s (10^6 bytes/s) and 4 KiB random-read IOPS, all with
one request in flight, driven from inside the guest.  Prints tables; asserts nothing.

Two parts:
  direct  The freestanding test guest tests/guests/blk_bench.c (polled virtio-blk driver,
          1 MiB requests + FLUSH, then 4 KiB random reads) under minivmm on this
          /dev/kvm, with cache=none (O_DIRECT) and cache=writeback.  The host times the
          guest's "begin"/"end" lines.  QEMU only where /dev/kvm is not PVM (on PVM QEMU
          cannot run a guest at all: ../shared/HOST-KVM.md).
  linux   Debian's cloud kernel (tests/linux/prepare) with root on virtio-blk, data on a
          second disk, and a guest script on a third, read-only one (run=sh${IFS}/dev/vdc,
          as tests/linux/blk-checks.sh does).  The script runs, RUNS times:
              dd if=/dev/zero of=DATA bs=1M count=MIB oflag=direct conv=fsync
              dd if=DATA of=/dev/null bs=1M count=MIB iflag=direct
              blkbench randread DATA SECONDS   (O_DIRECT 4 KiB preads at random offsets)
          where blkbench is a small static C program (below) carried on the script disk;
          it also times the dd runs (busybox has neither fio nor a clock finer than 1 s).
          Same kernel, initramfs, root image and data file for minivmm and QEMU.  On a
          PVM host this part re-runs itself inside the SVM test host (tests/hostvm/run),
          where every number is a TCG number: compare the ratios.
Ceiling: the same dd / blkbench on the image file itself, from the host that runs the VMM
(O_DIRECT where the file system allows it; L1's /tmp is tmpfs, which on Linux 6.1 has no
O_DIRECT, so there the ceiling is buffered and says so).

Usage: bench/disk.py [--part direct|linux|both] [-n RUNS] [--mib MIB] [--direct-mib MIB]
                     [--rand-seconds S]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (BUILD, CACHE, IN_L1, MINIVMM, PVM, WHERE_DIRECT,  # noqa: E402
                      WHERE_LINUX, build_static_helper, indented, key_values, median_of,
                      interleaved, minivmm_argv, qemu_microvm_argv, require, rerun_in_l1,
                      rerun_in_l1_without_kvm, run_vmm, with_spread)

HELPER = os.path.join(BUILD, "bench", "blkbench")
SCRIPT_BYTES = 65536  # the guest script's part of the script disk; blkbench follows
DATA_SERIAL = "benchdata"

# What minivmm does with a disk (devices/virtio_blk.c, devices/disk_image.c): requests run
# synchronously on its event-loop thread, preadv/pwritev on the image, a FLUSH is an
# fdatasync; cache=writeback (default) goes through the host page cache, cache=none opens
# the image O_DIRECT.  QEMU's nearest: cache=writeback|none with aio=threads (a thread pool
# doing preadv/pwritev; flush = fdatasync).
QEMU_AIO = "threads"

HELPER_C = r"""
/* blkbench: timing for bench/disk.py (guest side and host-side ceiling).
 *   blkbench time LABEL RUN BYTES CMD...    runs CMD, prints its wall time
 *   blkbench randread LABEL RUN PATH SECONDS
 *       4 KiB O_DIRECT preads at random 4 KiB-aligned offsets, one at a time, for
 *       SECONDS; without O_DIRECT (direct=0) where the file system refuses it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc >= 6 && !strcmp(argv[1], "time")) {
		int64_t t0 = now_ns();
		int status;
		pid_t pid = fork();

		if (pid == 0) {
			execvp(argv[5], argv + 5);
			_exit(127);
		}
		waitpid(pid, &status, 0);
		printf("diskbench: %s run=%s bytes=%s ns=%lld status=%d\n", argv[2], argv[3],
		       argv[4], (long long)(now_ns() - t0),
		       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		return 0;
	}
	if (argc == 6 && !strcmp(argv[1], "randread")) {
		int direct = 1, fd = open(argv[4], O_RDONLY | O_DIRECT);
		int64_t limit = (int64_t)(atof(argv[5]) * 1e9), t0, t;
		uint64_t x = 0x9e3779b97f4a7c15ull, blocks, ops = 0, errors = 0;
		void *buf;

		if (fd < 0 && errno == EINVAL) {
			direct = 0;
			fd = open(argv[4], O_RDONLY);
		}
		if (fd < 0 || posix_memalign(&buf, 4096, 4096)) {
			perror(argv[4]);
			return 1;
		}
		blocks = (uint64_t)lseek(fd, 0, SEEK_END) / 4096;
		if (!blocks)
			return 1;
		t0 = now_ns();
		do {
			for (int i = 0; i < 16; i++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				errors += pread(fd, buf, 4096, (off_t)(x % blocks * 4096)) != 4096;
				ops++;
			}
			t = now_ns() - t0;
		} while (t < limit);
		printf("diskbench: %s run=%s ops=%llu bytes=%llu ns=%lld direct=%d errors=%llu\n",
		       argv[2], argv[3], (unsigned long long)ops,
		       (unsigned long long)(ops * 4096), (long long)t, direct,
		       (unsigned long long)errors);
		return 0;
	}
	fprintf(stderr, "usage: blkbench time LABEL RUN BYTES CMD... | "
			"randread LABEL RUN PATH SECONDS\n");
	return 2;
}
"""
# strcmp without <string.h> warnings.
HELPER_C = HELPER_C.replace("#include <time.h>", "#include <string.h>\n#include <time.h>")

LINE_RE = re.compile(r"diskbench: (\S+) ?(.*)")


def parse(text):
    """{(label, run): {key: value}} from diskbench lines (CRs and prefixes tolerated)."""
    res = {}
    for line in text.replace("\r", "").splitlines():
        m = LINE_RE.search(line)
        if not m:
            continue
        kv = key_values(m.group(2))
        res[(m.group(1), kv.get("run", "1"))] = kv
    return res


def rate(kv, what):
    """MB/s or IOPS of one measurement, None if it failed."""
    if not kv or kv.get("status", "0") != "0" or kv.get("errors", "0") != "0":
        return None
    secs = int(kv["ns"]) / 1e9
    if what == "iops":
        return int(kv["ops"]) / secs
    return int(kv["bytes"]) / secs / 1e6


ROWS = (("seq-write MB/s", "seqwrite", "mbs"), ("seq-read MB/s", "seqread", "mbs"),
        ("randread 4K IOPS", "randread", "iops"))


def medians(results, runs):
    """{row: [value of run 1..runs]} for the three rows (None where a run failed); the
    table prints their median and spread."""
    return {row: [rate(results.get((label, str(r))), what) for r in range(1, runs + 1)]
            for row, label, what in ROWS}


def fmt(vals, width=12):
    return f"{with_spread(vals):>{width}}"


def print_table(title, columns, data, ratio_of=None):
    """columns: names; data: {column: {row: value}}; ratio_of: (a, b) adds a column a/b."""
    print(title + "median ±half the range of the runs; the VMMs took turns run by run")
    head = f"{'':18}" + "".join(f"{c:>19}" for c in columns)
    if ratio_of:
        head += f"{'ratio':>10}"
    print(head)
    for row in ("seq-write MB/s", "seq-read MB/s", "randread 4K IOPS"):
        line = f"{row:18}" + "".join(fmt(data[c].get(row, []), 19) for c in columns)
        if ratio_of:
            a = median_of(data[ratio_of[0]].get(row, []))
            b = median_of(data[ratio_of[1]].get(row, []))
            line += f"{a / b:10.2f}" if a and b else f"{'-':>10}"
        print(line)
    if ratio_of:
        print(f"ratio: {ratio_of[0]} / {ratio_of[1]} (above 1: minivmm is faster)")
    sys.stdout.flush()


def make_image(path, mib):
    """A fully allocated image (no holes: a hole reads without touching the disk)."""
    chunk = os.urandom(1 << 20)
    with open(path, "wb") as f:
        for _ in range(mib):
            f.write(chunk)
        f.flush()
        os.fsync(f.fileno())


def direct_io_ok(path):
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_DIRECT))
        return True
    except OSError:
        return False


def ceiling(path, mib, runs, rand_seconds):
    """The host's own dd / blkbench on the file, O_DIRECT if it can; (results, how)."""
    direct = direct_io_ok(path)
    wflag, rflag = (["oflag=direct"], ["iflag=direct"]) if direct else ([], [])
    text = ""
    for r in range(1, runs + 1):
        for label, cmd in (("seqwrite", ["dd", "if=/dev/zero", f"of={path}", "bs=1M",
                                         f"count={mib}", "conv=fsync,notrunc"] + wflag),
                           ("seqread", ["dd", f"if={path}", "of=/dev/null", "bs=1M",
                                        f"count={mib}"] + rflag)):
            p = subprocess.run([HELPER, "time", label, str(r), str(mib << 20)] + cmd,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            text += p.stdout
        p = subprocess.run([HELPER, "randread", "randread", str(r), path, str(rand_seconds)],
                           stdout=subprocess.PIPE, text=True)
        text += p.stdout
    how = "O_DIRECT dd/blkbench on the file" if direct else \
        "buffered dd/blkbench on the file (its file system refuses O_DIRECT)"
    return parse(text), how


# ---- direct part: the test guest ------------------------------------------------------

def direct_once(argv, limit, ok_status=0):
    """One blk_bench run: {(label, '1'): kv} timed by the host from the guest's lines."""
    begin, res = {}, {}

    def on_line(s, t):
        m = re.search(r"blk_bench: (begin|end) (\w+)(.*)", s)
        if not m:
            return
        if m.group(1) == "begin":
            begin[m.group(2)] = t
        elif m.group(2) in begin:
            kv = key_values(m.group(3))
            kv["ns"] = str(int((t - begin[m.group(2)]) * 1e9))
            res[(m.group(2), "1")] = kv
    r = run_vmm(argv, limit, on_line)
    if r.status != ok_status:
        print(f"  run failed (status {r.status}); last lines:" + indented(r.last_lines(8)),
              flush=True)
    return res


def direct_part(args, tmp):
    elf = os.path.join(BUILD, "guests", "blk_bench.elf")
    require((elf, MINIVMM, HELPER), "disk", "run make all guests")
    mib = args.direct_mib
    img = os.path.join(tmp, "direct.img")
    make_image(img, mib)
    ticks = max(1, round(args.rand_seconds))
    cmdline = f"seq_mib={mib} rand_ticks={ticks}"
    print(f"\n== direct: test guest blk_bench (polled virtio-blk driver, queue depth 1, "
          f"1 MiB sequential requests, {mib} MiB image) on {WHERE_DIRECT}; median of {args.runs}",
          flush=True)
    columns, data = [], {}
    modes = ["none", "writeback"] if direct_io_ok(img) else ["writeback"]
    rows = {}
    for mode in modes:
        rows[f"minivmm {mode}"] = (minivmm_argv(elf, "256M", 1, 120) + [
            "--disk", f"{img},cache={mode}", "--cmdline", cmdline], 0)
    qemu_ok = not PVM and shutil.which("qemu-system-x86_64")
    if qemu_ok:
        # rtc=on: the guest's random-read phase counts RTC seconds.  QEMU's isa-debug-exit
        # turns the guest's status 0 into 1.
        rows["qemu writeback"] = (qemu_microvm_argv("256M", 1, "microvm,rtc=on", debug_exit=True) + [
            "-global", "virtio-mmio.force-legacy=false", "-kernel", elf, "-append", cmdline,
            "-drive", f"id=d0,file={img},format=raw,if=none,cache=writeback,aio={QEMU_AIO}",
            "-device", "virtio-blk-device,drive=d0"], 1)
    runs = interleaved(list(rows), args.runs,
                       lambda n, r: direct_once(rows[n][0], 150, ok_status=rows[n][1]))
    for name in rows:
        merged = {(label, str(r)): kv for r, res in enumerate(runs[name], 1)
                  for (label, _), kv in res.items()}
        columns.append(name)
        data[name] = medians(merged, args.runs)
    ceil, how = ceiling(img, mib, args.runs, args.rand_seconds)
    columns.append("ceiling")
    data["ceiling"] = medians(ceil, args.runs)
    print_table("", columns, data, ("minivmm writeback", "qemu writeback") if qemu_ok else None)
    print(f"minivmm: cache=none is O_DIRECT preadv/pwritev, cache=writeback the host page "
          f"cache, FLUSH = fdatasync; requests run on minivmm's event-loop thread.")
    if qemu_ok:
        print(f"qemu: -drive cache=writeback,aio={QEMU_AIO}.")
    else:
        print("qemu: not run: on a PVM /dev/kvm QEMU cannot run a guest (it stops at the "
              "first instruction KVM's emulator lacks); see the linux table for QEMU.")
    print(f"ceiling: {how} ({mib} MiB sequential with 1 MiB blocks; 4 KiB random reads "
          f"for {args.rand_seconds:g} s).  cache=writeback reads may beat it: they come from "
          f"the host page cache.", flush=True)
    os.unlink(img)


# ---- linux part: Debian's cloud kernel --------------------------------------------------

GUEST_SCRIPT = r"""
dev=
for s in /sys/block/vd*; do
	[ "$(cat $s/serial 2>/dev/null)" = @SERIAL@ ] && dev=/dev/${s##*/}
done
echo "diskbench: disks data=$dev root=$(grep ' / ' /proc/mounts | cut -d' ' -f1) sectors=$(cat /sys/block/${dev#/dev/}/size) clock=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
dd if=/dev/vdc of=/tmp/blkbench bs=@SCRIPT_BYTES@ skip=1 count=@HELPER_BLOCKS@ 2>/dev/null
chmod +x /tmp/blkbench
i=1
while [ $i -le @RUNS@ ]; do
	/tmp/blkbench time seqwrite $i @BYTES@ dd if=/dev/zero of=$dev bs=1M count=@MIB@ oflag=direct conv=fsync 2>/dev/null
	/tmp/blkbench time seqread $i @BYTES@ dd if=$dev of=/dev/null bs=1M count=@MIB@ iflag=direct 2>/dev/null
	/tmp/blkbench randread randread $i $dev @SECONDS@
	i=$((i + 1))
done
echo "diskbench: done"
exit 0
"""


def make_script_disk(path, args):
    helper = open(HELPER, "rb").read()
    blocks = (len(helper) + SCRIPT_BYTES - 1) // SCRIPT_BYTES
    script = GUEST_SCRIPT
    for k, v in (("@SERIAL@", DATA_SERIAL), ("@SCRIPT_BYTES@", str(SCRIPT_BYTES)),
                 ("@HELPER_BLOCKS@", str(blocks)), ("@RUNS@", str(args.runs)),
                 ("@BYTES@", str(args.mib << 20)), ("@MIB@", str(args.mib)),
                 ("@SECONDS@", f"{args.rand_seconds:g}")):
        script = script.replace(k, v)
    data = script.encode()
    assert len(data) < SCRIPT_BYTES
    with open(path, "wb") as f:
        # sh stops at `exit`; the zeros and the binary after it are never read as script.
        f.write(data + b"\0" * (SCRIPT_BYTES - len(data)) + helper)
        f.write(b"\0" * (-f.tell() % 65536))


def linux_part(args, tmp):
    kernel = os.path.join(CACHE, "debian-kernel/cloud/vmlinuz")
    initrd = os.path.join(CACHE, "guest-initramfs.cpio.gz")
    rootfs = os.path.join(CACHE, "root.img")
    require((kernel, initrd, rootfs, MINIVMM, HELPER), "disk",
            "run make all guests and tests/linux/prepare")
    root, data, script = (os.path.join(tmp, n) for n in ("root.img", "data.img", "script.img"))
    shutil.copyfile(rootfs, root)
    make_image(data, args.mib)
    # One measurement per boot: the boots of the VMMs take turns (interleaved()).
    make_script_disk(script, argparse.Namespace(**{**vars(args), "runs": 1}))
    mode = "none" if direct_io_ok(data) else "writeback"
    print(f"\n== linux: Debian cloud kernel, 1 vCPU, 256 MiB, dd bs=1M x {args.mib} MiB "
          f"(O_DIRECT in the guest) and 4 KiB O_DIRECT random reads for "
          f"{args.rand_seconds:g} s on /dev/vdb; cache={mode} on both; on {WHERE_LINUX}; "
          f"median of {args.runs}", flush=True)
    cmdline = ("console=ttyS0 quiet panic=-1 root=/dev/vda run=sh${IFS}/dev/vdc "
               "minivmm.action=poweroff")
    limit = 120 + 3 * args.rand_seconds + 60
    # QEMU's first -device gets the highest virtio-mmio window, and Linux (probing the
    # DSDT's devices in its order) makes it vda: the same order as minivmm's --disk.
    qemu_disks = []
    for i, (path, extra) in enumerate(((root, ""), (data, ""), (script, ",readonly=on"))):
        qemu_disks += ["-drive", f"id=d{i},file={path},format=raw,if=none,cache={mode},"
                       f"aio={QEMU_AIO}{extra}",
                       "-device", f"virtio-blk-device,drive=d{i}" +
                       (f",serial={DATA_SERIAL}" if path == data else "")]
    rows = [
        ("minivmm", minivmm_argv(kernel, "256M", 1, limit) + [
            "--initrd", initrd, "--cmdline", cmdline, "--disk", f"{root},cache={mode}",
            "--disk", f"{data},serial={DATA_SERIAL},cache={mode}",
            "--disk", f"{script},ro,cache={mode}"]),
        ("qemu", qemu_microvm_argv("256M", 1) + ["-kernel", kernel, "-initrd", initrd,
                                                  "-append", cmdline] + qemu_disks),
    ]
    rows = dict(rows)

    def one(name, run):
        t0 = time.monotonic()
        r = run_vmm(rows[name], limit + 30)
        res = parse(r.text)
        disks = res.get(("disks", "1"), {})
        vals = [rate(res.get((lbl, "1")), w) for _, lbl, w in ROWS]
        print(f"  {name} run {run}: status {r.status} after {time.monotonic() - t0:.0f} s; "
              f"guest saw data={disks.get('data', '?')} root={disks.get('root', '?')}, "
              f"clocksource {disks.get('clock', '?')}: " +
              ", ".join("-" if v is None else f"{v:.1f}" for v in vals), flush=True)
        if ("done", "1") not in res:
            print("  " + name + " did not finish; last lines:" + indented(r.last_lines(15)),
                  flush=True)
        return {(label, str(run)): kv for (label, _), kv in res.items()}

    runs = interleaved(list(rows), args.runs, one)
    data_cols = {}
    for name in rows:
        merged = {k: v for res in runs[name] for k, v in res.items()}
        data_cols[name] = medians(merged, args.runs)
    ceil, how = ceiling(data, args.mib, args.runs, args.rand_seconds)
    data_cols["ceiling"] = medians(ceil, args.runs)
    print_table("", ["minivmm", "qemu", "ceiling"], data_cols, ("minivmm", "qemu"))
    print(f"minivmm: --disk ...,cache={mode}: preadv/pwritev on its event-loop thread, "
          f"FLUSH = fdatasync.  qemu: -drive cache={mode},aio={QEMU_AIO} "
          f"(virtio-blk-device on -M microvm).")
    print(f"ceiling: {how}.", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=("direct", "linux", "both"), default="both")
    ap.add_argument("-n", "--runs", type=int, default=3)
    ap.add_argument("--mib", type=int, default=128, help="linux part: MiB per dd")
    ap.add_argument("--direct-mib", type=int, default=128, help="direct part: image MiB")
    ap.add_argument("--rand-seconds", type=float, default=2.0)
    args = ap.parse_args()

    if not IN_L1:
        build_static_helper(HELPER, HELPER_C)
    rerun_in_l1_without_kvm(2400)
    tmp = tempfile.mkdtemp(prefix="minivmm-disk-bench-")
    try:
        if args.part in ("direct", "both"):
            direct_part(args, tmp)
        if args.part in ("linux", "both"):
            if PVM and not IN_L1:
                # Guest kernel code is emulated on PVM: Linux runs only in L1.
                # With --part both, L1 runs the direct part again, there with QEMU.
                inner = ["python3", "bench/disk.py", "--part", args.part, "--runs",
                         str(args.runs), "--mib", str(args.mib), "--rand-seconds",
                         f"{args.rand_seconds:g}", "--direct-mib", str(args.direct_mib)]
                rc = rerun_in_l1(inner, 1500)
                if rc:
                    sys.exit(rc)
            else:
                linux_part(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
