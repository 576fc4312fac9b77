#!/usr/bin/env python3
"""A vitalring reader in pure standard-library Python (no vitalring package, no numpy).

It is written from docs/handshake.md and docs/wire-format.md only, as a check that those
documents are enough for a foreign implementation:

1. handshake: connect to the control socket, send a 144-byte ``Hello``, receive the 40-byte
   ``ControlMessage`` with the memfd in ``SCM_RIGHTS`` (``socket.recv_fds``);
2. check the memfd: seals (``fcntl.F_GET_SEALS``) and size (``os.fstat``), then map it
   read-only (``mmap.PROT_READ``);
3. validate the 80-byte ring header (magic, version, ``zlib.crc32`` over bytes 0-16 and
   36-80, geometry and epoch equal to the reply's);
4. read slots with the seqlock protocol: ``commit`` must be the committed word of the index,
   copy the slot, re-read ``commit`` (changed: torn, dropped), then CRC, sequence number, data
   size, zero tail, type, encoding, payload decode and range checks.

Usage::

    python3 stdlib_reader.py SOCKET [--channel NAME] [--frames N]

prints one line per vitals frame (the format of ``examples/c/monitor.c``), and at the end one
``summary`` line with the counts of delivered, dropped and rejected frames. It stops when the
producer stops cleanly, after ``--frames`` delivered frames, or on Ctrl-C.

Where it is weaker than the vitalring package
---------------------------------------------
- **No memory fences.** Python cannot issue acquire loads or fences. The seqlock copy is
  re-validated by re-reading ``commit``, which is sound on x86-64 (loads are not reordered
  with other loads) but not guaranteed on weakly ordered CPUs (ARM, POWER), where a torn copy
  could pass the ``commit`` re-check. There the slot CRC still rejects it (a torn slot fails
  its CRC except with probability 2^-32), so a torn frame is counted as rejected instead of
  dropped — never shown as data.
- **64-bit fields are read with one unaligned-safe ``struct`` load**, not an atomic one; a torn
  ``writeIndex`` is possible in theory on 32-bit machines (the package uses atomics).
- **No stall detection, no re-attach, no header re-check, no timestamp plausibility check**: it
  reads one producer until it stops. The package does all of these (the core session).
- It is slow (tens of thousands of frames per second), which is fine for an example.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import mmap
import os
import socket
import struct
import sys
import time
import zlib

HELLO_MAGIC = 0x4C485256  # "VRHL"
CONTROL_MAGIC = 0x4D435256  # "VRCM"
RING_MAGIC = 0x534D5242
HEADER_SIZE = 80
HELLO = struct.Struct("<IHH64s64sII")  # magic, version, flags, channel, token, token_len, reserved
CONTROL = struct.Struct("<IHHQIIQII")  # magic, version, status, size, frame_size, count, epoch, flags, reserved
SLOT_HEADER = struct.Struct("<BBHIQII")  # type, encoding, reserved, commit, timestampNs, seq, dataSize
STATUS = {
    1: "bad magic",
    2: "bad version",
    3: "malformed hello",
    4: "unknown channel",
    5: "bad token",
    6: "uid not allowed",
    7: "busy",
    8: "internal error",
}
REQUIRED_SEALS = 0x0002 | 0x0004 | 0x0010 | 0x0001  # SHRINK | GROW | FUTURE_WRITE | SEAL
# heartbeatTimestamp value a producer stores when it stops cleanly ("producer stopped").
HEARTBEAT_STOPPED = 0xFFFF_FFFF_FFFF_FFFF


class ReaderError(Exception):
    """One clear line about why the reader cannot go on."""


def handshake(path: str, channel: str, token: bytes = b"") -> tuple[mmap.mmap, int, int, int]:
    """Runs the handshake; returns (mapping, frame_size, frame_count, epoch)."""
    hello = HELLO.pack(HELLO_MAGIC, 1, 0, channel.encode(), token, len(token), 0)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        try:
            s.connect(path)
        except FileNotFoundError:
            raise ReaderError(f"no producer socket at {path}") from None
        except ConnectionRefusedError:
            raise ReaderError(f"no producer is listening on {path}") from None
        try:
            s.sendall(hello)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading the Hello: read the reply
        reply, fds = b"", []
        while len(reply) < CONTROL.size:
            data, got_fds, _flags, _addr = socket.recv_fds(s, CONTROL.size - len(reply), 4)
            fds += got_fds
            if not data:
                break
            reply += data
    try:
        if len(reply) != CONTROL.size:
            raise ReaderError(f"producer closed after {len(reply)} of {CONTROL.size} reply bytes")
        magic, version, status, size, frame_size, count, epoch, flags, reserved = CONTROL.unpack(reply)
        if magic != CONTROL_MAGIC or version != 1 or flags or reserved:
            raise ReaderError("invalid reply from producer")
        if status != 0:
            raise ReaderError(f"producer refused the handshake: {STATUS.get(status, status)}")
        if len(fds) != 1:
            raise ReaderError(f"expected one memfd, got {len(fds)}")
        fd = fds[0]
        if size != HEADER_SIZE + frame_size * count or epoch == 0:
            raise ReaderError("reply geometry is inconsistent")
        seals = fcntl.fcntl(fd, fcntl.F_GET_SEALS)
        if seals & REQUIRED_SEALS != REQUIRED_SEALS:
            raise ReaderError(f"memfd is not sealed (seals {seals:#x})")
        if os.fstat(fd).st_size != size:
            raise ReaderError("memfd size differs from the announced ring size")
        mm = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ)
    finally:
        for fd in fds:
            os.close(fd)
    check_header(mm, size, frame_size, count, epoch)
    return mm, frame_size, count, epoch


def check_header(mm: mmap.mmap, size: int, frame_size: int, count: int, epoch: int) -> None:
    header = mm[:HEADER_SIZE]
    magic, version, reserved1, fsize, fcount = struct.unpack_from("<IHHII", header, 0)
    (crc,) = struct.unpack_from("<I", header, 32)
    flags, h_epoch = struct.unpack_from("<IQ", header, 36)
    if magic != RING_MAGIC or version != 1 or reserved1 != 0:
        raise ReaderError("ring header: bad magic or version")
    if zlib.crc32(header[0:16] + header[36:80]) != crc:
        raise ReaderError("ring header: crc mismatch")
    if flags & ~3:  # bit 0 SPLIT_64, bit 1 WAKES_SLEEPERS (this client polls)
        raise ReaderError(f"ring header: unknown flags {flags:#x}")
    if fsize % 8 or not 64 <= fsize <= 1 << 20 or fcount & (fcount - 1) or not 1 <= fcount <= 1 << 24:
        raise ReaderError("ring header: invalid geometry")
    if (fsize, fcount, h_epoch) != (frame_size, count, epoch) or size != HEADER_SIZE + fsize * fcount:
        raise ReaderError("ring header does not match the handshake reply")


def committed(index: int) -> int:
    return ((index & 0x7FFF_FFFF) << 1) | 1


def decode(ftype: int, encoding: int, payload: bytes):
    """Decodes and range-checks a payload; raises ValueError when invalid."""
    if ftype == 3:
        return None
    if encoding == 0:
        obj = json.loads(payload.decode("utf-8"))
        if ftype == 1:
            v = {k: obj[k] for k in ("hr", "spo2", "rr")}
            nibp = [obj.get(k) for k in ("nibp_sys", "nibp_dia", "nibp_map")]
            if any(x is not None for x in nibp) and None in nibp:
                raise ValueError("partial nibp")
            v["nibp"] = tuple(nibp) if nibp[0] is not None else None
            v["temp"] = obj.get("temp")
            v["pr"] = obj.get("pr")
        else:
            return ("waveform", obj["ch"], obj["fs"], obj["first"], obj["samples"])
    else:
        if ftype == 1:
            if len(payload) != 16:
                raise ValueError("binary vitals length")
            ver, present, hr, spo2, rr, s, d, m, pr, temp = struct.unpack("<BBHBBHHHHh", payload)
            if ver != 1 or present & ~7:
                raise ValueError("binary vitals version or presence bits")
            v = {"hr": hr, "spo2": spo2, "rr": rr}
            v["nibp"] = (s, d, m) if present & 1 else None
            v["temp"] = temp / 100 if present & 2 else None
            v["pr"] = pr if present & 4 else None
        else:
            ch, ver, n, fs, _r, first = struct.unpack_from("<BBHHHQ", payload)
            if ver != 1 or len(payload) != 16 + 4 * n:
                raise ValueError("binary waveform")
            names = {1: "ecg_ii", 2: "pleth", 3: "resp"}
            return ("waveform", names[ch], fs, first, list(struct.unpack_from(f"<{n}i", payload, 16)))
    ints = [v["hr"], v["spo2"], v["rr"], *(v["nibp"] or ()), *([v["pr"]] if v["pr"] is not None else [])]
    if any(type(x) is not int for x in ints):
        raise ValueError("integer expected")
    ok = 0 <= v["hr"] <= 300 and 0 <= v["spo2"] <= 100 and 0 <= v["rr"] <= 150
    ok = ok and all(0 <= x <= 300 for x in v["nibp"] or ())
    ok = ok and (v["pr"] is None or 0 <= v["pr"] <= 300)
    ok = ok and (v["temp"] is None or 25.0 <= v["temp"] <= 45.0)
    if not ok:
        raise ValueError("value out of range")
    return ("vitals", v)


def read_slot(mm: mmap.mmap, index: int, frame_size: int, count: int):
    """Returns ('dropped', None), ('rejected', reason) or ('ok', (type, ts, decoded))."""
    off = HEADER_SIZE + (index % count) * frame_size
    (commit,) = struct.unpack_from("<I", mm, off + 4)
    if commit != committed(index):
        return "dropped", None
    slot = bytearray(mm[off : off + frame_size])
    (again,) = struct.unpack_from("<I", mm, off + 4)
    if again != commit:
        return "dropped", None
    ftype, encoding, reserved, _c, ts, seq, size = SLOT_HEADER.unpack_from(slot, 0)
    (crc,) = struct.unpack_from("<I", slot, frame_size - 8)
    slot[frame_size - 8 : frame_size - 4] = b"\0\0\0\0"
    if zlib.crc32(bytes(slot[: frame_size - 4])) != crc:
        return "rejected", "crc"
    if seq != index & 0xFFFF_FFFF:
        return "rejected", "sequence"
    if size > frame_size - 32:
        return "rejected", "data_size"
    if reserved or any(slot[24 + size : frame_size - 8]) or any(slot[frame_size - 4 :]):
        return "rejected", "padding"
    if ftype not in (1, 2, 3):
        return "rejected", "frame_type"
    if encoding not in (0, 1):
        return "rejected", "encoding"
    try:
        decoded = decode(ftype, encoding, bytes(slot[24 : 24 + size]))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, struct.error):
        return "rejected", "payload"
    return "ok", (ftype, ts, decoded)


def vitals_line(index: int, ts: int, v: dict) -> str:
    nibp = "/".join(str(x) for x in v["nibp"]) if v["nibp"] else "-"
    temp = f"{v['temp']:.2f}" if v["temp"] is not None else "-"
    pr = str(v["pr"]) if v["pr"] is not None else "-"
    return (
        f"vitals index={index} t_ns={ts} hr={v['hr']} spo2={v['spo2']} rr={v['rr']} "
        f"nibp={nibp} temp={temp} pr={pr}"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("socket")
    parser.add_argument("--channel", default="default")
    parser.add_argument("--frames", type=int, default=0, help="stop after N delivered frames")
    args = parser.parse_args(argv)
    try:
        mm, frame_size, count, _epoch = handshake(args.socket, args.channel)
    except (ReaderError, OSError) as e:
        print(f"stdlib_reader: {e}", file=sys.stderr)
        return 1
    delivered = dropped = rejected = 0
    (r,) = struct.unpack_from("<Q", mm, 16)  # start with the next frame published
    try:
        while True:
            write_index, heartbeat = struct.unpack_from("<QQ", mm, 16)
            if write_index <= r:
                if heartbeat == HEARTBEAT_STOPPED:
                    break
                time.sleep(0.001)
                continue
            if write_index - r > count:  # lapped: jump to the newest frame
                dropped += write_index - 1 - r
                r = write_index - 1
            while r < write_index:
                status, value = read_slot(mm, r, frame_size, count)
                if status == "dropped":
                    dropped += 1
                elif status == "rejected":
                    rejected += 1
                    print(f"rejected index={r} reason={value}", file=sys.stderr)
                else:
                    delivered += 1
                    ftype, ts, decoded = value
                    if decoded and decoded[0] == "vitals":
                        print(vitals_line(r, ts, decoded[1]), flush=True)
                r += 1
            if args.frames and delivered >= args.frames:
                break
    except KeyboardInterrupt:
        pass
    print(f"summary delivered={delivered} dropped={dropped} rejected={rejected}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
