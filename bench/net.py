#!/usr/bin/env python3
"""Network benchmark: virtio-net in minivmm vs QEMU microvm, on the same TAP setup.

Throughput guest->host and host->guest and a request/response round trip.  Prints tables;
asserts nothing.  MB/s are 10^6 bytes per second.

Two parts:
  direct  The freestanding test guest tests/guests/net_bench.c (polled virtio-net driver,
          no offloads, 8 TX chains in flight) under minivmm on this /dev/kvm, once through
          --net tap (a TAP in a network namespace this script makes) and once through
          --net user (libslirp).  Phases of TICKS RTC seconds each: a burst of 60-byte and
          one of 1514-byte UDP frames to a host socket, UDP request/response with a host
          echo socket (one in flight), and (TAP only) a host flood of 1514-byte UDP frames
          that the guest counts.  The host times the guest's "begin"/"end" lines and counts
          what its sockets received; MB/s count whole Ethernet frames (no FCS).  QEMU
          (-M microvm,rtc=on, virtio-net-device, tap with vhost=off, or user) only where
          /dev/kvm is not PVM (on PVM QEMU cannot run a guest: ../shared/HOST-KVM.md); on a
          PVM host, --part both runs the direct part here (minivmm only) and again inside
          the SVM test host, there with QEMU, before the linux part.
  linux   Debian's cloud kernel + the tiny initramfs (tests/linux/prepare), eth0 with a
          static address (init.sh's minivmm.net=), on a TAP in a network namespace, with
          minivmm (--net tap=) and QEMU (-M microvm, -netdev tap,vhost=off,
          -device virtio-net-device: no vhost, as minivmm has none).  A guest script and a
          small static C program (netbench, below) are appended to the initramfs; the
          same program serves on the host side.  RUNS times: guest->host TCP stream of MIB
          MiB, host->guest TCP stream of MIB MiB, and a TCP request/response (1 byte each
          way, TCP_NODELAY, one in flight, like netperf's TCP_RR) for RR_SECONDS.  The
          host side's clock is the one used: a stream ends when the receiver has every
          byte (host->guest: when the guest's 1-byte acknowledgement arrives).  On a PVM
          host this part re-runs itself inside the SVM test host (tests/hostvm/run), where
          every number is a TCG number: compare the ratios.
Everything runs in a network namespace the script makes (unshare -n; -rn when not root);
without one, the direct part runs over --net user only and the linux part is refused.

Usage: bench/net.py [--part direct|linux|both] [-n RUNS] [--mib MIB] [--rr-seconds S]
                    [--ticks T] [--direct-runs N]
"""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (BUILD, CACHE, IN_L1, MINIVMM, PVM, WHERE_DIRECT,  # noqa: E402
                      WHERE_LINUX, build_static_helper, indented, key_values, median_of,
                      minivmm_argv, qemu_microvm_argv, require, rerun_in_l1, run_vmm,
                      interleaved, rerun_in_l1_without_kvm, spread_pct)

HELPER = os.path.join(BUILD, "bench", "netbench")
IN_NETNS = os.environ.get("NET_BENCH_NETNS") == "1"
TAP = "mvmbench0"
# The Linux part's link, and the direct part's (the test guest's defaults differ on purpose:
# its addresses come from the command line).
LINUX_HOST, LINUX_GUEST = "192.168.78.1", "192.168.78.2"
DIRECT_HOST, DIRECT_GUEST = "192.168.79.1", "192.168.79.2"
LINUX_PORT = 5201

HELPER_C = r"""
/* netbench: both ends of bench/net.py's Linux part.
 *   netbench serve PORT                       the host side: one connection at a time
 *   netbench tx HOST PORT BYTES RUN           guest->host: send BYTES, wait for the count
 *   netbench rx HOST PORT BYTES RUN           host->guest: receive BYTES, acknowledge
 *   netbench rr HOST PORT SECONDS RUN         1-byte request, 1-byte response, repeat
 * Each connection starts with a 16-byte header {char kind[4], u32 run, u64 bytes}; both
 * ends print "netbench: host|guest KIND run=R bytes=N|ops=N ns=T". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct hdr {
	char kind[4];
	uint32_t run;
	uint64_t bytes;
};

static char buf[1 << 16];

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static int full(int fd, void *p, size_t n, int wr)
{
	for (size_t done = 0; done < n;) {
		ssize_t r = wr ? write(fd, (char *)p + done, n - done) :
				 read(fd, (char *)p + done, n - done);
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

/* A stalled transfer fails its run (short byte count) instead of hanging the benchmark. */
static void timeouts(int fd)
{
	struct timeval tv = {.tv_sec = 60};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void serve_one(int fd)
{
	struct hdr h;
	uint64_t n = 0;
	int64_t t0, t1;
	char c;

	timeouts(fd);
	if (full(fd, &h, sizeof(h), 0))
		return;
	t0 = now_ns();
	if (!memcmp(h.kind, "TX", 3)) {
		ssize_t r;

		while ((r = read(fd, buf, sizeof(buf))) > 0)
			n += (uint64_t)r;
		t1 = now_ns();
		full(fd, &n, sizeof(n), 1);
		printf("netbench: host tx run=%u bytes=%llu ns=%lld\n", h.run,
		       (unsigned long long)n, (long long)(t1 - t0));
	} else if (!memcmp(h.kind, "RX", 3)) {
		for (n = 0; n < h.bytes;) {
			size_t k = h.bytes - n < sizeof(buf) ? h.bytes - n : sizeof(buf);

			if (full(fd, buf, k, 1))
				break;
			n += k;
		}
		c = 0;
		read(fd, &c, 1);
		t1 = now_ns();
		printf("netbench: host rx run=%u bytes=%llu ns=%lld ack=%d\n", h.run,
		       (unsigned long long)n, (long long)(t1 - t0), c == 'A');
	} else if (!memcmp(h.kind, "RR", 3)) {
		nodelay(fd);
		t1 = t0;
		while (read(fd, &c, 1) == 1 && write(fd, &c, 1) == 1) {
			n++;
			t1 = now_ns();
		}
		printf("netbench: host rr run=%u ops=%llu ns=%lld\n", h.run,
		       (unsigned long long)n, (long long)(t1 - t0));
	}
	fflush(stdout);
}

static int serve(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 4)) {
		perror("netbench: bind");
		return 1;
	}
	printf("netbench: listening\n");
	fflush(stdout);
	for (;;) {
		int fd = accept(s, NULL, NULL);

		if (fd < 0)
			continue;
		serve_one(fd);
		close(fd);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	struct hdr h = {{0}};
	uint64_t n = 0, got = 0;
	int64_t t0, t1 = 0, limit;
	int fd;
	char c = 'A';

	if (argc == 3 && !strcmp(argv[1], "serve"))
		return serve(atoi(argv[2]));
	if (argc != 6 || (strcmp(argv[1], "tx") && strcmp(argv[1], "rx") && strcmp(argv[1], "rr"))) {
		fprintf(stderr, "usage: netbench serve PORT | tx|rx|rr HOST PORT BYTES|SECONDS RUN\n");
		return 2;
	}
	a.sin_port = htons(atoi(argv[3]));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (inet_pton(AF_INET, argv[2], &a.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("netbench: connect");
		return 1;
	}
	timeouts(fd);
	h.kind[0] = (char)(argv[1][0] & ~0x20);
	h.kind[1] = (char)(argv[1][1] & ~0x20);
	h.run = (uint32_t)atoi(argv[5]);
	h.bytes = strtoull(argv[4], NULL, 0);
	if (h.kind[0] == 'R' && h.kind[1] == 'R')
		nodelay(fd);
	t0 = now_ns();
	if (full(fd, &h, sizeof(h), 1))
		return 1;
	if (!strcmp(argv[1], "tx")) {
		for (n = 0; n < h.bytes;) {
			size_t k = h.bytes - n < sizeof(buf) ? h.bytes - n : sizeof(buf);

			if (full(fd, buf, k, 1))
				break;
			n += k;
		}
		shutdown(fd, SHUT_WR);
		full(fd, &got, sizeof(got), 0);
		t1 = now_ns();
		printf("netbench: guest tx run=%u bytes=%llu ns=%lld got=%llu\n", h.run,
		       (unsigned long long)n, (long long)(t1 - t0), (unsigned long long)got);
	} else if (!strcmp(argv[1], "rx")) {
		ssize_t r;

		while (n < h.bytes && (r = read(fd, buf, sizeof(buf))) > 0)
			n += (uint64_t)r;
		t1 = now_ns();
		write(fd, &c, 1);
		printf("netbench: guest rx run=%u bytes=%llu ns=%lld\n", h.run,
		       (unsigned long long)n, (long long)(t1 - t0));
	} else {
		limit = (int64_t)(atof(argv[4]) * 1e9);
		do {
			if (write(fd, &c, 1) != 1 || read(fd, &c, 1) != 1)
				break;
			n++;
			t1 = now_ns();
		} while (t1 - t0 < limit);
		printf("netbench: guest rr run=%u ops=%llu ns=%lld\n", h.run,
		       (unsigned long long)n, (long long)(t1 - t0));
	}
	fflush(stdout);
	close(fd);
	return 0;
}
"""

LINE_RE = re.compile(r"netbench: (host|guest) (tx|rx|rr) (.*)")


def sh(*cmd):
    """Runs a setup command; returns its error text, or None."""
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return None if p.returncode == 0 else (p.stderr.strip() or f"{cmd[0]} failed")


def tap_up(host_ip):
    """A fresh TAP (no neighbour entries from the last guest's MAC); None or the error."""
    sh("ip", "tuntap", "del", "dev", TAP, "mode", "tap")
    if not os.path.exists("/dev/net/tun"):
        return "no /dev/net/tun (load the tun module)"
    return (sh("ip", "tuntap", "add", "dev", TAP, "mode", "tap") or
            sh("ip", "addr", "add", f"{host_ip}/24", "dev", TAP) or
            sh("ip", "link", "set", TAP, "up"))


def tap_down():
    sh("ip", "tuntap", "del", "dev", TAP, "mode", "tap")


def reexec_in_netns():
    """Re-runs this script in a network namespace of its own (unshare -n, -rn if not root);
    returns its exit status, or None if no namespace can be made."""
    userns = [] if os.geteuid() == 0 else ["-r"]
    if subprocess.run(["unshare"] + userns + ["-n", "true"], stderr=subprocess.DEVNULL).returncode:
        return None
    env = dict(os.environ, NET_BENCH_NETNS="1")
    return subprocess.run(["unshare"] + userns + ["-n", sys.executable, os.path.abspath(__file__)]
                          + sys.argv[1:], env=env).returncode


def fmt(vals, width):
    """The median of a list of values (None ignored) and, with two or more, +-half their
    range in percent; a single value as it is."""
    if not isinstance(vals, list):
        vals = [vals]
    v = median_of(vals)
    if v is None:
        return f"{'-':>{width}}"
    sp = spread_pct(vals)
    text = f"{v:.0f}" if v >= 1000 else f"{v:.2f}"
    return f"{text + ('' if sp is None else f' ±{sp:.0f}%'):>{width}}"


def print_table(rows, columns, data, ratio_of=None, width=16):
    """rows: names; data: {column: {row: value}}; ratio_of: (a, b) adds a column a/b."""
    print("median ±half the range of the runs; the VMMs took turns run by run")
    head = f"{'':26}" + "".join(f"{c:>{width}}" for c in columns)
    if ratio_of:
        head += f"{ratio_of[0] + '/' + ratio_of[1]:>{width}}"
    print(head)
    for row in rows:
        line = f"{row:26}" + "".join(fmt(data[c].get(row), width) for c in columns)
        if ratio_of:
            a = median_of(data[ratio_of[0]].get(row) or [])
            b = median_of(data[ratio_of[1]].get(row) or [])
            line += f"{a / b:{width}.2f}" if a and b else f"{'-':>{width}}"
        print(line)
    sys.stdout.flush()


# ---- direct part: the test guest ------------------------------------------------------

class HostSide:
    """The host's UDP sink and echo sockets, and (on demand) a flood towards the guest."""

    def __init__(self):
        self.sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:  # past rmem_max where we may: a burst must not overflow it
            self.sink.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), 8 << 20)
        except OSError:
            self.sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sink.bind(("0.0.0.0", 0))
        self.echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.echo.bind(("0.0.0.0", 0))
        self.sink_port = self.sink.getsockname()[1]
        self.echo_port = self.echo.getsockname()[1]
        self.counts = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.flooding = threading.Event()
        self.threads = [threading.Thread(target=f, daemon=True)
                        for f in (self._sink_loop, self._echo_loop)]
        for t in self.threads:
            t.start()

    def _sink_loop(self):
        buf = bytearray(2048)
        self.sink.settimeout(0.2)
        while not self.stop.is_set():
            try:
                n = self.sink.recv_into(buf)
            except socket.timeout:
                continue
            with self.lock:
                self.counts[n] = self.counts.get(n, 0) + 1

    def _echo_loop(self):
        self.echo.settimeout(0.2)
        while not self.stop.is_set():
            try:
                data, peer = self.echo.recvfrom(2048)
            except socket.timeout:
                continue
            self.echo.sendto(data, peer)

    def received(self, payload):
        with self.lock:
            return self.counts.get(payload, 0)

    def flood(self, dest):
        """1472-byte datagrams to dest in bursts of 64 with a short sleep between: more than
        the guest takes (the TAP queue drops the rest) without owning a host core."""
        self.flooding.set()

        def loop():
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            data = bytes(1472)
            while self.flooding.is_set():
                for _ in range(64):
                    try:
                        s.sendto(data, dest)
                    except OSError:
                        break
                time.sleep(0.0005)
            s.close()
        t = threading.Thread(target=loop, daemon=True)
        t.start()
        self.threads.append(t)

    def close(self):
        self.flooding.clear()
        self.stop.set()
        for t in self.threads:
            t.join()
        self.sink.close()
        self.echo.close()


DIRECT_ROWS = ("g->h 60 B frames/s", "g->h 60 B MB/s", "g->h 1514 B frames/s",
               "g->h 1514 B MB/s", "h->g 1514 B frames/s", "h->g 1514 B MB/s",
               "UDP RR /s", "UDP RR latency us")


def direct_argv(vmm, elf, mode, cmdline, ticks):
    """(argv, the exit status of a clean run) for VMM minivmm or qemu."""
    if vmm == "qemu":
        net = (f"tap,id=n0,ifname={TAP},script=no,downscript=no,vhost=off" if mode == "tap"
               else "user,id=n0")
        # QEMU's isa-debug-exit turns the guest's status 0 into 1.
        # rtc=on: microvm leaves the RTC out under KVM by default, and the guest's phases
        # are counted in RTC seconds.
        return qemu_microvm_argv("64M", 1, "microvm,rtc=on", debug_exit=True) + [
            "-global", "virtio-mmio.force-legacy=false", "-kernel", elf, "-append", cmdline,
            "-netdev", net, "-device", "virtio-net-device,netdev=n0"], 1
    net = f"tap={TAP}" if mode == "tap" else "user"
    return minivmm_argv(elf, "64M", 1, 20 + 6 * ticks) + ["--cmdline", cmdline,
                                                         "--net", net], 0


def direct_once(vmm, elf, mode, ticks):
    """One net_bench run; {row: value} plus notes."""
    host = HostSide()
    begin, phases, notes = {}, {}, []

    def on_line(s, t):
        m = re.search(r"net_bench: (begin|end) (\w+)(.*)", s)
        if not m:
            return
        what = m.group(2)
        if m.group(1) == "begin":
            begin[what] = t
            if what == "rx":
                host.flood((DIRECT_GUEST, 40125))
            return
        if what == "rx":
            host.flooding.clear()
        if what in begin:
            phases[what] = (t - begin[what], key_values(m.group(3)))

    if mode == "tap":
        cmdline = f"mode=tap ip={DIRECT_GUEST} peer={DIRECT_HOST} rx=1"
    else:
        cmdline = "mode=user"
    cmdline += f" port={host.sink_port} echo_port={host.echo_port} ticks={ticks}"
    argv, ok_status = direct_argv(vmm, elf, mode, cmdline, ticks)
    try:
        r = run_vmm(argv, 40 + 6 * ticks, on_line)
        time.sleep(0.3)  # the sink thread takes what is still in its socket
    finally:
        host.close()
    res = {}
    for what, (secs, kv) in phases.items():
        if what in ("txsmall", "txlarge"):
            size = int(kv["frame_bytes"])
            got = host.received(size - 42)
            label = "60 B" if what == "txsmall" else "1514 B"
            res[f"g->h {label} frames/s"] = got / secs
            res[f"g->h {label} MB/s"] = got * size / secs / 1e6
            notes.append(f"{what}: sent {kv['frames']}, host got {got} in {secs:.2f} s")
        elif what == "rr":
            ops = int(kv["ops"])
            if ops:
                res["UDP RR /s"] = ops / secs
                res["UDP RR latency us"] = secs / ops * 1e6
            notes.append(f"rr: {ops} exchanges, {kv.get('lost')} lost, in {secs:.2f} s")
        elif what == "rx":
            frames, nbytes = int(kv["frames"]), int(kv["bytes"])
            res["h->g 1514 B frames/s"] = frames / secs
            res["h->g 1514 B MB/s"] = nbytes / secs / 1e6
            notes.append(f"rx: guest got {frames} frames in {secs:.2f} s")
    if r.status != ok_status:
        notes.append(f"status {r.status}; last lines: " + " | ".join(r.last_lines(6)))
    return res, notes


def direct_part(args):
    elf = os.path.join(BUILD, "guests", "net_bench.elf")
    require((elf, MINIVMM), "net", "run make all guests")
    qemu_ok = not PVM and shutil.which("qemu-system-x86_64")
    print(f"\n== direct: test guest net_bench (polled virtio-net driver, no offloads, "
          f"8 TX chains in flight) on {WHERE_DIRECT}; phases of {args.ticks} RTC seconds; "
          f"median of {args.direct_runs}", flush=True)
    modes = []
    if IN_NETNS and os.path.exists("/dev/net/tun"):
        modes.append("tap")
    else:
        print("  tap: skipped: " + ("no /dev/net/tun (load the tun module)" if IN_NETNS else
                                    "no network namespace of our own (unshare -n or -rn)"))
    modes.append("user")
    columns, data = [], {}
    for mode in modes:
        names = ["minivmm"] + (["qemu"] if qemu_ok else [])

        def one(name, r):
            col = f"{name} {mode}"
            # A fresh TAP per VMM and run: no neighbour entry for the other VMM's MAC.
            err = tap_up(DIRECT_HOST) if mode == "tap" else None
            if err:
                print(f"  {col} run {r}: skipped: cannot create TAP {TAP}: {err}")
                return {}
            try:
                res, notes = direct_once(MINIVMM if name == "minivmm" else "qemu", elf, mode,
                                         args.ticks)
            finally:
                if mode == "tap":
                    tap_down()
            print(f"  {col} run {r}: " + "; ".join(notes), flush=True)
            return res

        runs = interleaved(names, args.direct_runs, one)
        for name in names:
            col = f"{name} {mode}"
            columns.append(col)
            data[col] = {row: [r.get(row) for r in runs[name]] for row in DIRECT_ROWS}
    print_table(DIRECT_ROWS, columns, data)
    print("g->h: UDP to a host socket, counted there (lost frames do not count); h->g: the "
          "host floods the TAP, the guest counts what it took (user mode has no h->g row: "
          "slirp forwards only TCP into the guest); RR: one 18-byte UDP datagram to a "
          "Python echo socket and back, one in flight.  MB/s: whole Ethernet frames.")
    if qemu_ok:
        print("qemu: -netdev tap,vhost=off (no vhost: minivmm has none) or user, "
              "-device virtio-net-device.", flush=True)
    else:
        print("qemu: not run: on a PVM /dev/kvm QEMU cannot run a guest (it stops at the "
              "first instruction KVM's emulator lacks); see the linux table.", flush=True)


# ---- linux part: Debian's cloud kernel --------------------------------------------------

GUEST_SCRIPT = r"""
arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^netbench\.$1=//p" | tail -1; }
h=$(arg host)
p=$(arg port)
echo "netbench: guest eth0=$(ip -4 -o addr show dev eth0 | sed -n 's/.* inet \([^ ]*\).*/\1/p') clock=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource) mtu=$(cat /sys/class/net/eth0/mtu)"
i=1
while [ $i -le $(arg runs) ]; do
	/netbench tx $h $p $(arg bytes) $i
	/netbench rx $h $p $(arg bytes) $i
	/netbench rr $h $p $(arg rr) $i
	i=$((i + 1))
done
echo "netbench: guest done"
"""

LINUX_ROWS = ("guest->host MB/s", "host->guest MB/s", "TCP RR /s", "TCP RR latency us")


def make_initrd(path, tmp, args):
    cpio_dir = os.path.join(tmp, "cpio")
    os.makedirs(cpio_dir, exist_ok=True)
    with open(os.path.join(cpio_dir, "net-bench.sh"), "w") as f:
        f.write(GUEST_SCRIPT)
    shutil.copy(HELPER, os.path.join(cpio_dir, "netbench"))
    os.chmod(os.path.join(cpio_dir, "netbench"), 0o755)
    extra = subprocess.run(["cpio", "-o", "-H", "newc", "-R", "0:0", "--quiet"],
                           input=b"net-bench.sh\nnetbench\n", cwd=cpio_dir,
                           stdout=subprocess.PIPE, check=True).stdout
    base = subprocess.run(["gzip", "-dc", os.path.join(CACHE, "guest-initramfs.cpio.gz")],
                          stdout=subprocess.PIPE, check=True).stdout
    # Uncompressed, as tests/linux/net-checks.sh does: the kernel rejects an archive
    # appended to a gzip'ed one; cpio's 512-byte blocks keep the second one aligned.
    with open(path, "wb") as f:
        f.write(base + extra)


def parse_linux(text, who):
    """{(kind, run): {key: value}} from 'netbench: WHO kind ...' lines."""
    res = {}
    for line in text.replace("\r", "").splitlines():
        m = LINE_RE.search(line)
        if not m or m.group(1) != who:
            continue
        kv = key_values(m.group(3))
        res[(m.group(2), kv.get("run", "1"))] = kv
    return res


def linux_rates(host, run, want_bytes):
    """{row: value} of one run from the host side's lines."""
    out = {}
    tx, rx, rr = (host.get((k, str(run))) for k in ("tx", "rx", "rr"))
    if tx and int(tx["bytes"]) == want_bytes:
        out["guest->host MB/s"] = want_bytes / (int(tx["ns"]) / 1e9) / 1e6
    if rx and int(rx["bytes"]) == want_bytes and rx.get("ack", "1") == "1":
        out["host->guest MB/s"] = want_bytes / (int(rx["ns"]) / 1e9) / 1e6
    if rr and int(rr["ops"]):
        out["TCP RR /s"] = int(rr["ops"]) / (int(rr["ns"]) / 1e9)
        out["TCP RR latency us"] = int(rr["ns"]) / 1e3 / int(rr["ops"])
    return out


def linux_part(args, tmp):
    kernel = os.path.join(CACHE, "debian-kernel/cloud/vmlinuz")
    require((kernel, os.path.join(CACHE, "guest-initramfs.cpio.gz"), MINIVMM, HELPER), "net",
            "run make all guests and tests/linux/prepare")
    if not IN_NETNS:
        sys.exit("net: the linux part runs in a network namespace of its own (unshare -n)")
    sh("ip", "link", "set", "lo", "up")
    initrd = os.path.join(tmp, "initrd")
    make_initrd(initrd, tmp, args)
    nbytes = args.mib << 20
    print(f"\n== linux: Debian cloud kernel, 1 vCPU, 256 MiB, eth0 {LINUX_GUEST}/24 on TAP "
          f"{TAP} ({LINUX_HOST}); TCP streams of {args.mib} MiB each way, TCP RR (1 byte, "
          f"one in flight) for {args.rr_seconds:g} s; on {WHERE_LINUX}; median of {args.runs}",
          flush=True)
    cmdline = (f"console=ttyS0 quiet panic=-1 minivmm.net={LINUX_GUEST}/24 "
               f"run=sh${{IFS}}/net-bench.sh netbench.host={LINUX_HOST} "
               f"netbench.port={LINUX_PORT} netbench.bytes={nbytes} netbench.runs=1 "
               f"netbench.rr={args.rr_seconds:g} minivmm.action=poweroff")
    # Generous for TCG (MB/s in the tens); a stalled stream fails its run after 60 s.
    limit = 120 + args.rr_seconds + args.mib / 2 + 20
    rows = [
        ("minivmm", minivmm_argv(kernel, "256M", 1, limit) + [
            "--initrd", initrd, "--cmdline", cmdline, "--net", f"tap={TAP}"]),
        ("qemu", qemu_microvm_argv("256M", 1) + [
            "-kernel", kernel, "-initrd", initrd, "-append", cmdline,
            "-netdev", f"tap,id=n0,ifname={TAP},script=no,downscript=no,vhost=off",
            "-device", "virtio-net-device,netdev=n0"]),
    ]
    rows = dict(rows)

    # One boot per run (netbench.runs=1), the VMMs taking turns.
    def one(name, run):
        argv = rows[name]
        err = tap_up(LINUX_HOST)
        if err:
            print(f"  {name} run {run}: cannot create TAP {TAP}: {err}")
            return {}
        log = os.path.join(tmp, f"server-{name}.log")
        with open(log, "w") as out:
            server = subprocess.Popen([HELPER, "serve", str(LINUX_PORT)], stdout=out,
                                      stderr=subprocess.STDOUT)
        try:
            t0 = time.monotonic()
            r = run_vmm(argv, limit + 30,
                        (lambda s, t: print("    | " + s, flush=True)) if args.verbose else None)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait()
            tap_down()
        host = parse_linux(open(log).read(), "host")
        guest = parse_linux(r.text, "guest")
        info = re.search(r"netbench: guest eth0=(\S*) clock=(\S*) mtu=(\S*)", r.text)
        print(f"  {name} run {run}: status {r.status} after {time.monotonic() - t0:.0f} s; guest eth0 "
              f"{info.group(1) if info else '?'}, clocksource {info.group(2) if info else '?'}, "
              f"mtu {info.group(3) if info else '?'}", flush=True)
        if "netbench: guest done" not in r.text:
            print(f"  {name} did not finish; last lines:" + indented(r.last_lines(15)),
                  flush=True)
        vals = linux_rates(host, 1, nbytes)
        g = linux_rates(guest, 1, nbytes)
        print(f"    run {run}: " + ", ".join(
            f"{short} {fmt(vals.get(row), 0).strip()} (guest clock "
            f"{fmt(g.get(row), 0).strip()})"
            for short, row in (("g->h MB/s", LINUX_ROWS[0]), ("h->g MB/s", LINUX_ROWS[1]),
                               ("RR/s", LINUX_ROWS[2]))), flush=True)
        return vals

    names = [n for n in rows if n in args.vmms.split(",")]
    runs = interleaved(names, args.runs, one)
    data = {n: {} for n in rows}
    for name in names:
        data[name] = {row: [v.get(row) for v in runs[name]] for row in LINUX_ROWS}
    print_table(LINUX_ROWS, ["minivmm", "qemu"], data, ("minivmm", "qemu"))
    print("Timed by the host side (netbench serve): a stream ends when its receiver has "
          "every byte.  minivmm: --net tap= (virtio-net on its event-loop thread).  qemu: "
          "-netdev tap,vhost=off -device virtio-net-device (no vhost: minivmm has none).  "
          "Same kernel, initramfs, TAP and addresses; the TAP is made afresh for each VMM.",
          flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=("direct", "linux", "both"), default="both")
    ap.add_argument("-n", "--runs", type=int, default=5)
    ap.add_argument("--mib", type=int, default=64, help="linux part: MiB per stream")
    ap.add_argument("--rr-seconds", type=float, default=3.0, help="linux part: TCP RR time")
    ap.add_argument("--ticks", type=int, default=2, help="direct part: RTC seconds per phase")
    ap.add_argument("--direct-runs", type=int, default=3, help="direct part: runs per column")
    ap.add_argument("--vmms", default="minivmm,qemu", help="linux part: which VMMs")
    ap.add_argument("-v", "--verbose", action="store_true", help="linux part: show the console")
    args = ap.parse_args()

    if not IN_NETNS:
        if not IN_L1:
            build_static_helper(HELPER, HELPER_C, ["-Wno-unused-result"])
        rerun_in_l1_without_kvm(2400)
        if args.part in ("linux", "both") and PVM and not IN_L1:
            # Guest kernel code is emulated on PVM: Linux runs only in L1.  The direct part
            # runs here first (minivmm only); with --part both, L1 runs it again, there with
            # QEMU too, then the linux part.
            if args.part == "both":
                rc = reexec_with(args, "direct")
                if rc:
                    sys.exit(rc)
            sys.exit(rerun_in_l1(["python3", "bench/net.py"] + numbers(args, args.part), 1200))
        rc = reexec_in_netns()
        if rc is not None:
            sys.exit(rc)
        # No namespace: the direct part over --net user only; Linux needs the TAP.
        if args.part == "linux":
            sys.exit("net: cannot create a network namespace (unshare -n / -rn)")
        direct_part(args)
        return
    sh("ip", "link", "set", "lo", "up")
    tmp = tempfile.mkdtemp(prefix="minivmm-net-bench-")
    try:
        if args.part in ("direct", "both"):
            direct_part(args)
        if args.part in ("linux", "both"):
            linux_part(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def numbers(args, part):
    """The command line for this script again with --part PART and the same numbers."""
    return ["--part", part, "--runs", str(args.runs), "--mib", str(args.mib), "--rr-seconds",
            f"{args.rr_seconds:g}", "--ticks", str(args.ticks), "--direct-runs",
            str(args.direct_runs), "--vmms", args.vmms] + (["-v"] if args.verbose else [])


def reexec_with(args, part):
    """This script again with --part PART; its exit status."""
    return subprocess.run([sys.executable, os.path.abspath(__file__)] +
                          numbers(args, part)).returncode


if __name__ == "__main__":
    main()
