"""Read a vitalring patient-monitor ring from Python, numpy-first.

A producer (``vitalring sim``, an acquisition process) publishes vitals and waveform frames
into a sealed shared-memory ring; this package attaches to it read-only through the same
reader session as the Rust and C readers: every frame is CRC- and range-checked, drops and
rejects are counted, a stalled or stopped producer is reported, a restarted one is attached
by itself.

>>> import vitalring
>>> reader = vitalring.connect(socket="/tmp/vr.sock")      # doctest: +SKIP
>>> for rec in reader:                                       # doctest: +SKIP
...     if isinstance(rec, vitalring.Vitals):
...         print(rec.hr, rec.spo2)
>>> ecg = reader.waveform("ecg_ii", seconds=10)              # doctest: +SKIP
>>> ecg.samples.shape, ecg.fs                                # doctest: +SKIP
((2500,), 250)
>>> reader.vitals_frame(seconds=60)                          # doctest: +SKIP
>>> [c.name for c in vitalring.channels()]                   # doctest: +SKIP
['bed3']

See docs/python.md for the records, the counters and how problems are reported.
"""

from __future__ import annotations

import os
from typing import Optional, Union

from ._frames import vitals_frame
from ._vitalring import (
    ChannelInfo,
    ConnectError,
    Frames,
    Problem,
    Reader,
    Status,
    VitalringError,
    Vitals,
    Waveform,
    WaveformChunk,
    channels,
)

__all__ = [
    "connect",
    "channels",
    "vitals_frame",
    "default_socket_path",
    "Reader",
    "Vitals",
    "WaveformChunk",
    "Status",
    "Problem",
    "Waveform",
    "Frames",
    "ChannelInfo",
    "VitalringError",
    "ConnectError",
]

PathLike = Union[str, "os.PathLike[str]"]


def default_socket_path(channel: str = "default") -> str:
    """The producer's default control socket for ``channel``:
    ``$XDG_RUNTIME_DIR/vitalring/<channel>.sock`` if ``XDG_RUNTIME_DIR`` is an absolute path,
    else ``/tmp/vitalring-<euid>/<channel>.sock``."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime.startswith("/"):
        return os.path.join(runtime, "vitalring", f"{channel}.sock")
    return f"/tmp/vitalring-{os.geteuid()}/{channel}.sock"


def connect(
    channel: Optional[str] = None,
    socket: Optional[PathLike] = None,
    token_file: Optional[PathLike] = None,
    wait: str = "block",
    *,
    lap: str = "latest",
    start: str = "next",
    history_seconds: int = 300,
    stall_timeout: float = 0.25,
) -> Reader:
    """Attach to a producer and return a :class:`Reader`.

    :param channel: channel name (default ``"default"``); names the default socket and is sent
        in the handshake.
    :param socket: control socket path (default: :func:`default_socket_path` of the channel).
    :param token_file: a 0600 file of yours holding the producer's token, if it needs one.
    :param wait: how a blocking read waits for the next frame: ``"block"`` (spin briefly,
        then sleep at most 50 µs at a time: ~0.1 ms latency, a few % of a core),
        ``"lowpower"`` (sleeps of at most 1 ms: ~1 ms latency, the least CPU) or ``"busy"``
        (spin: lowest latency, one busy core).
    :param lap: when the producer laps the reader: ``"latest"`` (jump to the newest frame, a
        live display) or ``"oldest"`` (the oldest still held, a recorder).
    :param start: ``"next"`` (frames published from now on), ``"latest"`` or ``"oldest"``.
    :param history_seconds: seconds of every waveform channel kept for
        :meth:`Reader.waveform` (0: none).
    :param stall_timeout: seconds without a heartbeat before the producer counts as stalled.
    :raises ConnectError: no producer, refused (token, uid, channel), or an invalid ring.
    :raises ValueError: an invalid argument.
    """
    sleeps = {"block": 50, "lowpower": 1000, "busy": 50}
    if wait not in sleeps:
        raise ValueError(f"wait must be 'block', 'lowpower' or 'busy', not {wait!r}")
    channel = channel or "default"
    path = os.fspath(socket) if socket is not None else default_socket_path(channel)
    token = os.fspath(token_file) if token_file is not None else None
    return Reader(
        path,
        channel,
        token,
        lap=lap,
        start=start,
        busy_poll=(wait == "busy"),
        history_seconds=history_seconds,
        stall_timeout=stall_timeout,
        max_sleep_us=sleeps[wait],
    )
