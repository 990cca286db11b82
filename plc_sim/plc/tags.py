"""The PLC's tag table: every value the PLC publishes, with its type, unit, range, access
and quality, and every setpoint with its validation. The OPC UA server builds its address
space from this table; nothing here knows about OPC UA.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from plc_sim.model.vocab import DataType, Role, role_allows

from .checks import Refusal, Rejected, check_value, clip

__all__ = ["Refusal", "Rejected", "Tag", "TagTable"]


@dataclass(eq=False)
class Tag:
    """One PLC tag. `path` runs below the plant root: (line, station, machine, name) for a
    machine tag, (line, station, name) for a station tag, (line, group, name) for a line tag.
    A tag with `apply` is a setpoint: `parse` turns a written value into the plant's (a
    ValueError is out of range: e.g. a plan written as JSON text), `check` validates it now
    (interlocks, and every check `apply` would make), `apply` puts it into the plant at the
    next scan, and `render` turns the plant's value into the published one (what `read`
    returns once it is applied; default: the value itself)."""

    path: tuple[str, ...]
    dtype: DataType
    read: Callable[[], Any]
    unit: str = ""
    lo: float | None = None
    hi: float | None = None
    enum: tuple[str, ...] | None = None
    choices: tuple[str, ...] | None = None
    apply: Callable[[Any], None] | None = None
    check: Callable[[Any], object] | None = None
    parse: Callable[[Any], Any] | None = None
    render: Callable[[Any], Any] | None = None
    role: Role = "engineer"
    historize: bool = False
    description: str = ""
    value: Any = None
    quality: str = "good"
    """good, uncertain, bad, or the name of a more specific StatusCode (a quality fault)."""
    stamp_h: float = 0.0
    fault: Callable[[Any, str], tuple[Any, str]] | None = None
    """What the active faults of a measurement make of its reading and quality (faults.py)."""

    @property
    def name(self) -> str:
        return self.path[-1]

    @property
    def key(self) -> str:
        return "/".join(self.path)

    @property
    def writable(self) -> bool:
        return self.apply is not None

    @property
    def historized(self) -> bool:
        """Kept in the server's history: the tags marked so, and every setpoint (they change
        rarely, and what was commanded when is what a review of a run asks first)."""
        return self.historize or self.writable

    def validate(self, value: Any, role: Role | None) -> Any:
        """The value as the plant takes it, or Rejected with the reason: every check the
        apply would make runs here, so a value that passes is one the plant will take."""
        if not self.writable:
            raise Rejected(Refusal.NOT_WRITABLE, f"{self.key} is a measurement, not a setpoint")
        if not role_allows(role, self.role):
            raise Rejected(Refusal.ACCESS_DENIED, f"writing {self.key} needs the {self.role} role")
        check_value(value, self.dtype, self.key, self.lo, self.hi, self.unit)
        if self.choices is not None and value not in self.choices:
            raise Rejected(Refusal.OUT_OF_RANGE,
                           f"{self.key}={clip(value)} is not one of {', '.join(self.choices)}")
        plant_value = float(value) if self.dtype == "Double" else value
        if self.parse is not None:
            plant_value = self._checked(self.parse, value, Refusal.OUT_OF_RANGE)
        if self.check is not None:
            self._checked(self.check, plant_value, Refusal.INVALID_STATE)
        return plant_value

    def _checked(self, fn: Callable[[Any], Any], value: Any, refusal: Refusal) -> Any:
        try:
            return fn(value)
        except ValueError as e:
            raise Rejected(refusal, f"{self.key}: {e}") from None

    def published(self, plant_value: Any) -> Any:
        """What the tag shows for a plant value (as `read` will once it is applied)."""
        return self.render(plant_value) if self.render is not None else plant_value

    def show(self, value: Any, stamp_h: float) -> None:
        """Publish `value` now (a commanded setpoint, before the scan that applies it)."""
        self.value, self.quality, self.stamp_h = value, "good", stamp_h


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

    def rebind(self, other: TagTable) -> None:
        """Take the readers and setpoint functions of `other`, the same tags built over another
        model (a reset or a restored snapshot): the tags, their values and their nodes stay.
        `other` shares this table's tags from then on (its checks look the commanded values up there)."""
        for key, new in other.tags.items():
            tag = self.tags[key]
            tag.read, tag.apply, tag.check, tag.parse, tag.render = new.read, new.apply, new.check, new.parse, new.render
        other.tags = self.tags

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
            if tag.fault is not None:
                v, quality = tag.fault(v, quality)
            if v != tag.value or quality != tag.quality:
                tag.value, tag.quality, tag.stamp_h = v, quality, stamp_h
                changed.append(tag)
        return changed
