"""The PLC's tag table: every value the PLC publishes, with its type, unit, range, access
and quality, and every setpoint with its validation. The OPC UA server builds its address
space from this table; nothing here knows about OPC UA.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from plc_sim.model.vocab import role_allows



class Refusal(enum.Enum):
    """Why a write or command was refused (the server maps these to status codes)."""

    ACCESS_DENIED = "BadUserAccessDenied"
    NOT_WRITABLE = "BadNotWritable"
    TYPE_MISMATCH = "BadTypeMismatch"
    OUT_OF_RANGE = "BadOutOfRange"
    INVALID_STATE = "BadInvalidState"
    NOT_FOUND = "BadNodeIdUnknown"


class Rejected(Exception):
    """A write or command refused, with the reason code and a message for the operator."""

    def __init__(self, refusal: Refusal, message: str) -> None:
        super().__init__(message)
        self.refusal = refusal


_PY_TYPES: dict[str, tuple[type, ...]] = {
    "Double": (float, int), "Int32": (int,), "Boolean": (bool,), "String": (str,),
}


@dataclass(eq=False)
class Tag:
    """One PLC tag. `path` runs below the plant root: (line, station, machine, name) for a
    machine tag, (line, station, name) for a station tag, (line, group, name) for a line tag.
    A tag with `apply` is a setpoint: `parse` turns a written value into the plant's (a
    ValueError is out of range: e.g. a plan written as JSON text), `check` validates it now
    (interlocks), `apply` puts it into the plant at the next scan."""

    path: tuple[str, ...]
    dtype: str
    read: Callable[[], Any]
    unit: str = ""
    lo: float | None = None
    hi: float | None = None
    enum: tuple[str, ...] | None = None
    choices: tuple[str, ...] | None = None
    apply: Callable[[Any], None] | None = None
    check: Callable[[Any], None] | None = None
    parse: Callable[[Any], Any] | None = None
    role: str = "engineer"
    historize: bool = False
    description: str = ""
    value: Any = None
    quality: str = "good"
    stamp_h: float = 0.0

    @property
    def name(self) -> str:
        return self.path[-1]

    @property
    def key(self) -> str:
        return "/".join(self.path)

    @property
    def writable(self) -> bool:
        return self.apply is not None

    def validate(self, value: Any, role: str | None) -> Any:
        """The value as the plant takes it, or Rejected with the reason."""
        if not self.writable:
            raise Rejected(Refusal.NOT_WRITABLE, f"{self.key} is a measurement, not a setpoint")
        if not role_allows(role, self.role):
            raise Rejected(Refusal.ACCESS_DENIED, f"writing {self.key} needs the {self.role} role")
        if isinstance(value, bool) and self.dtype != "Boolean" or not isinstance(value, _PY_TYPES[self.dtype]):
            raise Rejected(Refusal.TYPE_MISMATCH, f"{self.key} takes a {self.dtype}, not {type(value).__name__}")
        plant_value = float(value) if self.dtype == "Double" else value
        if self.parse is not None:
            try:
                plant_value = self.parse(value)
            except ValueError as e:
                raise Rejected(Refusal.OUT_OF_RANGE, f"{self.key}: {e}") from None
        if self.choices is not None and value not in self.choices:
            raise Rejected(Refusal.OUT_OF_RANGE, f"{self.key} must be one of {', '.join(self.choices)}")
        if self.lo is not None and value < self.lo or self.hi is not None and value > self.hi:
            raise Rejected(Refusal.OUT_OF_RANGE, f"{self.key}={value} is outside [{self.lo}, {self.hi}] {self.unit}".rstrip())
        if self.check is not None:
            try:
                self.check(plant_value)
            except ValueError as e:
                raise Rejected(Refusal.INVALID_STATE, f"{self.key}: {e}") from None
        return plant_value


@dataclass
class TagTable:
    """Tags by key, in the order they were declared (browse order)."""

    tags: dict[str, Tag] = field(default_factory=dict)

    def add(self, tag: Tag) -> Tag:
        if tag.key in self.tags:
            raise ValueError(f"duplicate tag {tag.key}")
        self.tags[tag.key] = tag
        return tag

    def __iter__(self) -> Iterator[Tag]:
        return iter(self.tags.values())

    def __len__(self) -> int:
        return len(self.tags)

    def get(self, key: str) -> Tag:
        try:
            return self.tags[key]
        except KeyError:
            raise Rejected(Refusal.NOT_FOUND, f"no tag {key}") from None

    def refresh(self, stamp_h: float) -> list[Tag]:
        """Read every tag; return those whose value changed (stamped with plant time)."""
        changed = []
        for tag in self.tags.values():
            try:
                v = tag.read()
                quality = "good"
            except (ValueError, ZeroDivisionError):
                v, quality = tag.value, "uncertain"
            if v != tag.value or quality != tag.quality:
                tag.value, tag.quality, tag.stamp_h = v, quality, stamp_h
                changed.append(tag)
        return changed
