"""What bench/*.py share: where things are, running a VMM under a time limit, the re-run
inside the SVM test host, and small parsing and formatting helpers.

The scripts import it from their own directory (they run as `python3 bench/X.py` from the
repo root, and inside the SVM test host through tests/hostvm/run).
"""
import os
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
MINIVMM = os.path.join(BUILD, "minivmm")
CACHE = os.environ.get("MINIVMM_CACHE", os.path.expanduser("~/.cache/minivmm"))
# Set by tests/hostvm/run inside the SVM test host ("L1").
IN_L1 = bool(os.environ.get("MINIVMM_HOSTVM"))
# Our own /dev/kvm is PVM (../shared/HOST-KVM.md): guest kernel code is emulated there, so
# the Linux parts re-run themselves in L1 (PVM and not IN_L1: never from inside L1).
PVM = os.path.exists("/sys/module/kvm_pvm")

# Where a run of the freestanding test guests and of Linux takes place, for headings.
WHERE_DIRECT = ("the SVM test host's /dev/kvm (TCG: compare ratios)" if IN_L1 else
                "this PVM /dev/kvm (guest kernel code emulated, ~1 us/instruction)" if PVM else
                "/dev/kvm")
WHERE_LINUX = ("the SVM test host (kvm_amd under QEMU TCG: compare ratios only)" if IN_L1 else
               "/dev/kvm")


class VmmRun:
    """What run_vmm saw: exit status, seconds from start to exit, the output (lines joined
    by \\n, CRs dropped), peak RSS in MiB (NaN unless measured) and why it was killed."""

    def __init__(self, status, seconds, lines, peak_mib, killed):
        self.status = status
        self.seconds = seconds
        self.lines = lines
        self.text = "\n".join(lines)
        self.peak_mib = peak_mib
        self.killed = killed

    def last_lines(self, n):
        """The last n lines, with a note at the end if the run was killed."""
        note = [f"{os.path.basename(sys.argv[0])}: {self.killed}"] if self.killed else []
        return (self.lines + note)[-n:]


def run_vmm(argv, limit, on_line=None, on_chunk=None, measure_rss=False,
            stderr=subprocess.STDOUT, stop_grace=0.5):
    """Runs argv with stdin from /dev/null for at most limit seconds; returns a VmmRun.

    on_line(line, t) is called per complete output line, on_chunk(data, t) per read (bytes),
    t being the seconds since the start when it arrived.  If on_chunk returns true the run is stopped:
    after stop_grace seconds for the rest of the output (QEMU's register dump after "KVM
    internal error", before it pauses the VM forever).  measure_rss runs argv under GNU
    time: ru_maxrss of a child forked from Python would include Python's own peak (it
    survives fork and exec).

    The VMM leads a session of its own and is killed by process group: killing only GNU
    time would leave the VMM running, and a paused QEMU stays paused forever."""
    rss = tempfile.NamedTemporaryFile(prefix="minivmm-bench-rss-") if measure_rss else None
    if rss:
        argv = ["/usr/bin/time", "-f", "%M", "-o", rss.name] + list(argv)
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=stderr, start_new_session=True)
    lines, buf, killed, ended = [], b"", None, False

    def take(chunk, t):
        nonlocal buf
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            s = line.decode(errors="replace").replace("\r", "")
            lines.append(s)
            if on_line:
                on_line(s, t)

    try:
        while True:
            left = limit - (time.monotonic() - start)
            r, _, _ = select.select([proc.stdout], [], [], max(left, 0))
            if not r:
                killed = "killed after %d s" % limit
                break
            chunk = os.read(proc.stdout.fileno(), 65536)
            t = time.monotonic() - start
            if not chunk:
                break
            stop = on_chunk(chunk, t) if on_chunk else False
            take(chunk, t)
            if stop:
                time.sleep(stop_grace)
                if select.select([proc.stdout], [], [], 0)[0]:
                    take(os.read(proc.stdout.fileno(), 65536), time.monotonic() - start)
                killed = "stopped after its output said so"
                break
        ended = True
    finally:
        # Also on an exception (^C: the VMM's own session does not get the SIGINT).  Not
        # at end of output: the VMM may not be reaped yet and must keep its exit status.
        if killed or not ended:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        status = proc.wait()
        proc.stdout.close()
    seconds = time.monotonic() - start
    if buf:
        lines.append(buf.decode(errors="replace").replace("\r", ""))
    peak = float("nan")
    if rss:
        try:
            peak = int(open(rss.name).read().split()[-1]) / 1024.0
        except (ValueError, IndexError):
            pass
        rss.close()
    return VmmRun(status, seconds, lines, peak, killed)


def minivmm_argv(kernel, mem, cpus, timeout, log_level="error"):
    """minivmm booting kernel, without console input; add --initrd, --disk, ... to it."""
    return [MINIVMM, "--kernel", kernel, "--mem", mem, "--cpus", str(cpus),
            "--no-console-stdin", "--log-level", log_level, "--timeout", str(int(timeout))]


def qemu_microvm_argv(mem, cpus=None, machine="microvm", debug_exit=False):
    """QEMU -M microvm on KVM with the console on stdio and no defaults; add -kernel etc.
    debug_exit: the test guests' exit port (QEMU then exits with 2 * status + 1)."""
    argv = ["qemu-system-x86_64", "-M", machine, "-accel", "kvm", "-m", mem]
    if cpus is not None:
        argv += ["-smp", str(cpus)]
    argv += ["-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio",
             "-no-reboot"]
    if debug_exit:
        argv += ["-device", "isa-debug-exit,iobase=0xf4,iosize=1"]
    return argv


def rerun_in_l1(argv, timeout):
    """Runs argv (e.g. python3 bench/X.py ...) from the repo root inside the SVM test host,
    after tests/linux/prepare has the Linux images ready; returns its exit status."""
    subprocess.run([os.path.join(ROOT, "tests/linux/prepare")], check=True,
                   stdout=subprocess.DEVNULL)
    runner = [os.path.join(ROOT, "tests/hostvm/run"), "--timeout", str(timeout), "--"]
    return subprocess.run(runner + list(argv), cwd=ROOT).returncode


# Usable means readable and writable: a /dev/kvm without permission is as good as none.
KVM_USABLE = os.access("/dev/kvm", os.R_OK | os.W_OK)


def rerun_in_l1_without_kvm(timeout):
    """Where this machine has no usable /dev/kvm (and this is not L1 already), says so in
    one line and re-runs this benchmark, with its arguments, inside the SVM test host;
    exits with its status.  Returns only where there is a /dev/kvm to use."""
    if KVM_USABLE or IN_L1:
        return
    script = os.path.relpath(os.path.abspath(sys.argv[0]), ROOT)
    print(f"{os.path.basename(script)}: no usable /dev/kvm here: re-running inside the SVM "
          f"test host (tests/hostvm/run; TCG timings, compare ratios only)", flush=True)
    sys.exit(rerun_in_l1(["python3", script] + sys.argv[1:], timeout))


def interleaved(names, runs, one):
    """Calls one(name, run) for run 1..runs with the VMMs taking turns (minivmm, qemu,
    minivmm, qemu, ...), never one VMM's runs in a block: a noisy patch of a shared
    machine then falls on every VMM alike instead of deciding the ratio (run in blocks,
    one disk benchmark gave 0.69x QEMU in one L1 and 1.63x in the next).
    Returns {name: [result of each run]}."""
    out = {n: [] for n in names}
    for r in range(1, runs + 1):
        for n in names:
            out[n].append(one(n, r))
    return out


def spread_pct(vals):
    """Half the range of the values as a percentage of their median (None values are
    ignored): the "+-P%" printed beside a median.  None with fewer than two values."""
    vals = [v for v in vals if v is not None]
    if len(vals) < 2:
        return None
    m = statistics.median(vals)
    return 50.0 * (max(vals) - min(vals)) / m if m else None


def with_spread(vals, fmt="{:.1f}", scale=1.0):
    """'median +-P%' of the values (None ignored), or 'failed'."""
    vals = [v * scale for v in vals if v is not None]
    if not vals:
        return "failed"
    sp = spread_pct(vals)
    return fmt.format(statistics.median(vals)) + ("" if sp is None else f" ±{sp:.0f}%")


def build_static_helper(path, source, extra_flags=()):
    """Compiles the C source to a static binary at path (static: the Linux guests have no
    libc) unless path.c already holds that source and path exists."""
    src = path + ".c"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    old = open(src).read() if os.path.exists(src) else None
    if old != source or not os.path.exists(path):
        with open(src, "w") as f:
            f.write(source)
        subprocess.run(["gcc", "-static", "-O2", "-Wall"] + list(extra_flags) +
                       ["-o", path, src], check=True)


def require(files, what, fix):
    """Exits with 'WHAT: FILE missing: FIX' for the first of files that does not exist."""
    for f in files:
        if not os.path.exists(f):
            sys.exit(f"{what}: {f} missing: {fix}")


def key_values(text):
    """{key: value} of the key=value words in text."""
    return dict(p.split("=", 1) for p in text.split() if "=" in p)


def median_of(vals):
    """The median of the values that are not None, or None."""
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def indented(lines):
    """Output lines for a failure report, four spaces in, one a line."""
    return "\n    " + "\n    ".join(lines)
