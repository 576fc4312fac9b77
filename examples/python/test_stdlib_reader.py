"""Conformance: the standard-library reader (written from the docs only) and the vitalring
package read the same `vitalring sim` process and must agree on every vitals frame both saw;
under a corrupting producer both must reject (mostly the same) frames."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = pathlib.Path(__file__).with_name("stdlib_reader.py")


def vitalring_bin() -> str:
    env = os.environ.get("VITALRING_BIN")
    if env:
        return env
    for profile in ("debug", "release"):
        path = ROOT / "target" / profile / "vitalring"
        if path.exists():
            return str(path)
    pytest.fail("no vitalring binary: run `cargo build -p vitalring-cli` or set VITALRING_BIN")


def start_sim(socket: pathlib.Path, *args: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [vitalring_bin(), "sim", "--socket", str(socket), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20  # hang guard
    while not socket.exists():
        assert proc.poll() is None, "sim exited early"
        assert time.monotonic() < deadline, "sim did not create its socket"
        time.sleep(0.01)
    return proc


def run_both(socket: pathlib.Path):
    """Runs the stdlib reader in a subprocess and the package in this process until the
    producer stops; returns (stdlib stdout lines, stdlib stderr lines, package records)."""
    vitalring = pytest.importorskip("vitalring")
    reader = vitalring.connect(socket=socket)
    child = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(socket)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    records = []
    deadline = time.monotonic() + 60  # hang guard
    while time.monotonic() < deadline:
        rec = reader.read(timeout=0.5)
        if rec is None:
            continue
        records.append(rec)
        if isinstance(rec, vitalring.Status) and rec.state == "producer_stopped":
            break
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    return out.splitlines(), err.splitlines(), records, vitalring


def parse(line: str) -> dict:
    fields = dict(kv.split("=", 1) for kv in line.split()[1:])
    return fields


def expected_fields(v) -> dict:
    return {
        "index": str(v.index),
        "t_ns": str(v.timestamp_ns),
        "hr": str(v.hr),
        "spo2": str(v.spo2),
        "rr": str(v.rr),
        "nibp": "/".join(map(str, v.nibp)) if v.nibp else "-",
        "temp": f"{v.temp:.2f}" if v.temp is not None else "-",
        "pr": str(v.pr) if v.pr is not None else "-",
    }


@pytest.mark.parametrize("encoding", ["json", "binary"])
def test_stdlib_reader_agrees_with_the_package(tmp_path, encoding):
    socket = tmp_path / "sim.sock"
    # Long enough for both readers to attach on a loaded machine (interpreter start-up).
    sim = start_sim(socket, "--duration", "8", "--encoding", encoding)
    try:
        lines, err, records, vitalring = run_both(socket)
    finally:
        sim.wait(timeout=30)
    ours = {int(parse(l)["index"]): parse(l) for l in lines if l.startswith("vitals ")}
    theirs = {r.index: expected_fields(r) for r in records if isinstance(r, vitalring.Vitals)}
    common = set(ours) & set(theirs)
    assert len(common) >= 60, (len(ours), len(theirs))
    for i in sorted(common):
        assert ours[i] == theirs[i]
    assert err[-1].startswith("summary ") and " dropped=0 rejected=0" in err[-1], err


def test_stdlib_reader_rejects_corrupted_frames_like_the_package(tmp_path):
    """The `corrupt` scenario flips a bit in a slot *after* publishing it, so a reader that got
    there first saw a valid frame: the two rejected sets need not be equal. What must hold:
    both readers reject frames, mostly the same ones, and a vitals frame both delivered has
    the same values in both (a corrupted value is never shown by either)."""
    socket = tmp_path / "sim.sock"
    sim = start_sim(socket, "--duration", "8", "--scenario", "corrupt", "--corrupt-rate", "0.1")
    try:
        lines, err, records, vitalring = run_both(socket)
    finally:
        sim.wait(timeout=30)
    ours = {int(l.split()[1].split("=")[1]) for l in err if l.startswith("rejected ")}
    theirs = set()
    for r in records:
        # Any rejection kind: the two readers may name a different first failed check (the
        # package checks the data size before the CRC, the stdlib reader the CRC first).
        if isinstance(r, vitalring.Problem) and r.first is not None and r.kind != "dropped":
            theirs.update(range(r.first, r.first + r.count))
    assert ours and theirs, err
    assert len(ours & theirs) >= len(ours) // 2, (sorted(ours), sorted(theirs))
    printed = {int(parse(l)["index"]): parse(l) for l in lines if l.startswith("vitals ")}
    delivered = {r.index: expected_fields(r) for r in records if isinstance(r, vitalring.Vitals)}
    common = set(printed) & set(delivered)
    assert len(common) >= 30
    for i in common:
        assert printed[i] == delivered[i]
