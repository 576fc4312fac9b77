"""The vitalring package against real `vitalring sim` processes."""

from __future__ import annotations

import signal
import threading
import time

import numpy as np
import pytest

import vitalring


def records_until(reader, pred, limit=15.0):
    """Reads records until pred(record) is true; returns them all (hang guard: limit s)."""
    out = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        rec = reader.read(timeout=0.5)
        if rec is None:
            continue
        out.append(rec)
        if pred(rec):
            return out
    pytest.fail(f"condition not met after {limit} s; last records: {out[-5:]}")


def test_records_are_typed_and_physiological(sim_factory):
    sim = sim_factory("--duration", "20")
    reader = vitalring.connect(socket=sim.socket)
    first = reader.read(timeout=5)
    assert isinstance(first, vitalring.Status) and first.state == "connected"
    assert first.epoch == reader.stats["epoch"]
    recs = []
    seen_vitals = seen_chunks = 0
    deadline = time.monotonic() + 15
    while (seen_vitals < 30 or seen_chunks < 30) and time.monotonic() < deadline:
        rec = reader.read(timeout=1)
        recs.append(rec)
        if isinstance(rec, vitalring.Vitals):
            seen_vitals += 1
            assert 30 <= rec.hr <= 250 and 50 <= rec.spo2 <= 100 and 4 <= rec.rr <= 60
            sys_, dia, mean = rec.nibp
            assert sys_ > mean > dia
            assert 30.0 <= rec.temp <= 42.0
        elif isinstance(rec, vitalring.WaveformChunk):
            seen_chunks += 1
            assert rec.channel in ("ecg_ii", "pleth", "resp")
            assert rec.fs == 250
            assert rec.samples.dtype == np.int32 and rec.samples.ndim == 1
            assert len(rec.samples) == 10
    assert seen_vitals >= 30 and seen_chunks >= 30, recs[-5:]
    assert not any(isinstance(r, vitalring.Problem) for r in recs), recs
    s = reader.stats
    assert s["state"] == "connected"
    assert s["dropped_lapped"] == s["dropped_overwritten"] == s["rejected"] == 0
    assert s["delivered"] + s["rejected"] + s["dropped_lapped"] + s["dropped_overwritten"] == (
        s["position"] - s["start_index"]
    )


def test_waveform_history_is_contiguous_and_gathered_in_rust(sim_factory):
    sim = sim_factory("--duration", "20")
    reader = vitalring.connect(socket=sim.socket, history_seconds=2)
    # Never call read(): waveform() polls the ring itself.
    deadline = time.monotonic() + 15
    w = None
    while time.monotonic() < deadline:
        w = reader.waveform("ecg_ii", seconds=1)
        if w is not None and len(w.samples) == 250:
            break
        time.sleep(0.05)
    assert w is not None and len(w.samples) == 250, w
    assert w.channel == "ecg_ii" and w.fs == 250
    assert w.samples.dtype == np.int32 and w.samples.flags["C_CONTIGUOUS"]
    # The ECG has beats: a real signal, not a constant.
    assert int(w.samples.max()) - int(w.samples.min()) > 300
    # Asking for more than the history keeps returns the whole history (2 s).
    time.sleep(2.2)
    full = reader.waveform("ecg_ii", seconds=300)
    assert len(full.samples) == 500
    # The window's start time matches its first sample index at 4 ms a sample.
    newer = reader.waveform("ecg_ii", seconds=1)
    assert newer.first >= full.first
    dt = (newer.start_ns - full.start_ns) / 1e6
    assert abs(dt - (newer.first - full.first) * 4.0) < 1e-3
    with pytest.raises(ValueError):
        reader.waveform("eeg", seconds=1)


def test_iteration_ends_when_the_producer_stops_cleanly(sim_factory):
    sim = sim_factory("--duration", "1.5")
    reader = vitalring.connect(socket=sim.socket)
    recs = list(reader)  # blocks until the producer stops
    assert isinstance(recs[-1], vitalring.Status) and recs[-1].state == "producer_stopped"
    assert sum(isinstance(r, vitalring.Vitals) for r in recs) >= 30
    assert reader.state == "producer_stopped"
    sim.wait()


def test_a_blocking_read_releases_the_gil_and_ctrl_c_interrupts_it(sim_factory):
    sim = sim_factory("--duration", "0.5")
    reader = vitalring.connect(socket=sim.socket)
    records_until(reader, lambda r: isinstance(r, vitalring.Status) and r.state == "producer_stopped")
    # Nothing more will come: read(timeout=None) would wait for ever for a new producer.
    ticks = 0
    main = threading.get_ident()

    def other():
        nonlocal ticks
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            ticks += 1  # runs only if the blocked read released the GIL
            time.sleep(0.001)
        signal.pthread_kill(main, signal.SIGINT)

    t = threading.Thread(target=other)
    t.start()
    with pytest.raises(KeyboardInterrupt):
        reader.read()
    t.join()
    assert ticks > 50


def test_a_corrupting_producer_is_reported_never_delivered(sim_factory):
    sim = sim_factory("--scenario", "corrupt", "--corrupt-rate", "0.2", "--duration", "20")
    reader = vitalring.connect(socket=sim.socket)
    recs = records_until(reader, lambda r: isinstance(r, vitalring.Problem) and r.kind == "crc")
    problem = recs[-1]
    assert problem.count >= 1 and problem.first is not None
    assert "rejected" in problem.message
    s = reader.stats
    assert s["rejected_by_reason"]["crc"] >= 1
    # Nothing rejected was handed out as data.
    indices = {r.index for r in recs if isinstance(r, (vitalring.Vitals, vitalring.WaveformChunk))}
    assert problem.first not in indices


def test_raw_frames_in_bulk(sim_factory):
    sim = sim_factory("--duration", "20")
    reader = vitalring.connect(socket=sim.socket)
    got = 0
    deadline = time.monotonic() + 15
    while got < 200 and time.monotonic() < deadline:
        f = reader.read_frames(max_frames=100, timeout=1)
        if f is None:
            continue
        n = len(f)
        assert f.index.dtype == np.uint64 and f.offsets.shape == (n + 1,)
        assert np.all(np.diff(f.index.astype(np.int64)) > 0)
        assert set(np.unique(f.frame_type)) <= {1, 2, 3}
        # JSON payloads (the sim's default encoding) start with '{'.
        for i in range(n):
            if f.frame_type[i] != 3:
                assert f.payload[f.offsets[i]] == ord("{")
        got += n
    assert got >= 200
    assert reader.stats["delivered"] >= got


def test_connect_errors_are_one_clear_line(tmp_path):
    with pytest.raises(vitalring.ConnectError, match="no producer socket at"):
        vitalring.connect(socket=tmp_path / "none.sock")
    with pytest.raises(ValueError):
        vitalring.connect(socket=tmp_path / "none.sock", wait="sometimes")
    with pytest.raises(vitalring.ConnectError, match="token file"):
        vitalring.connect(socket=tmp_path / "none.sock", token_file=tmp_path / "missing")
