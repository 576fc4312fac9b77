"""CPU of the Python reader at the clinical rate, for each wait mode.

    python python/bench/cpu.py [--socket PATH] [--seconds 20] [--wait block lowpower]

Without --socket it starts its own `vitalring sim` (3 waveform channels at 250 Hz in chunks of
10 and vitals at 60 Hz: 135 frames/s) on a temporary socket; the binary is $VITALRING_BIN or
target/{release,debug}/vitalring. For each wait mode it connects a reader, reads every record
with read() for --seconds, and prints the process CPU time (user + system, from
resource.getrusage: the interpreter included) over the wall time, as a percent of one core,
with the record rate and the load average (the machine may be shared: compare runs made
under the same load). The last line is machine-readable: `cpu_percent block=... lowpower=...`.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

import vitalring

ROOT = pathlib.Path(__file__).resolve().parents[2]


def vitalring_bin() -> str:
    env = os.environ.get("VITALRING_BIN")
    if env:
        return env
    for profile in ("release", "debug"):
        path = ROOT / "target" / profile / "vitalring"
        if path.exists():
            return str(path)
    sys.exit("cpu.py: no vitalring binary: cargo build -p vitalring-cli, or set VITALRING_BIN")


def cpu_seconds() -> tuple[float, float]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime


def measure(socket: str, wait: str, seconds: float) -> float:
    reader = vitalring.connect(socket=socket, wait=wait)
    records = problems = 0
    (u0, s0), t0 = cpu_seconds(), time.monotonic()
    while time.monotonic() - t0 < seconds:
        rec = reader.read(timeout=1.0)
        if rec is None:
            continue
        records += 1
        if isinstance(rec, vitalring.Problem):
            problems += 1
    (u1, s1), wall = cpu_seconds(), time.monotonic() - t0
    user, system = 100 * (u1 - u0) / wall, 100 * (s1 - s0) / wall
    st = reader.stats
    print(
        f"wait={wait}: {records} records in {wall:.1f} s ({records / wall:.0f}/s), "
        f"problems {problems}, dropped {st['dropped_lapped'] + st['dropped_overwritten']}, "
        f"rejected {st['rejected']}: CPU {user + system:.2f} % of one core "
        f"(user {user:.2f} %, system {system:.2f} %)",
        flush=True,
    )
    return user + system


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--socket", help="a running producer's socket (default: start a sim)")
    ap.add_argument("--seconds", type=float, default=20.0, help="seconds per wait mode")
    ap.add_argument(
        "--wait", nargs="+", default=["block", "lowpower"], help="wait modes to measure"
    )
    args = ap.parse_args()
    sim = None
    tmp = None
    socket = args.socket
    if socket is None:
        tmp = tempfile.TemporaryDirectory()
        socket = os.path.join(tmp.name, "cpu.sock")
        duration = args.seconds * len(args.wait) + 30
        sim = subprocess.Popen(
            [vitalring_bin(), "sim", "--socket", socket, "--duration", str(duration)],
            stdout=subprocess.DEVNULL,
        )
        start = time.monotonic()
        while not os.path.exists(socket):
            if sim.poll() is not None or time.monotonic() - start > 20:
                sys.exit("cpu.py: the simulator did not start")
            time.sleep(0.05)
    try:
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        result = {w: measure(socket, w, args.seconds) for w in args.wait}
        print("cpu_percent " + " ".join(f"{w}={v:.2f}" for w, v in result.items()))
    finally:
        if sim is not None:
            sim.terminate()
            sim.wait(timeout=20)
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
