"""Fixtures: a real `vitalring sim` process on a private socket."""

from __future__ import annotations

import os
import pathlib
import subprocess
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def vitalring_bin() -> pathlib.Path:
    """The `vitalring` binary: $VITALRING_BIN, else target/{debug,release}/vitalring."""
    env = os.environ.get("VITALRING_BIN")
    if env:
        return pathlib.Path(env)
    for profile in ("debug", "release"):
        path = ROOT / "target" / profile / "vitalring"
        if path.exists():
            return path
    pytest.fail("no vitalring binary: run `cargo build -p vitalring-cli` or set VITALRING_BIN")


class Sim:
    """A running `vitalring sim`."""

    def __init__(self, socket: pathlib.Path, args: list[str]):
        self.socket = socket
        self.proc = subprocess.Popen(
            [str(vitalring_bin()), "sim", "--socket", str(socket), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 20  # hang guard
        while not socket.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"sim exited: {self.proc.stderr.read()}")
            if time.monotonic() > deadline:
                raise RuntimeError("sim did not create its socket")
            time.sleep(0.01)

    def wait(self) -> int:
        return self.proc.wait(timeout=60)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


@pytest.fixture
def sim_factory(tmp_path):
    sims: list[Sim] = []

    def start(*args: str, name: str = "sim.sock") -> Sim:
        sim = Sim(tmp_path / name, list(args))
        sims.append(sim)
        return sim

    yield start
    for sim in sims:
        sim.stop()
