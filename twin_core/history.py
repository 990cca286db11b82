"""Reading the embedded history back: one tag's values and status codes since a time, as
text or as a plot (`plant history TAG --since 1h [--plot FILE.png]`), the spans the twin did
not observe, and the tags there are (for a tag that is not)."""

from __future__ import annotations

import difflib
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
    return [Sample(_time(t), f.get("value", f.get("text")), int(f.get("status", 0))) for t, f in rows]


def _time(t_ns: int) -> datetime:
    return datetime.fromtimestamp(t_ns / 1e9, tz=UTC)


def tag_paths(db: Path) -> list[str]:
    """Every tag path with history in `db`, sorted."""
    sink = SqliteSink(db)
    try:
        return sorted(t["path"] for t in sink.tag_sets("tag") if "path" in t)
    finally:
        sink.close()


def unknown_tag_message(tag: str, paths: list[str]) -> str:
    """What `plant history` says for a tag the store has never seen: the tag, and the close
    matches (or a few of the tags it has)."""
    if not paths:
        return f"no tag {tag}: the history is empty (has the twin run?)"
    close = [p for p in paths if p.casefold() == tag.casefold()] or difflib.get_close_matches(tag, paths, n=3, cutoff=0.8)
    if not close:
        close = difflib.get_close_matches(tag.rsplit("/", 1)[-1], [p.rsplit("/", 1)[-1] for p in paths], n=1)
        close = [p for p in paths if close and p.endswith("/" + close[0])][:3]
    hint = f"did you mean {' or '.join(close)}?" if close else f"e.g. {', '.join(paths[:3])}"
    return f"no tag {tag} in the history ({len(paths)} tags); {hint}"


@dataclass(frozen=True)
class Gap:
    """A span the twin did not observe the plant (a lost connection, or the twin not running)."""

    start: datetime
    end: datetime


GAP_MIN_S = 1.0
"""A restart shorter than this is not marked (the twin reconnects within a second)."""


def gaps(db: Path, start: datetime, end: datetime) -> list[Gap]:
    """The spans without observation that overlap [start, end]: those the twin recorded
    (`twin_gap`), and each (re)connection after an earlier observation, from that
    observation's last point (the twin stopped, or the connection went unnoticed)."""
    lo, hi = int(start.timestamp() * 1e9), int(end.timestamp() * 1e9)
    sink = SqliteSink(db)
    try:
        found = [Gap(_time(t), _time(t + int(float(f.get("seconds", 0.0)) * 1e9)))
                 for t, f in sink.all_points("twin_gap", 0, hi)]
        for t, f in sink.all_points("twin_connection", lo, hi + 1):
            if f.get("connected") == 1.0:
                before = sink.last_before("tag", t)
                if before is not None and (t - before) / 1e9 >= GAP_MIN_S:
                    found.append(Gap(_time(before), _time(t)))
    finally:
        sink.close()
    return sorted((g for g in found if g.end >= start and g.start <= end), key=lambda g: g.start)


UNIT_LABELS = {"1": "dimensionless", "degC": "°C", "": ""}


def axis_label(tag: str, unit: str) -> str:
    """The value axis: the tag's name and unit, e.g. `PowerKW (kW)`."""
    label = UNIT_LABELS.get(unit, unit)
    return f"{tag.rsplit('/', 1)[-1]} ({label})" if label else tag.rsplit("/", 1)[-1]


def plot(samples: list[Sample], tag: str, path: Path, unit: str = "", states: tuple[str, ...] | None = None,
         gaps: list[Gap] | None = None) -> None:
    """`figure` of the samples, written to `path` (PNG)."""
    import plant_plots

    plant_plots.save(figure(samples, tag, unit, states, gaps), path)


def figure(samples: list[Sample], tag: str, unit: str = "", states: tuple[str, ...] | None = None,
           gaps: list[Gap] | None = None) -> Any:
    """The samples as steps (a value holds until the next): an enumeration (`states`, such as
    a machine's State) on a categorical axis of its names, a number against its unit;
    bad-quality samples as red lines, spans without observation shaded and the line broken
    there. A matplotlib Figure (untyped)."""
    from matplotlib.dates import date2num

    import plant_plots

    holes = gaps or []
    fig, [ax] = plant_plots.panels(1, "the twin's history of a tag", size=(10, 4))
    for k, run in enumerate(_runs(samples, holes)):
        good = [(_num(date2num, s.time), s.value) for s in run
                if s.status & 0xC0000000 == 0 and isinstance(s.value, float)]
        if good:
            ax.step([t for t, _ in good], [v for _, v in good], where="post", color="C0",
                    label="good" if k == 0 else None)
    for i, t in enumerate(_num(date2num, s.time) for s in samples if s.status & 0x80000000):
        ax.axvline(t, color="red", alpha=0.5, label="bad quality" if i == 0 else None)
    for i, g in enumerate(holes):
        ax.axvspan(_num(date2num, g.start), _num(date2num, g.end), color="grey", alpha=0.3,
                   label="not observed (twin stopped or disconnected)" if i == 0 else None)
    if states:
        ax.set_yticks(range(len(states)), list(states))
        ax.set_ylim(-0.5, len(states) - 0.5)
        ax.set_ylabel(f"{tag.rsplit('/', 1)[-1]} (state)")
    else:
        ax.set_ylabel(axis_label(tag, unit))
    ax.set_title(tag)
    ax.set_xlabel("source time (UTC)")
    ax.xaxis_date()
    ax.legend(loc="best")
    fig.autofmt_xdate()
    return fig


def _runs(samples: list[Sample], holes: list[Gap]) -> list[list[Sample]]:
    """`samples` split at every gap, so that no step is drawn across one."""
    runs: list[list[Sample]] = [[]]
    for s in samples:
        if runs[-1] and any(runs[-1][-1].time <= g.start and g.end <= s.time for g in holes):
            runs.append([])
        runs[-1].append(s)
    return runs


def _num(date2num: Any, t: datetime) -> float:
    """Matplotlib's day number of a time (date2num is untyped)."""
    return float(date2num(t))
