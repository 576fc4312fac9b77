"""Reader.vitals_frame / vitalring.vitals_frame (pandas) and vitalring.channels (discovery),
against real producer processes."""

from __future__ import annotations

import socket as pysocket
import time

import numpy as np
import pandas as pd
import pytest

import vitalring


def drain(reader, until, limit=15.0):
    """Reads records until until() is true; returns them (hang guard: limit s)."""
    recs = []
    start = time.monotonic()
    while not until():
        if time.monotonic() - start > limit:
            pytest.fail(f"hang guard: condition not met after {limit} s; stats {reader.stats}")
        rec = reader.read(timeout=0.2)
        if rec is not None:
            recs.append(rec)
    while (rec := reader.try_read()) is not None:
        recs.append(rec)
    return recs


def test_vitals_frame_is_na_where_the_producer_sent_no_value(pattern_producer):
    frames = 400
    p = pattern_producer(frames)
    reader = vitalring.connect(channel="pattern", socket=p.socket)
    recs = drain(reader, lambda: reader.stats["position"] >= frames)
    s = reader.stats
    assert s["dropped_lapped"] == s["dropped_overwritten"] == s["rejected"] == 0, s

    df = reader.vitals_frame(seconds=3600)
    # Every 4th frame is a vitals frame: one row each, in ring order.
    assert list(df["frame"]) == list(range(0, frames, 4))
    assert isinstance(df.index, pd.DatetimeIndex) and df.index.name == "time"
    assert str(df.index.dtype) == "datetime64[ns, UTC]"
    # The producer stamps frame i at base + 4 ms * i.
    ns = df.index.asi8
    assert np.all(np.diff(ns) == 16_000_000)
    assert list(df.columns) == [
        "frame", "hr", "spo2", "rr", "nibp_sys", "nibp_dia", "nibp_mean", "temp", "pr"
    ]
    for i, row in zip(df["frame"], df.itertuples(index=False)):
        i = int(i)
        assert (row.hr, row.spo2, row.rr, row.pr) == (40 + i % 150, 80 + i % 21, 8 + i % 30, 60 + i % 50)
        if i % 8 == 0:
            assert (row.nibp_sys, row.nibp_dia, row.nibp_mean) == (120, 80, 93)
        else:  # not measured in this frame: missing, not a number
            assert row.nibp_sys is pd.NA and row.nibp_dia is pd.NA and row.nibp_mean is pd.NA
        if i % 3 == 0:
            assert row.temp == pytest.approx(36.5)
        else:
            assert row.temp is pd.NA
    # As floats, absent values are NaN.
    temp = df["temp"].to_numpy(dtype=float, na_value=np.nan)
    assert np.isnan(temp).sum() == sum(1 for i in range(0, frames, 4) if i % 3)

    # A window counts back from the newest frame (396, stamped base + 1584 ms).
    tail = reader.vitals_frame(seconds=0.1)
    assert list(tail["frame"]) == list(range(372, frames, 4))

    # The records read one by one make the same frame.
    pd.testing.assert_frame_equal(vitalring.vitals_frame(recs), df)


def test_vitals_frame_of_a_live_simulator(sim_factory):
    sim = sim_factory("--duration", "20")
    reader = vitalring.connect(socket=sim.socket)
    # Never call read(): vitals_frame() polls the ring itself.
    start = time.monotonic()
    df = reader.vitals_frame()
    while len(df) < 60:
        if time.monotonic() - start > 15:
            pytest.fail(f"hang guard: {len(df)} vitals rows after 15 s")
        time.sleep(0.1)
        df = reader.vitals_frame()
    assert df.index.is_monotonic_increasing
    assert df["hr"].between(30, 250).all() and df["spo2"].between(50, 100).all()
    # The simulator measures everything in every frame: nothing is missing.
    assert not df.isna().any().any()
    assert (df["nibp_sys"] > df["nibp_mean"]).all() and (df["nibp_mean"] > df["nibp_dia"]).all()
    # Rows are the delivered frames, nothing else.
    assert df["frame"].is_unique
    assert len(df) <= reader.stats["delivered"]
    short = reader.vitals_frame(seconds=0.5)
    assert 0 < len(short) < len(df)
    span = short.index[-1] - short.index[0]
    assert span <= pd.Timedelta(milliseconds=500)


def test_vitals_frame_needs_a_history(sim_factory):
    sim = sim_factory("--duration", "5")
    reader = vitalring.connect(socket=sim.socket, history_seconds=0)
    with pytest.raises(vitalring.VitalringError, match="no history"):
        reader.vitals_frame()


def test_channels_lists_the_live_producers_of_this_user(runtime_dir, channel_sim):
    assert vitalring.channels() == []
    bed7 = channel_sim("bed7", "--duration", "20")
    bed2 = channel_sim("bed2", "--duration", "20")
    # A producer that died without removing its socket: a stale entry.
    ghost = pysocket.socket(pysocket.AF_UNIX, pysocket.SOCK_STREAM)
    ghost.bind(str(runtime_dir / "vitalring" / "ghost.sock"))
    ghost.close()

    live = vitalring.channels()
    assert [c.name for c in live] == ["bed2", "bed7"]
    assert all(c.live and c.state == "live" and c.error is None for c in live)
    assert [str(c.path) for c in live] == [str(bed2.socket), str(bed7.socket)]

    every = vitalring.channels(include_stale=True)
    assert [(c.name, c.state, c.live) for c in every] == [
        ("bed2", "live", True),
        ("bed7", "live", True),
        ("ghost", "stale", False),
    ]
    # A listed name is enough to connect (the default socket of the channel).
    reader = vitalring.connect(channel=live[1].name)
    first = reader.read(timeout=5)
    assert isinstance(first, vitalring.Status) and first.state == "connected"

    bed7.stop()
    assert [c.name for c in vitalring.channels()] == ["bed2"]
