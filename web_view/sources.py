"""The files the page reads besides the twin's state: the twin's history (trends) and the
optimizer's audit log (runs). Blocking reads, run in worker threads by the app."""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any

from twin_core.history import Sample, tag_history, tag_paths, unknown_tag_message


class UnknownTagError(Exception):
    """A tag the history has never seen (the message names it and the close matches)."""


def _thin(samples: list[Sample], max_points: int) -> list[Sample]:
    if len(samples) <= max_points:
        return samples
    step = len(samples) / max_points
    picked = [samples[int(i * step)] for i in range(max_points - 1)]
    return [*picked, samples[-1]]


def trend(db: Path, tag: str, since_s: float, max_points: int) -> list[list[Any]]:
    """[[epoch seconds, value, status], ...] of `tag` over the `since_s` up to its newest sample."""
    samples = tag_history(db, tag, since_s) if db.exists() else []
    if not samples:
        known = tag_paths(db) if db.exists() else []
        if tag not in known:
            raise UnknownTagError(unknown_tag_message(tag, known))
    out: list[list[Any]] = []
    for s in _thin(samples, max_points):
        value = s.value if isinstance(s.value, int | float) and s.value == s.value else None
        out.append([round(s.time.timestamp(), 3), value, s.status])
    return out


def runs(audit: Path, count: int) -> list[dict[str, Any]]:
    """The newest `count` optimizer runs, newest first, each cut to what the page shows: when,
    the job, the outcome and why, what it changed or recommended, the verified gain with its
    interval, the p-value."""
    if not audit.exists():
        return []
    with audit.open(encoding="utf-8") as f:
        lines = deque((x for x in f if x.strip()), maxlen=count)
    out = []
    for line in reversed(lines):
        try:
            e = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line being written
        if isinstance(e, dict):
            out.append({k: e.get(k) for k in ("time", "job", "outcome", "reasons", "written", "recommended",
                                              "recommendation", "improvement", "p_value", "before", "after")})
    return out
