"""Reader.vitals_frame / vitalring.vitals_frame (pandas) and vitalring.channels (discovery),
against real producer processes."""

from __future__ import annotations

import os
import socket as pysocket
import subprocess
import time

import numpy as np
import pandas as pd
import pytest

import vitalring

from conftest import Sim, vitalring_bin


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
    # The producer starts publishing as soon as our handshake is served, possibly before we
    # attach: start at the oldest frame the ring holds so frame 0 is ours too.
    reader = vitalring.connect(channel="pattern", socket=p.socket, start="oldest")
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


SIM_COMMANDS = ["scenario", "pause", "resume", "alarm-test"]
METADATA = (
    "kind", "description", "encoding", "frame_size", "frame_count", "epoch", "pid",
    "started_unix_ms", "uptime_s", "published", "frame_rate_hz", "heartbeat_age_ms",
    "readers", "commands", "request_version",
)


def listed(name, include_stale=False):
    """The ChannelInfo of `name` in vitalring.channels()."""
    found = [c for c in vitalring.channels(include_stale=include_stale) if c.name == name]
    assert len(found) == 1, f"{name} listed {len(found)} times"
    return found[0]


def test_channels_carry_what_each_producer_says_about_its_channel(runtime_dir, channel_sim):
    # Two producers that differ in everything describe reports: scenario (the description),
    # encoding and ring geometry.
    afib = channel_sim(
        "bed2", "--duration", "30", "--scenario", "afib", "--encoding", "binary",
        "--frames", "512", "--frame-size", "1024",
    )
    normal = channel_sim("bed7", "--duration", "30")

    bed2, bed7 = vitalring.channels()
    assert (bed2.name, bed7.name) == ("bed2", "bed7")
    assert (bed2.kind, bed2.description, bed2.encoding) == ("simulator", "scenario afib", "binary")
    assert (bed7.kind, bed7.description, bed7.encoding) == ("simulator", "scenario normal", "json")
    assert (bed2.frame_size, bed2.frame_count) == (1024, 512)
    assert (bed7.frame_size, bed7.frame_count) == (4096, 2048)
    assert (bed2.pid, bed7.pid) == (afib.proc.pid, normal.proc.pid)
    assert bed2.commands == SIM_COMMANDS and bed7.commands == SIM_COMMANDS
    assert bed2.refused is None and bed2.request_version == 1
    now_ms = time.time() * 1000
    for c in (bed2, bed7):
        assert 0 < c.started_unix_ms <= now_ms
        assert c.uptime_s >= 0 and c.published >= 0 and c.frame_rate_hz >= 0
        assert c.heartbeat_age_ms >= 0
        assert c.readers == 0
    assert bed2.epoch != bed7.epoch
    assert "scenario afib" in repr(bed2) and "frame_count=512" in repr(bed2)

    # The epoch is the one a reader attached to the channel sees, and the reader is counted.
    reader = vitalring.connect(channel="bed2")
    first = reader.read(timeout=5)
    assert isinstance(first, vitalring.Status) and first.state == "connected"
    assert first.epoch == bed2.epoch
    drain(reader, lambda: reader.stats["delivered"] >= 20)
    again = listed("bed2")
    assert again.readers == 1
    assert again.epoch == bed2.epoch
    assert again.published >= 20 and again.frame_rate_hz > 0
    assert again.uptime_s >= bed2.uptime_s

    # The description is the producer's now, not a copy from start-up.
    subprocess.run(
        [str(vitalring_bin()), "ctl", "bed7", "scenario", "tachycardia"],
        check=True, capture_output=True, timeout=30,
    )
    assert listed("bed7").description == "scenario tachycardia"


def test_beds_of_one_simulator_are_listed_with_their_own_description(runtime_dir):
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime_dir))
    sim = Sim(runtime_dir / "vitalring" / "bed2.sock", ["--beds", "2", "--duration", "30"],
              env=env, socket_arg=False)
    try:
        deadline = time.monotonic() + 20
        while len(vitalring.channels()) < 2:
            if time.monotonic() > deadline:
                pytest.fail(f"hang guard: beds not listed: {vitalring.channels(True)}")
            time.sleep(0.05)
        bed1, bed2 = vitalring.channels()
        assert (bed1.name, bed1.description) == ("bed1", "bed 1, scenario normal")
        assert (bed2.name, bed2.description) == ("bed2", "bed 2, scenario bradycardia")
        assert bed1.pid == bed2.pid == sim.proc.pid
        assert bed1.epoch != bed2.epoch
    finally:
        sim.stop()


def test_a_killed_producer_is_stale_and_has_no_metadata(runtime_dir, channel_sim):
    sim = channel_sim("bed4", "--duration", "30", "--scenario", "afib")
    assert listed("bed4").description == "scenario afib"
    # SIGKILL: the producer cannot remove its socket.
    sim.proc.kill()
    sim.proc.wait(timeout=20)
    assert sim.socket.exists()

    assert vitalring.channels() == []
    stale = listed("bed4", include_stale=True)
    assert (stale.state, stale.live, stale.error, stale.refused) == ("stale", False, None, None)
    for field in METADATA:
        assert getattr(stale, field) is None, f"{field} of a stale channel"
    assert "kind=" not in repr(stale)
