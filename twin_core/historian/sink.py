"""What a time-series sink takes: points of one measurement, a few tags, numeric or text
fields, a timestamp in nanoseconds since the Unix epoch. A point with the same measurement,
tags and timestamp as a stored one replaces it, so replays are idempotent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class SinkError(Exception):
    """The sink could not take a batch; nothing of it may be considered stored."""


FieldValue = float | int | str


@dataclass(frozen=True, slots=True)
class Point:
    measurement: str
    tags: dict[str, str]
    fields: dict[str, FieldValue]
    time_ns: int


class Sink(Protocol):
    """A time-series store. `write` is blocking (the historian calls it from a worker thread)
    and raises SinkError when the batch did not arrive whole."""

    name: str

    def write(self, points: list[Point]) -> None: ...

    def close(self) -> None: ...
