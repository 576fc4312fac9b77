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


def pattern_producer_bin() -> pathlib.Path:
    """The integration tests' `test-producer` (publishes a known pattern of frames)."""
    for profile in ("debug", "release"):
        path = ROOT / "target" / profile / "test-producer"
        if path.exists():
            return path
    pytest.fail("no test-producer binary: run `cargo build -p vitalring-tests --bins`")


class Sim:
    """A running `vitalring sim` (on `socket`; or, with `socket_arg=False`, on the default
    socket of its `--channel`, under `env`)."""

    def __init__(self, socket: pathlib.Path, args: list[str], env=None, socket_arg=True):
        self.socket = socket
        where = ["--socket", str(socket)] if socket_arg else []
        self.proc = subprocess.Popen(
            [str(vitalring_bin()), "sim", *where, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
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


@pytest.fixture
def runtime_dir(tmp_path, monkeypatch):
    """A private $XDG_RUNTIME_DIR for this test and the producers it starts (so the default
    socket directory, and discovery, see only this test's channels)."""
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    return run


@pytest.fixture
def channel_sim(runtime_dir):
    """Starts `vitalring sim --channel NAME` on the default socket under `runtime_dir`."""
    sims: list[Sim] = []

    def start(channel: str, *args: str) -> Sim:
        socket = runtime_dir / "vitalring" / f"{channel}.sock"
        env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime_dir))
        sim = Sim(socket, ["--channel", channel, *args], env=env, socket_arg=False)
        sims.append(sim)
        return sim

    yield start
    for sim in sims:
        sim.stop()


class PatternProducer:
    """A running `test-producer`: frame i is the integration tests' pattern record i (every
    4th a vitals frame; NIBP only in every 8th frame, temperature only in every 3rd)."""

    def __init__(self, socket: pathlib.Path, frames: int):
        self.socket = socket
        self.frames = frames
        self.proc = subprocess.Popen(
            [
                str(pattern_producer_bin()),
                "--socket", str(socket),
                "--channel", "pattern",
                "--frames", str(frames),
                "--rate", "2000",
                "--wait-readers", "1",
                "--exit", "linger",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        if not line.startswith("READY"):
            raise RuntimeError(f"test-producer did not start: {line!r} {self.proc.stderr.read()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


@pytest.fixture
def pattern_producer(tmp_path):
    procs: list[PatternProducer] = []

    def start(frames: int) -> PatternProducer:
        p = PatternProducer(tmp_path / "pattern.sock", frames)
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.stop()
