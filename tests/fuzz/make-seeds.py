#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the committed seed corpus, tests/fuzz/corpus/TARGET/NAME, in each
harness's input encoding (see the comment at the top of each
tests/fuzz/fuzz_*.c).  Seeds are small, meaningful inputs: a well-formed
request of every kind, a device set up by the book, a real compressed
stream of every format, real-looking kernel images.  Run it again after
changing a harness's encoding: `tests/fuzz/make-seeds.py`.
Needs the lz4 and zstd command-line tools (Debian: lz4, zstd)."""
import bz2
import gzip
import lzma
import os
import shutil
import struct
import subprocess
import sys
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def u8(v): return struct.pack("<B", v)
def u16(v): return struct.pack("<H", v)
def u32(v): return struct.pack("<I", v)
def u64(v): return struct.pack("<Q", v)


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def gzip_bytes(data):
    return gzip.compress(data, mtime=0)


def tool(cmd, data):
    return subprocess.run(cmd, input=data, stdout=subprocess.PIPE, check=True).stdout


# ---- virtqueue: cfg, size, ops ----
def vq_desc(idx, off, length, flags, nxt):
    # op 0; addr: selector 0 (buffer area) + u16 offset; len: selector 0 + u8
    return u8(0) + u8(idx) + u8(0) + u16(off) + u8(0) + u8(length) + u8(flags) + u8(nxt)


def seeds_virtqueue():
    NEXT, WRITE, INDIRECT = 1, 2, 4
    chain = (vq_desc(0, 0, 64, NEXT, 1) + vq_desc(1, 0x100, 32, WRITE, 0) +
             u8(2) + u8(0) + u8(4) + u8(0) + u8(7) + u32(32) + u8(8))
    write("virtqueue", "two-desc-chain", u8(0) + u8(4) + chain)
    write("virtqueue", "event-idx", u8(1) + u8(4) + chain + u8(9) + chain)
    # an indirect table at the buffer area (op 1 writes entries, op 0 the ring descriptor)
    ind = (u8(1) + u16(0x10) + u8(0) + u16(0x200) + u8(0) + u8(16) + u8(NEXT) + u8(1) +
           u8(1) + u16(0x11) + u8(0) + u16(0x300) + u8(0) + u8(16) + u8(WRITE) + u8(0))
    ring = u8(0) + u8(0) + u8(0) + u16(0x100) + u8(0) + u8(32) + u8(INDIRECT) + u8(0)
    write("virtqueue", "indirect", u8(2) + u8(8) + ind + ring + u8(2) + u8(0) + u8(4) + u8(0) +
          u8(7) + u32(16))
    write("virtqueue", "loop", u8(0) + u8(2) + vq_desc(0, 0, 8, NEXT, 1) +
          vq_desc(1, 0, 8, NEXT, 0) + u8(2) + u8(0) + u8(4) + u8(0))


# ---- virtio devices (tests/fuzz/virtio_fuzz.c): add_chain / notify / take ----
def buf(length, gpa_units, writable=None, fill=b""):
    # f: 0x80 = explicit writable bit; gpa selector 0 + u16 units of 16 bytes
    f = 0 if writable is None else 0x80 | int(writable)
    if length < 256:
        ln = u8(0) + u8(length)
    elif length % 512 == 0 and length <= 4096:
        ln = u8(100) + u8(length // 512)
    else:
        ln = u8(200) + u16(length)
    return u8(f) + u8(0) + u16(gpa_units) + ln + fill


def chain(q, bufs, nreadable, indirect=False, table=0):
    shape = (len(bufs) - 1) | nreadable << 3 | (0x80 if indirect else 0)
    out = u8(q << 4 | 0) + u8(shape) + b"".join(bufs)
    if indirect:
        out += u16(table)
    return out


def notify(q): return u8(q << 4 | 4)
def take(q): return u8(q << 4 | 9)


def blk_hdr(type_sel, sector_u8):
    return u8(type_sel) + u8(sector_u8)  # fill(): types[sel % 8], sector = 128 - u8 % 16


def seeds_blk():
    head = u8(0) + u64(0)  # read-write disk, refuse no feature
    rd = chain(0, [buf(16, 0, fill=blk_hdr(0, 8)), buf(1024, 2), buf(1, 0x100)], 1)
    wr = chain(0, [buf(16, 0, fill=blk_hdr(1, 4)), buf(512, 2, fill=u8(0xff) + bytes(range(32))),
                   buf(1, 0x100)], 2)
    write("virtio_blk", "read", head + rd + notify(0) + take(0))
    write("virtio_blk", "write-read", head + wr + notify(0) + rd + notify(0) + take(0))
    write("virtio_blk", "flush-getid", head +
          chain(0, [buf(16, 0, fill=blk_hdr(2, 0)), buf(1, 0x100)], 1) +
          chain(0, [buf(16, 0x10, fill=blk_hdr(3, 0)), buf(20, 2), buf(1, 0x100)], 1) + notify(0))
    seg = u8(0) + u8(8) + u8(4)  # fill() index 1: sector 8, 4 sectors, UNMAP
    write("virtio_blk", "discard-wz", head +
          chain(0, [buf(16, 0, fill=blk_hdr(4, 0)), buf(16, 2, fill=seg), buf(1, 0x100)], 2) +
          chain(0, [buf(16, 0x10, fill=blk_hdr(5, 0)), buf(16, 4, fill=seg), buf(1, 0x100)], 2) +
          notify(0) + take(0))
    write("virtio_blk", "indirect-ro", u8(1) + u64(0) +
          chain(0, [buf(16, 0, fill=blk_hdr(0, 1)), buf(512, 2), buf(1, 0x100)], 1, True, 0x200) +
          notify(0))


def seeds_net():
    head = u8(1) + u64(0)  # backend offers every offload
    rx = chain(0, [buf(1536, 0x100)], 0) + chain(0, [buf(1536, 0x200)], 0) + notify(0)
    frame = u8(13) + u8(1) + bytes(range(64))  # extra(): a 1514-byte frame
    tx = chain(1, [buf(12, 0), buf(60, 2)], 2) + notify(1) + take(1)
    write("virtio_net", "rx-tx", head + rx + frame + take(0) + tx)
    write("virtio_net", "rx-no-buffers", head + frame + rx + take(0))
    write("virtio_net", "no-mrg", u8(0) + u64(1 << 15) + rx + frame + u8(13) + u8(0) + u8(60) +
          bytes(64) + take(0))
    write("virtio_net", "tx-eagain", head + u8(13) + u8(0x81) + tx + tx)


def seeds_rng():
    req = chain(0, [buf(64, 0)], 0) + chain(0, [buf(4096, 0x100)], 0) + notify(0) + take(0)
    write("virtio_rng", "unlimited", u8(0) + u64(0) + req)
    write("virtio_rng", "rate-limited", u8(3) + u64(0) + req + u8(13) + u8(0x80) + u32(5000) +
          req)
    write("virtio_rng", "eagain", u8(0) + u64(0) + u8(13) + u8(1) + req + u8(13) + u8(0) +
          notify(0) + take(0))


# fuzz_vsock.c fill(): sel, src/dst port indexes (1, 2, 52, 2^30, 1000, ~0), len, op, flags,
# fwd_cnt; with sel 0 the CIDs are the guest's (3) and the host's (2), a stream, 64 KiB credit.
VS_PORT = {1: 0, 2: 1, 52: 2, 1 << 30: 3, 1000: 4}


def vs_hdr(op, src, dst, length=0, flags=0):
    return (u8(0) + u8(VS_PORT[src]) + u8(VS_PORT[dst]) + u8(length) + u8(op) + u8(flags) +
            u32(0))


def vs_pkt(units, op, src, dst, payload=b"", flags=0):
    return chain(1, [buf(44 + len(payload), units,
                         fill=vs_hdr(op, src, dst, len(payload), flags) + payload)], 1)


def seeds_vsock():
    head = u64(0)
    rx = b"".join(chain(0, [buf(1024, 0x100 + 0x40 * i)], 0) for i in range(4)) + notify(0)
    extra = u8(13)
    # The guest connects to PATH_1, sends, the host accepts and answers, the loop runs once.
    write("vsock", "guest-connect", head + rx + vs_pkt(0, 1, 1000, 1) + notify(1) +
          vs_pkt(0x10, 5, 1000, 1, b"hello") + notify(1) + extra + u8(0x00) +
          extra + u8(0x01) + u8(8) + bytes(range(16)) + extra + u8(0x05) + notify(0) +
          take(0) + vs_pkt(0x20, 4, 1000, 1, flags=3) + notify(1) + take(0) + take(1))
    # A host program's CONNECT 52, the loop, the guest's RESPONSE, data, credit, RST.
    write("vsock", "host-connect", head + rx + extra + u8(0x04) + u8(1) + extra + u8(0x05) +
          notify(0) + take(0) + vs_pkt(0, 2, 52, 1 << 30) + notify(1) +
          vs_pkt(0x10, 5, 52, 1 << 30, b"x" * 32) + vs_pkt(0x20, 7, 52, 1 << 30) +
          vs_pkt(0x30, 3, 52, 1 << 30) + notify(1) + take(0) + take(1))
    # Packets for nobody, a transport reset event.
    write("vsock", "stray", head + rx + vs_pkt(0, 5, 2, 52, b"abc") + vs_pkt(0x10, 6, 1000, 2) +
          notify(1) + chain(2, [buf(4, 0x300)], 0) + notify(2) + extra + u8(0x06) + take(2) +
          take(0))


def seeds_mmio():
    def w(reg, sel): return u8(0x40) + u8(reg) + u8(sel)
    def r(reg): return u8(0x41) + u8(reg)
    STATUS, DFSEL, DF, QSEL, QNUM, READY, DESC, AVAIL, USED = 15, 7, 6, 8, 10, 11, 16, 18, 20
    init = (w(STATUS, 0) + w(STATUS, 1) + w(STATUS, 2) + r(4) + w(DFSEL, 0) + w(DF, 0) +
            w(DFSEL, 1) + w(DF, 1) + w(STATUS, 3) + r(STATUS) + w(QSEL, 0) + r(9) + w(QNUM, 4) +
            w(DESC, 0) + w(AVAIL, 0) + w(USED, 0) + w(READY, 1) + w(STATUS, 4))
    req = chain(0, [buf(64, 0)], 0) + notify(0) + r(13) + w(14, 3) + take(0)
    write("virtio_mmio", "by-the-book", u8(0) + init + req)
    write("virtio_mmio", "reset-midway", u8(0) + init + req + w(STATUS, 0) + init + req)
    write("virtio_mmio", "used-ring-at-ram-end", u8(0) + init[:-12] + u8(0x40) + u8(USED) +
          u8(0x41) + w(READY, 1) + w(STATUS, 4) + req)
    write("virtio_mmio", "config-and-odd-widths", u8(0) + r(25) + u8(0xe1) + u16(0x100) + u8(0) +
          u8(0xe0) + u16(0x70) + u8(1) + u8(1) + r(0) + r(1) + r(2) + r(3))


def seeds_serial():
    def w(off, v): return u8(off << 4) + u8(v)
    def r(off): return u8(off << 4 | 2)
    setup = w(3, 0x80) + w(0, 1) + w(1, 0) + w(3, 3) + w(1, 0x0f) + w(2, 0x07) + w(4, 0x0b)
    write("serial8250", "init-tx", setup + w(0, ord("h")) + w(0, ord("i")) + r(2) + r(5))
    write("serial8250", "rx", setup + u8(3) + u8(5) + b"hello" + r(2) + r(5) + r(0) + r(0) + r(2))
    write("serial8250", "loopback", setup + w(4, 0x10) + w(0, ord("x")) + r(5) + r(0) + r(6))
    write("serial8250", "rx-flood", setup + (u8(3) + u8(63) + bytes(63)) * 20 + r(0) * 40)


def seeds_i8042():
    def cmd(v): return u8(3) + u8(v)
    def data(v): return u8(1) + u8(v)
    rd, st = u8(0), u8(2)
    write("i8042", "config", cmd(0x20) + st + rd + cmd(0x60) + data(0x47) + cmd(0x20) + rd)
    write("i8042", "self-test", cmd(0xaa) + st + rd + cmd(0xab) + rd + cmd(0xad) + cmd(0xae))
    write("i8042", "output-port", cmd(0xd0) + rd + cmd(0xd1) + data(0xdf) + cmd(0xd1) + data(0xfe))
    write("i8042", "reset", st + cmd(0xfe))


def seeds_emulate():
    regs = bytearray(144)
    sregs = bytearray(312)
    struct.pack_into("<Q", sregs, 224, 0x80050033 & ~0xc)  # CR0: PE, NE, PG; EM, TS clear
    struct.pack_into("<Q", sregs, 248, 0x6f0 | 1 << 9)     # CR4: PAE, OSFXSR, OSXMMEXCPT
    events = bytes(64)
    state = bytes(regs) + bytes(sregs) + events

    def insn(name, code, long_mode=1, fsw=0, tail=b""):
        write("emulate", name, u8(long_mode) + u16(fsw) + u8(len(code)) + code + state + tail)
    insn("int3", b"\xcc")
    insn("int-3", b"\xcd\x03")
    insn("ud2", b"\x0f\x0b")
    insn("fwait-mf", b"\x9b", fsw=0x80)
    insn("lock-int3", b"\xf0\xcc")
    insn("ldmxcsr-rax", b"\x0f\xae\x10", tail=u32(0x1f80))
    insn("stmxcsr-rip", b"\x0f\xae\x1d\x10\x00\x00\x00")
    insn("stmxcsr-sib-fs", b"\x64\x42\x0f\xae\x5c\x8c\x08")
    insn("ldmxcsr-32bit", b"\x0f\xae\x14\x24", long_mode=0, tail=u32(0xffff0000))
    insn("too-long", b"\x66" * 14 + b"\x90")


def cpio_newc(files):
    out = b""
    for i, (name, data) in enumerate(files + [("TRAILER!!!", b"")]):
        nm = name.encode() + b"\0"
        hdr = b"070701" + b"".join(b"%08x" % v for v in (
            i + 1, 0o100644 if data or name != "TRAILER!!!" else 0, 0, 0, 1, 0, len(data),
            0, 0, 0, 0, len(nm), 0))
        ent = hdr + nm
        ent += b"\0" * (-len(ent) % 4) + data
        ent += b"\0" * (-len(ent) % 4)
        out += ent
    return out + b"\0" * (-len(out) % 512)


def seeds_decompress():
    text = b"".join(b"line %d of a small kernel-like payload\n" % i for i in range(64))
    sized = text + u32(len(text))  # the kernel's size_append
    write("decompress", "gzip", u8(0) + gzip_bytes(text) + u32(0))
    write("decompress", "bzip2", u8(0) + bz2.compress(text) + u32(len(text)))
    write("decompress", "lzma", u8(0) + lzma.compress(text, format=lzma.FORMAT_ALONE) +
          u32(len(text)))
    write("decompress", "xz", u8(0) + lzma.compress(text, check=lzma.CHECK_CRC32) +
          u32(len(text)))
    write("decompress", "lz4-legacy", u8(0) + tool(["lz4", "-l", "-9", "-c"], text) +
          u32(len(text)))
    write("decompress", "zstd", u8(0) + tool(["zstd", "-19", "-c", "-q"], text) + u32(len(text)))
    write("decompress", "lzo-magic", u8(0) + b"\x89LZO\0\r\n\x1a\n" + bytes(8))
    write("decompress", "small-cap", u8(0x80) + u16(100) + gzip_bytes(text))
    _ = sized
    write("decompress", "initrd-cpio-gz", u8(1) + gzip_bytes(cpio_newc([("init", b"#!/bin/sh\n")])))
    write("decompress", "initrd-two-members", u8(1) + gzip_bytes(cpio_newc([])) + gzip_bytes(b"x"))


def tiny_elf(pvh):
    # ELF64 ET_EXEC x86-64: PT_LOAD of 0x100 bytes at 1 MiB (memsz 0x2000), optional Xen note.
    phnum = 2 if pvh else 1
    phoff = 64
    note_off = phoff + 56 * phnum
    note = u32(4) + u32(8) + u32(18) + b"Xen\0" + u64(0x100010) if pvh else b""
    load_off = 0x200
    ehdr = (b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8) + u16(2) + u16(62) + u32(1) +
            u64(0x100000) + u64(phoff) + u64(0) + u32(0) + u16(64) + u16(56) + u16(phnum) +
            u16(64) + u16(0) + u16(0))
    ph = u32(1) + u32(7) + u64(load_off) + u64(0xffffffff80100000) + u64(0x100000) + \
        u64(0x100) + u64(0x2000) + u64(0x1000)
    if pvh:
        ph += u32(4) + u32(4) + u64(note_off) + u64(0) + u64(0) + u64(len(note)) + \
            u64(len(note)) + u64(4)
    img = ehdr + ph + note
    img += bytes(load_off - len(img)) + bytes([0x90] * 0x100)
    return img


def bzimage(payload=b"", pm_size=4096, version=0x20f, payload_off=0x100):
    setup_sects = 1
    img = bytearray((setup_sects + 1) * 512 + pm_size)
    pm = (setup_sects + 1) * 512
    def put(off, fmt, v): struct.pack_into(fmt, img, off, v)
    put(0x1f1, "<B", setup_sects)
    put(0x1f4, "<I", pm_size // 16)
    put(0x1fe, "<H", 0xaa55)
    put(0x200, "<H", 0x66eb)
    img[0x202:0x206] = b"HdrS"
    put(0x206, "<H", version)
    put(0x211, "<B", 1)  # LOADED_HIGH
    put(0x214, "<I", 0x100000)
    put(0x22c, "<I", 0x7fffffff)
    put(0x230, "<I", 0x200000)
    put(0x234, "<B", 1)  # relocatable
    put(0x236, "<H", 3)  # XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G
    put(0x238, "<I", 2047)
    put(0x258, "<Q", 0x1000000 - 0x400000)  # pref_address, inside 16 MiB
    put(0x260, "<I", 0x200000)
    if payload:
        put(0x248, "<I", payload_off)
        put(0x24c, "<I", len(payload))
        img[pm + payload_off:pm + payload_off + len(payload)] = payload
    return bytes(img)


def seeds_boot():
    AUTO, HOST, GUEST = 0, 1 << 3, 2 << 3
    elf = tiny_elf(False)
    write("boot", "bzimage-guest", u8(1 | GUEST) + u8(0) + bzimage())
    write("boot", "bzimage-gzip", u8(1 | AUTO | 0x20) + u8(4) + bzimage(gzip_bytes(elf)))
    write("boot", "bzimage-zstd-host", u8(1 | HOST | 0x40) + u8(1) +
          bzimage(tool(["zstd", "-19", "-c", "-q"], elf) + u32(len(elf))))
    write("boot", "bzimage-lz4-cmdline", u8(1 | AUTO | 0x40 | 0x80) + u8(8) +
          bzimage(tool(["lz4", "-l", "-9", "-c"], elf) + u32(len(elf))))
    write("boot", "bzimage-xz-initrd", u8(1 | AUTO | 0x20) + u8(0x81) +
          bzimage(lzma.compress(elf, check=lzma.CHECK_CRC32) + u32(len(elf))))
    write("boot", "elf64", u8(2 | 0x20) + u8(2) + elf)
    write("boot", "elf-pvh", u8(2 | 4 | 0x20 | 0x40) + u8(3) + tiny_elf(True))
    write("boot", "elf-pvh-as-64", u8(2) + u8(0) + tiny_elf(True))
    write("boot", "raw-garbage", u8(0) + u8(0) + b"MZ" + bytes(600))


def seeds_config():
    example = open(os.path.join(ROOT, "..", "..", "..", "vm.ini.example"), "rb").read()
    write("config", "vm.ini.example", u8(0) + example)
    write("config", "minimal", u8(0) + b"[boot]\nkernel = bzImage\ninitrd = initrd.img\n"
          b"cmdline = console=ttyS0 quiet\n[vm]\ncpus = 2\nmem = 512M\n")
    write("config", "disks-nets", u8(0) + b"[boot]\nkernel=/k\n[disk0]\npath = root.img\n"
          b"ro = true\nserial = abc\ncache = none\n[disk1]\npath=/d\n[net0]\nbackend = user\n"
          b"hostfwd = tcp:127.0.0.1:2222-:22\nmac = 52:54:00:12:34:56\n[rng]\nrate = 1M\n")
    write("config", "continued-dup", u8(0) + b"; comment\n[vm]\nmem = \\\n 1G\nmem = 2G\n")
    write("config", "set-mem", u8(1) + b"vm\0mem\0" + b"512M")
    write("config", "set-disk", u8(1) + b"disk0\0path\0/tmp/x.img")


# ---- snapfile: mode byte (bit 0: the harness re-seals the CRCs), then a state file ----
# Written from docs/SNAPSHOT.md, not by minivmm: the replay of these seeds is also a check
# that the document and the reader agree (`minivmm snapshot-info` accepts them).
def tag(s): return s.encode().ljust(4)


def snap_section(t, index, payload, flags=0):
    pad = bytes(-len(payload) % 8)
    hdr = tag(t) + u32(index) + u64(len(payload)) + u32(flags)
    return hdr + u32(zlib.crc32(hdr + payload + pad)) + payload + pad


def snap_file(sections, major=1, minor=0, arch=62):
    body = b"".join(sections)
    length = 48 + len(body) + 8
    hdr = b"MVMSNAP\0" + u16(major) + u16(minor) + u32(arch) + u32(48) + u32(len(sections)) + \
        u64(length) + u64(0) + u32(0)
    data = hdr + u32(zlib.crc32(hdr)) + body + b"END\0"
    return data + u32(zlib.crc32(data))


def seeds_snapfile():
    secs = [snap_section("CONF", 0, b""), snap_section("VCPU", 0, bytes(range(7))),
            snap_section("VCPU", 1, bytes(range(8))), snap_section("VM", 0, u64(1) + u32(2)),
            snap_section("DEV", 3, bytes(range(256)) * 2)]
    write("snapfile", "valid", u8(0) + snap_file(secs))
    write("snapfile", "valid-reseal", u8(1) + snap_file(secs))
    write("snapfile", "no-sections", u8(0) + snap_file([]))
    write("snapfile", "optional-unknown", u8(0) + snap_file(
        [snap_section("XTRA", 9, b"later", flags=1), snap_section("MEM", 0, u64(1 << 30))],
        minor=3))
    write("snapfile", "duplicate", u8(0) + snap_file(secs + [secs[1]]))
    write("snapfile", "truncated", u8(0) + snap_file(secs)[:200])


def main():
    for t in ("virtqueue", "virtio_blk", "virtio_net", "virtio_rng", "virtio_mmio", "serial8250",
              "i8042", "emulate", "decompress", "boot", "config", "vsock", "snapfile"):
        shutil.rmtree(os.path.join(ROOT, t), ignore_errors=True)
    seeds_virtqueue()
    seeds_blk()
    seeds_net()
    seeds_rng()
    seeds_vsock()
    seeds_mmio()
    seeds_serial()
    seeds_i8042()
    seeds_emulate()
    seeds_decompress()
    seeds_boot()
    seeds_config()
    seeds_snapfile()
    return 0


if __name__ == "__main__":
    sys.exit(main())
