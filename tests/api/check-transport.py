#!/usr/bin/env python3
# Hostile clients against the API socket, no KVM needed: minivmm --api-sock
# waits for configuration while the clients misbehave (README "HTTP API").
# A slow client (1 byte/s) must not delay another; oversized, truncated,
# half-closed and garbage requests are refused or dropped; 100 clients at
# once are all served; the socket is 0600; an existing path is refused and
# left alone; silence is timed out.  With seccomp on (the default), so a
# missing row for the api thread kills the process and fails the checks.
# Prints "ok/not ok" lines and "N passed, N failed".
# Usage: tests/api/check-transport.py [path/to/minivmm]
import os
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

MINIVMM = sys.argv[1] if len(sys.argv) > 1 else "build/minivmm"
results = []


def check(name, cond, detail=""):
    results.append(bool(cond))
    n = len(results)
    print(f"{'ok' if cond else 'not ok'} {n} - {name}{'' if cond else ': ' + str(detail)}", flush=True)


def connect(path):
    # A full backlog answers EAGAIN on a Unix socket: wait as a client would.
    for _ in range(200):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(15)
        try:
            s.connect(path)
            return s
        except BlockingIOError:
            s.close()
            time.sleep(0.01)
    raise OSError("connect: backlog full for 2 s")


def recv_all(s, limit=1 << 20):
    data = b""
    while len(data) < limit:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        data += chunk
        # One reply is enough: a complete header plus Content-Length bytes.
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    if len(body) >= int(line.split(b":")[1]):
                        return data
    return data


def request(path, method, url, body=None, headers=None):
    s = connect(path)
    req = f"{method} {url} HTTP/1.1\r\nHost: localhost\r\n"
    for k, v in (headers or {}).items():
        req += f"{k}: {v}\r\n"
    if body is not None:
        req += f"Content-Length: {len(body)}\r\n"
    req = req.encode() + b"\r\n" + (body.encode() if isinstance(body, str) else body or b"")
    s.sendall(req)
    data = recv_all(s)
    s.close()
    return data


def status(reply):
    try:
        return int(reply.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def main():
    tmp = tempfile.mkdtemp(prefix="mvm-api-")
    path = os.path.join(tmp, "api.sock")
    proc = subprocess.Popen([MINIVMM, "--api-sock", path], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(100):
        if os.path.exists(path):
            break
        time.sleep(0.05)
    check("socket appears", os.path.exists(path))
    mode = stat.S_IMODE(os.lstat(path).st_mode)
    check("socket mode is 0600", mode == 0o600, oct(mode))

    r = request(path, "GET", "/")
    check("GET / answers Not started", status(r) == 200 and b'"state":"Not started"' in r, r[:200])

    # An existing path: refused with one line, and the path left alone.
    second = subprocess.run([MINIVMM, "--api-sock", path], stdin=subprocess.DEVNULL,
                            capture_output=True, timeout=10)
    check("a second minivmm on the path exits 125", second.returncode == 125, second.returncode)
    check("it says the path exists", b"exists" in second.stderr, second.stderr)
    check("the first one still serves", status(request(path, "GET", "/")) == 200)

    # Slow client: one byte a second of a request; another client is not delayed.
    slow = connect(path)
    stop = threading.Event()

    def trickle():
        msg = b"PUT /machine-config HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n"
        for b in msg:
            if stop.is_set():
                return
            try:
                slow.send(bytes([b]))
            except OSError:
                return
            time.sleep(1)

    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    time.sleep(2.5)
    t0 = time.monotonic()
    r = request(path, "GET", "/machine-config")
    dt = time.monotonic() - t0
    check("a slow client does not delay another (%.3f s)" % dt, status(r) == 200 and dt < 1.0, r[:100])
    stop.set()
    slow.close()

    # Oversized body: refused on its Content-Length, before it is sent.
    s = connect(path)
    s.sendall(b"PUT /boot-source HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n{")
    r = recv_all(s)
    s.close()
    check("an oversized Content-Length gets 400", status(r) == 400 and b"larger than the limit" in r, r[:200])
    # ...and a chunked one as it arrives.
    s = connect(path)
    s.sendall(b"PUT /boot-source HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"{" + b" " * 60000
    s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n0\r\n\r\n")
    r = recv_all(s)
    s.close()
    check("an oversized chunked body gets 400", status(r) == 400 and b"larger than the limit" in r, r[:200])

    # Truncated body, then half-close: the server drops it, serves the rest.
    s = connect(path)
    s.sendall(b"PUT /boot-source HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"kernel")
    s.shutdown(socket.SHUT_WR)
    t0 = time.monotonic()
    r = recv_all(s)
    s.close()
    check("a truncated, half-closed request is dropped without a reply",
          status(r) in (None, 400) and time.monotonic() - t0 < 12, r[:200])
    r = request(path, "GET", "/")
    check("and nothing was configured by it", status(r) == 200)

    # Garbage bytes: an error or a close, and the server lives on.
    for junk in (os.urandom(4096), b"\x00" * 100 + b"\r\n\r\n", b"GET " + b"A" * 70000 + b" HTTP/1.1\r\n\r\n",
                 b"PUT /actions HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                 b"PUT /actions HTTP/9.9\r\n\r\n"):
        s = connect(path)
        try:
            s.sendall(junk)
        except OSError:
            pass
        r = recv_all(s)
        s.close()
        check("garbage (%d bytes) gets no 2xx" % len(junk), status(r) is None or status(r) >= 400, r[:100])
    check("the server survives the garbage", status(request(path, "GET", "/")) == 200)

    # A body that does not parse, over the wire.
    r = request(path, "PUT", "/machine-config", '{"vcpu_count": 2, "mem_size_mib": 128, "x": 1}')
    check("unknown field named over the wire", status(r) == 400 and b'unknown field \\"x\\"' in r, r[-120:])

    # Kata's FIFOs: opened without waiting for a reader to be there; the log
    # FIFO then carries minivmm's own lines.
    mfifo, lfifo = os.path.join(tmp, "metrics.fifo"), os.path.join(tmp, "log.fifo")
    os.mkfifo(mfifo)
    os.mkfifo(lfifo)
    r = request(path, "PUT", "/metrics", '{"metrics_path": "%s"}' % mfifo)
    check("PUT /metrics with a FIFO nobody reads yet", status(r) == 204, r[-120:])
    r = request(path, "PUT", "/metrics", '{"metrics_path": "%s"}' % mfifo)
    check("a second PUT /metrics is refused", status(r) == 400, r[-120:])
    log_reader = os.open(lfifo, os.O_RDONLY | os.O_NONBLOCK)
    r = request(path, "PUT", "/logger", '{"log_path": "%s", "level": "Info", "show_level": true}' % lfifo)
    check("PUT /logger with a FIFO", status(r) == 204, r[-120:])
    r = request(path, "PUT", "/logger", '{"log_path": "%s/no/such/dir/log"}' % tmp)
    check("PUT /logger naming a path that cannot be opened: 400 naming it",
          status(r) == 400 and b"dir\\/log: No such file" in r, r[-160:])

    # 100 clients at once.
    socks = [connect(path) for _ in range(100)]
    for s in socks:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    ok = sum(1 for s in socks if status(recv_all(s)) == 200)
    for s in socks:
        s.close()
    check("100 concurrent clients all answered (%d)" % ok, ok == 100)

    # Silence: the connection is closed after the timeout (10 s), not held forever.
    s = connect(path)
    s.settimeout(20)
    t0 = time.monotonic()
    r = recv_all(s)
    dt = time.monotonic() - t0
    s.close()
    check("a silent client is disconnected (%.1f s)" % dt, 5 < dt < 16 and not r, r[:80])

    check("minivmm still runs", proc.poll() is None, proc.poll())
    proc.terminate()
    try:
        rc = proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait()
    err = proc.stderr.read().decode(errors="replace")
    try:
        logged = os.read(log_reader, 65536).decode(errors="replace")
    except BlockingIOError:
        logged = ""
    os.close(log_reader)
    check("SIGTERM before InstanceStart ends it (143)", rc == 143, (rc, err[-300:]))
    check("its last line went to the logger's FIFO", "stopped by SIGTERM" in logged, (logged, err[-200:]))
    check("no seccomp kill", "seccomp" not in err, err[-300:])
    check("the socket is removed on exit", not os.path.exists(path))
    for f in (mfifo, lfifo):
        os.unlink(f)

    # Kata reads `firecracker --version`'s first line, second word (>= 0.21.1).
    link = os.path.join(tmp, "firecracker")
    os.symlink(os.path.abspath(MINIVMM), link)
    out = subprocess.run([link, "--version"], capture_output=True, text=True).stdout.splitlines()
    os.unlink(link)
    fc = out[0].split(" ")[1].lstrip("v") if out and len(out[0].split(" ")) > 1 else "0"
    check("run as 'firecracker', --version's first line is 'Firecracker vX.Y.Z' >= 0.21.1",
          out and out[0].startswith("Firecracker v")
          and tuple(int(x) for x in fc.split(".")) >= (0, 21, 1), out)
    own = subprocess.run([MINIVMM, "--version"], capture_output=True, text=True).stdout
    check("run as 'minivmm', --version names minivmm", own.startswith("minivmm "), own)
    os.rmdir(tmp) if not os.path.exists(path) else None
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
