#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The host side of tests/linux/vsock-checks.sh, speaking minivmm's hybrid
vsock protocol on its Unix socket (README "vsock").  Each command prints
"KEY=VALUE" lines and exits 0 when its check held.

  connect UDS PORT            CONNECT, print the OK line's port
  echo UDS PORT N BYTES       N connections at once to a guest echo server,
                              BYTES random each way on each, compared
  send UDS PORT FILE          CONNECT, send FILE, half-close, wait for EOF
  listen UDS PORT OUT         accept one guest connection on UDS_PORT into OUT
  echo-server UDS PORT        serve guest connections on UDS_PORT: echo (forever)
  slow UDS SRC_PORT ECHO_PORT BYTES
                              one connection to a guest source that the host
                              does not read for a while, and echo round trips
                              on another meanwhile: they must not stall
"""
import os
import selectors
import socket
import sys
import threading
import time

from vsock_hybrid import drain, vconnect


def recv_all(s, n):
    out = bytearray()
    while len(out) < n:
        b = s.recv(min(65536, n - len(out)))
        if not b:
            break
        out += b
    return bytes(out)


def cmd_connect(uds, port):
    s, local = vconnect(uds, int(port))
    print("ok-port=%d" % local)
    s.close()


def cmd_echo(uds, port, n, nbytes):
    n, nbytes = int(n), int(nbytes)
    conns = []
    for i in range(n):
        s, _ = vconnect(uds, int(port))
        s.setblocking(False)
        data = os.urandom(nbytes)
        conns.append({"s": s, "data": data, "sent": 0, "got": bytearray()})
    sel = selectors.DefaultSelector()
    for c in conns:
        sel.register(c["s"], selectors.EVENT_READ | selectors.EVENT_WRITE, c)
    left = n
    t0 = time.monotonic()
    while left and time.monotonic() - t0 < 240:
        for key, ev in sel.select(timeout=5):
            c = key.data
            s = c["s"]
            if ev & selectors.EVENT_WRITE and c["sent"] < nbytes:
                try:
                    c["sent"] += s.send(c["data"][c["sent"]:c["sent"] + 65536])
                except BlockingIOError:
                    pass
                if c["sent"] == nbytes:
                    s.shutdown(socket.SHUT_WR)
                    sel.modify(s, selectors.EVENT_READ, c)
            if ev & selectors.EVENT_READ:
                try:
                    b = s.recv(65536)
                except BlockingIOError:
                    continue
                if not b:
                    sel.unregister(s)
                    left -= 1
                    continue
                c["got"] += b
    good = sum(1 for c in conns if bytes(c["got"]) == c["data"])
    print("echo-ok=%d" % good)
    print("echo-seconds=%.1f" % (time.monotonic() - t0))
    sys.exit(0 if good == n else 1)


def cmd_send(uds, port, path):
    s, _ = vconnect(uds, int(port))
    s.settimeout(300)
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            s.sendall(b)
    s.shutdown(socket.SHUT_WR)
    drain(s)
    print("sent=%d" % os.path.getsize(path))


def listener(uds, port):
    path = "%s_%d" % (uds, int(port))
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    ls.listen(128)
    return ls


def cmd_listen(uds, port, out):
    ls = listener(uds, port)
    print("listening", flush=True)
    ls.settimeout(600)
    s, _ = ls.accept()
    with open(out, "wb") as f:
        total = drain(s, f)
    s.close()
    print("received=%d" % total)


def cmd_echo_server(uds, port):
    ls = listener(uds, port)
    print("listening", flush=True)

    def serve(s):
        while True:
            b = s.recv(65536)
            if not b:
                break
            s.sendall(b)
        s.shutdown(socket.SHUT_WR)
        s.close()

    while True:
        s, _ = ls.accept()
        threading.Thread(target=serve, args=(s,), daemon=True).start()


def cmd_slow(uds, src_port, echo_port, nbytes):
    nbytes = int(nbytes)
    slow, _ = vconnect(uds, int(src_port))  # the guest writes nbytes; we do not read yet
    time.sleep(2)  # let it fill every buffer on the way
    fast, _ = vconnect(uds, int(echo_port))
    t0 = time.monotonic()
    worst = 0.0
    for i in range(50):
        t = time.monotonic()
        msg = b"ping %d\n" % i
        fast.sendall(msg)
        if recv_all(fast, len(msg)) != msg:
            print("fast-ok=0")
            sys.exit(1)
        worst = max(worst, time.monotonic() - t)
    fast.close()
    print("fast-round-trips=50")
    print("fast-seconds=%.2f" % (time.monotonic() - t0))
    print("fast-worst-ms=%d" % (worst * 1000))
    slow.settimeout(300)
    got = drain(slow)
    print("slow-bytes=%d" % got)
    sys.exit(0 if got == nbytes else 1)


CMDS = {
    "connect": cmd_connect,
    "echo": cmd_echo,
    "send": cmd_send,
    "listen": cmd_listen,
    "echo-server": cmd_echo_server,
    "slow": cmd_slow,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in CMDS:
        sys.exit(__doc__)
    try:
        CMDS[sys.argv[1]](*sys.argv[2:])
    except (OSError, ValueError) as e:
        print("error=%s" % e)
        sys.exit(1)
