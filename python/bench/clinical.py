"""Benchmark: Python reader CPU at clinical rates, and reader.waveform(..., seconds=300).

    python python/bench/clinical.py SOCKET SECONDS

Reads every record (3 waveform channels at 250 Hz in chunks of 10, vitals at 60 Hz) with
read() for SECONDS, printing the process CPU time over wall time (percent of one core), then
times reader.waveform("ecg_ii", seconds=300) (median of 200 calls).
"""

import statistics
import sys
import time

import vitalring

socket, seconds = sys.argv[1], float(sys.argv[2])
reader = vitalring.connect(socket=socket, history_seconds=300)
n = 0
cpu0, t0 = time.process_time(), time.monotonic()
while time.monotonic() - t0 < seconds:
    if reader.read(timeout=1.0) is not None:
        n += 1
cpu, wall = time.process_time() - cpu0, time.monotonic() - t0
print(f"records {n} in {wall:.1f} s ({n / wall:.0f}/s): CPU {100 * cpu / wall:.2f} % of one core")
times = []
for _ in range(200):
    a = time.perf_counter()
    w = reader.waveform("ecg_ii", seconds=300)
    times.append(time.perf_counter() - a)
print(
    f"waveform(ecg_ii, 300 s): {len(w.samples)} samples, median {statistics.median(times) * 1e3:.3f} ms,"
    f" max {max(times) * 1e3:.3f} ms"
)
print("stats", {k: reader.stats[k] for k in ("delivered", "dropped_lapped", "rejected")})
