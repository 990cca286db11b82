"""Reading the embedded history back: one tag's values and status codes since a time, as
text or as a plot (`plant history TAG --since 1h [--plot FILE.png]`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .historian.sqlite import SqliteSink

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str) -> float:
    """'90s', '15m', '1h', '2d' -> seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text)
    if not m:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 15m, 1h, 2d)")
    return float(m.group(1)) * _UNITS[m.group(2)]


@dataclass(frozen=True)
class Sample:
    time: datetime
    value: float | str | None
    status: int


def tag_history(db: Path, tag: str, since_s: float) -> list[Sample]:
    """The samples of `tag` in the `since_s` seconds up to its newest sample. The span ends at
    the newest sample, not at the wall clock: a simulated PLC runs on plant time."""
    sink = SqliteSink(db)
    try:
        key = {"path": tag}
        last = sink.last_time("tag", key)
        if last is None:
            return []
        since = last - int(since_s * 1e9)
        rows = sink.points("tag", key, since)
    finally:
        sink.close()
    return [Sample(datetime.fromtimestamp(t / 1e9, tz=UTC), f.get("value", f.get("text")),
                   int(f.get("status", 0))) for t, f in rows]


def plot(samples: list[Sample], tag: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.dates import date2num

    good = [(_num(date2num, s.time), s.value) for s in samples
            if s.status & 0xC0000000 == 0 and isinstance(s.value, float)]
    bad = [_num(date2num, s.time) for s in samples if s.status & 0x80000000]
    fig, ax = plt.subplots(figsize=(10, 4))
    if good:
        ax.step([t for t, _ in good], [v for _, v in good], where="post", label="good")
    for i, t in enumerate(bad):
        ax.axvline(t, color="red", alpha=0.5, label="bad quality" if i == 0 else None)
    ax.set_title(tag)
    ax.set_xlabel("source time (UTC)")
    ax.xaxis_date()
    ax.legend(loc="best")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _num(date2num: Any, t: datetime) -> float:
    """Matplotlib's day number of a time (date2num is untyped)."""
    return float(date2num(t))
