#!/usr/bin/env python3
"""Plot 10 s of ECG lead II from a live vitalring producer (notebook-style example).

    vitalring sim --socket /tmp/vr.sock &
    python examples/python/plot_ecg.py /tmp/vr.sock            # shows a window, or
    python examples/python/plot_ecg.py /tmp/vr.sock ecg.png    # saves a PNG

Needs the vitalring package and numpy; matplotlib is optional (without it, the script prints a
summary of the samples instead of plotting).
"""

import sys
import time

import numpy as np

import vitalring

socket = sys.argv[1]
out = sys.argv[2] if len(sys.argv) > 2 else None

# %% Connect, then let 10 s of ECG arrive (the history is kept in Rust as frames come in).
reader = vitalring.connect(socket=socket, history_seconds=10)
deadline = time.monotonic() + 10.5
while time.monotonic() < deadline:
    reader.read(timeout=0.5)  # drains records; waveform() would also poll by itself

# %% The last 10 s as one contiguous numpy array, with its time base.
ecg = reader.waveform("ecg_ii", seconds=10)
if ecg is None:
    sys.exit("no ECG received")
t = np.arange(len(ecg.samples)) / ecg.fs  # seconds from the first sample
mv = ecg.samples / 1000.0  # µV -> mV
print(f"{len(ecg.samples)} samples at {ecg.fs} Hz from sample {ecg.first}; "
      f"range {mv.min():.2f} .. {mv.max():.2f} mV; stats {reader.stats['delivered']} delivered")

# %% Plot.
try:
    import matplotlib

    if out is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    sys.exit(0)

fig, ax = plt.subplots(figsize=(12, 3))
ax.plot(t, mv, linewidth=0.8)
ax.set_xlabel("s")
ax.set_ylabel("ECG II (mV)")
ax.set_title(f"vitalring: last {len(ecg.samples) / ecg.fs:.1f} s of ECG lead II")
ax.grid(True, alpha=0.3)
fig.tight_layout()
if out is not None:
    fig.savefig(out, dpi=100)
    print(f"saved {out}")
else:
    plt.show()
