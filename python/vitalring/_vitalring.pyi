"""Type stubs of the vitalring extension module (python/src/lib.rs)."""

from __future__ import annotations

import pathlib
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

class VitalringError(Exception):
    """Base class of vitalring errors."""

class ConnectError(VitalringError):
    """The handshake with the producer failed (no producer, refused, untrusted, bad ring)."""

class Vitals:
    """One vitals frame. Optional values are None when the producer did not measure them."""

    index: int
    timestamp_ns: int
    hr: int
    spo2: int
    rr: int
    nibp: Optional[Tuple[int, int, int]]
    temp: Optional[float]
    pr: Optional[int]

class WaveformChunk:
    """Consecutive samples of one channel (one waveform frame)."""

    index: int
    timestamp_ns: int
    channel: str
    fs: int
    first: int
    samples: npt.NDArray[np.int32]

class Status:
    """A connection state change: "connected", "stalled", "producer_stopped", "reconnecting"."""

    state: str
    epoch: Optional[int]

class Problem:
    """Frames dropped or rejected, a stall, a failed re-handshake or a ring fault."""

    kind: str
    first: Optional[int]
    count: int
    message: str

class Waveform:
    """The newest contiguous samples of one channel (Reader.waveform)."""

    channel: str
    fs: int
    first: int
    start_ns: int
    samples: npt.NDArray[np.int32]

class Frames:
    """Raw delivered frames (Reader.read_frames); payload i is payload[offsets[i]:offsets[i+1]]."""

    index: npt.NDArray[np.uint64]
    frame_type: npt.NDArray[np.uint8]
    encoding: npt.NDArray[np.uint8]
    timestamp_ns: npt.NDArray[np.uint64]
    offsets: npt.NDArray[np.uint64]
    payload: npt.NDArray[np.uint8]
    def __len__(self) -> int: ...

class ChannelInfo:
    """A producer socket in the default socket directory (vitalring.channels), and the
    producer's own description of its channel when it was listed. Every metadata field (kind
    onwards) is None when the producer gave no description: a stale or unknown socket, or a
    live producer that refused the request (see refused)."""

    name: str
    path: pathlib.Path
    live: bool
    state: str
    error: Optional[str]
    refused: Optional[str]
    kind: Optional[str]
    description: Optional[str]
    encoding: Optional[str]
    frame_size: Optional[int]
    frame_count: Optional[int]
    epoch: Optional[int]
    pid: Optional[int]
    started_unix_ms: Optional[int]
    uptime_s: Optional[float]
    published: Optional[int]
    frame_rate_hz: Optional[float]
    heartbeat_age_ms: Optional[int]
    readers: Optional[int]
    commands: Optional[List[str]]
    request_version: Optional[int]

def channels(include_stale: bool = False) -> List[ChannelInfo]: ...

Record = Union[Vitals, WaveformChunk, Status, Problem]

class Reader:
    """A reader session on one producer's ring (create it with vitalring.connect)."""

    def __init__(
        self,
        socket: str,
        channel: str,
        token_file: Optional[str] = None,
        lap: str = "latest",
        start: str = "next",
        busy_poll: bool = False,
        history_seconds: int = 300,
        stall_timeout: float = 0.25,
        max_sleep_us: int = 50,
    ) -> None: ...
    def read(self, timeout: Optional[float] = None) -> Optional[Record]: ...
    def try_read(self) -> Optional[Record]: ...
    def __iter__(self) -> Iterator[Record]: ...
    def __next__(self) -> Record: ...
    def waveform(self, channel: str, seconds: float = 10.0) -> Optional[Waveform]: ...
    def vitals_frame(self, seconds: float = 60.0) -> Any:
        """A pandas DataFrame of the newest vitals frames (see docs/python.md)."""
    def read_frames(
        self, max_frames: int = 4096, timeout: Optional[float] = None
    ) -> Optional[Frames]: ...
    @property
    def stats(self) -> Dict[str, Union[int, str, Dict[str, int]]]: ...
    @property
    def state(self) -> str: ...
