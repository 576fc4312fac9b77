"""Dumps a vitalring recording as one JSON object, read with h5py (SWMR mode: works while the
file is written, after a kill -9 of its writer, and after a clean close).

Usage: inspect_recording.py FILE.h5
Output: {"attrs": {...}, "tables": {"vitals": {col: [...]}, "events": ..., "epochs": ...},
         "waveforms": {name: {"attrs": {...}, "samples": [...], "chunks": {...},
         "segments": {...}}}}
"""
import json
import sys

import h5py
import numpy as np


def plain(v):
    if isinstance(v, bytes):
        return v.rstrip(b"\0").decode("ascii")
    if isinstance(v, np.ndarray):
        return [plain(x) for x in v.tolist()] if v.dtype.kind == "S" else plain_list(v)
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v != v:
        return None  # NaN: JSON has no NaN
    return v


def plain_list(a):
    if a.dtype.kind == "f":
        return [None if x != x else x for x in a.tolist()]
    return a.tolist()


def table(group):
    cols = {name: group[name] for name in group}
    # A table read while it is written may have longer columns: complete rows only.
    n = min((len(d) for d in cols.values()), default=0)
    return {name: plain(d[:n]) for name, d in cols.items()}


def main(path):
    with h5py.File(path, "r", swmr=True) as f:
        out = {
            "attrs": {k: plain(v) for k, v in f.attrs.items()},
            "tables": {name: table(f[name]) for name in ("vitals", "events", "epochs")},
            "waveforms": {},
        }
        for name, g in f["waveforms"].items():
            s = g["samples"]
            out["waveforms"][name] = {
                "attrs": {k: plain(v) for k, v in s.attrs.items()},
                "dtype": str(s.dtype),
                "samples": s[:].tolist(),
                "chunks": table(g["chunks"]),
                "segments": table(g["segments"]),
            }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
