"""pandas DataFrames of vitals frames (Reader.vitals_frame, vitalring.vitals_frame).

pandas is optional: it is imported only when a DataFrame is asked for. An optional value the
producer did not send becomes <NA> in a nullable column; nothing is filled in.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable

import numpy as np

from ._vitalring import Vitals

COLUMNS = ("frame", "hr", "spo2", "rr", "nibp_sys", "nibp_dia", "nibp_mean", "temp", "pr")


def _pandas():
    try:
        import pandas
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "vitals_frame needs pandas: pip install pandas (or pip install 'vitalring[pandas]')"
        ) from e
    return pandas


def vitals_frame_from_columns(cols: Dict[str, np.ndarray]) -> Any:
    """A DataFrame from the column arrays the extension gathers (see Reader.vitals_frame)."""
    pd = _pandas()

    def nullable(values: np.ndarray, present: np.ndarray) -> Any:
        mask = ~present.astype(bool)
        if values.dtype.kind == "f":
            return pd.arrays.FloatingArray(values, mask)
        return pd.arrays.IntegerArray(values, mask)

    time = pd.DatetimeIndex(
        pd.to_datetime(np.asarray(cols["timestamp_ns"], dtype=np.int64), unit="ns", utc=True),
        name="time",
    )
    data = {
        "frame": cols["frame"],
        "hr": cols["hr"],
        "spo2": cols["spo2"],
        "rr": cols["rr"],
        "nibp_sys": nullable(cols["nibp_sys"], cols["nibp_present"]),
        "nibp_dia": nullable(cols["nibp_dia"], cols["nibp_present"]),
        "nibp_mean": nullable(cols["nibp_mean"], cols["nibp_present"]),
        "temp": nullable(cols["temp"], cols["temp_present"]),
        "pr": nullable(cols["pr"], cols["pr_present"]),
    }
    return pd.DataFrame(data, index=time, columns=list(COLUMNS))


def vitals_frame(records: Iterable[Any]) -> Any:
    """A DataFrame of the Vitals among `records` (other records are skipped), in their order,
    with the same columns as Reader.vitals_frame."""
    rows = [r for r in records if isinstance(r, Vitals)]
    n = len(rows)

    def col(dtype, get):
        return np.fromiter((get(r) for r in rows), dtype=dtype, count=n)

    return vitals_frame_from_columns(
        {
            "frame": col(np.uint64, lambda r: r.index),
            "timestamp_ns": col(np.int64, lambda r: r.timestamp_ns),
            "hr": col(np.uint16, lambda r: r.hr),
            "spo2": col(np.uint8, lambda r: r.spo2),
            "rr": col(np.uint8, lambda r: r.rr),
            "nibp_sys": col(np.uint16, lambda r: r.nibp[0] if r.nibp else 0),
            "nibp_dia": col(np.uint16, lambda r: r.nibp[1] if r.nibp else 0),
            "nibp_mean": col(np.uint16, lambda r: r.nibp[2] if r.nibp else 0),
            "nibp_present": col(bool, lambda r: r.nibp is not None),
            "temp": col(np.float32, lambda r: r.temp if r.temp is not None else 0.0),
            "temp_present": col(bool, lambda r: r.temp is not None),
            "pr": col(np.uint16, lambda r: r.pr if r.pr is not None else 0),
            "pr_present": col(bool, lambda r: r.pr is not None),
        }
    )
