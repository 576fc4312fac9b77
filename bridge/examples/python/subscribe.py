#!/usr/bin/env python3
"""A foreign client of vitalring-bridge: subscribes to an exporter with the `eclipse-zenoh`
package from PyPI, checks each envelope (magic, version, length, CRC-32) and decodes the
frames' own payloads (JSON or binary, see docs/wire-format.md).

    python subscribe.py tcp/127.0.0.1:7447 'vitalring/<host>/<channel>/*' [COUNT] [SECONDS]

Prints one JSON summary on stdout: how many frames and status messages arrived per key,
whether the frame numbers were contiguous, and the last vitals decoded.
"""
import json
import struct
import sys
import time
import zlib

import zenoh

HEADER = struct.Struct("<4sBBBBQQQQQII")  # 56 bytes, little-endian
assert HEADER.size == 56
FRAME, STATUS = 1, 2
VITALS, WAVEFORM, HEARTBEAT = 1, 2, 3
JSON, BINARY = 0, 1


def parse(data):
    """The envelope's fields and body, or raises ValueError."""
    if len(data) < HEADER.size:
        raise ValueError("short")
    (magic, version, kind, ftype, enc, stream, seq, epoch, index, ts, body_len, crc) = \
        HEADER.unpack_from(data)
    if magic != b"VRZE" or version != 1:
        raise ValueError("not a version-1 envelope")
    body = data[HEADER.size:]
    if body_len != len(body):
        raise ValueError("length")
    if zlib.crc32(data[:52] + body) != crc:
        raise ValueError("crc")
    return dict(kind=kind, type=ftype, encoding=enc, stream=stream, seq=seq, epoch=epoch,
                index=index, t_ns=ts), body


def decode_vitals(encoding, body):
    if encoding == JSON:
        return json.loads(body)
    # Binary vitals: 16 bytes (docs/wire-format.md).
    (ver, present, hr, spo2, rr, sys_, dia, map_, pr, temp) = struct.unpack("<BBHBBHHHHh", body)
    v = {"hr": hr, "spo2": spo2, "rr": rr}
    if present & 1:
        v.update(nibp_sys=sys_, nibp_dia=dia, nibp_map=map_)
    if present & 2:
        v["temp"] = temp / 100.0
    if present & 4:
        v["pr"] = pr
    return v


def main():
    endpoint, key = sys.argv[1], sys.argv[2]
    want = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 30.0
    conf = zenoh.Config()
    conf.insert_json5("mode", '"client"')
    conf.insert_json5("connect/endpoints", json.dumps([endpoint]))
    conf.insert_json5("scouting/multicast/enabled", "false")
    per_key, frames, gaps, vitals, refused = {}, 0, 0, None, 0
    expected = None
    deadline = time.monotonic() + seconds
    with zenoh.open(conf) as session:
        sub = session.declare_subscriber(key)
        while frames < want and time.monotonic() < deadline:
            sample = sub.try_recv()
            if sample is None:
                time.sleep(0.005)
                continue
            name = str(sample.key_expr).rsplit("/", 1)[-1]
            per_key[name] = per_key.get(name, 0) + 1
            try:
                head, body = parse(sample.payload.to_bytes())
            except ValueError:
                refused += 1
                continue
            if head["kind"] != FRAME:
                continue
            frames += 1
            if expected is not None and head["seq"] != expected:
                gaps += 1
            expected = head["seq"] + 1
            if head["type"] == VITALS:
                vitals = dict(decode_vitals(head["encoding"], body), t_ns=str(head["t_ns"]),
                              index=str(head["index"]), epoch=str(head["epoch"]))
    print(json.dumps({"frames": frames, "per_key": per_key, "gaps": gaps,
                      "refused": refused, "vitals": vitals}))


if __name__ == "__main__":
    main()
