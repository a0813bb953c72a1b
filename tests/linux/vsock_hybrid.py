# SPDX-License-Identifier: MIT
"""The host side of minivmm's hybrid vsock (README "vsock"), shared by
tests/linux/vsock_host.py and bench/vsock.py so that the check and the
benchmark speak the protocol the same way.

  vconnect(uds, port)  CONNECT PORT on the device's Unix socket; returns the
                       socket and the host port of the device's "OK" line
  drain(s, out)        read s to EOF (into the file out, if given); the bytes read
"""
import socket


def vconnect(uds, port, timeout=20):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(uds)
    s.sendall(b"CONNECT %d\n" % port)
    # One byte at a time: the guest's data may follow the OK line at once,
    # and it belongs to the caller, not to this reader's buffer.
    line = b""
    while not line.endswith(b"\n"):
        c = s.recv(1)
        if not c:
            raise ConnectionRefusedError("no OK line (guest port %d)" % port)
        line += c
    if not line.startswith(b"OK "):
        raise ConnectionError("bad reply %r" % line)
    return s, int(line[3:])


def drain(s, out=None):
    total = 0
    while True:
        b = s.recv(1 << 20)
        if not b:
            return total
        if out:
            out.write(b)
        total += len(b)
