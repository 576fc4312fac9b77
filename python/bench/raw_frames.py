"""Benchmark: frames per second drained through Reader.read_frames (the raw-frame path).

    python python/bench/raw_frames.py SOCKET CHANNEL FRAMES
"""

import sys
import time

import vitalring

socket, channel, frames = sys.argv[1], sys.argv[2], int(sys.argv[3])
reader = vitalring.connect(channel=channel, socket=socket, lap="oldest")
got = 0
start = None
while True:
    f = reader.read_frames(max_frames=8192, timeout=2.0)
    if f is not None:
        if start is None:
            start = time.perf_counter()
        got += len(f)
    else:
        while reader.try_read() is not None:  # drop/stop records waiting
            pass
    s = reader.stats
    if s["position"] - s["start_index"] >= frames or s["state"] == "producer_stopped":
        break
secs = time.perf_counter() - start
dropped = s["dropped_lapped"] + s["dropped_overwritten"]
print(f"raw frames: delivered {s['delivered']} dropped {dropped} in {secs:.3f} s: {s['delivered'] / secs:.0f} frames/s")
