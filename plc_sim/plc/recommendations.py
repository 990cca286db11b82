"""Recommendations: setpoint changes proposed by an engineer (the optimizer in advisory mode)
that an operator applies or dismisses from the HMI.

A recommendation is checked in full when it is made (every tag exists, is a setpoint the
author may write, and takes the value) and again when it is applied: either every change
passes and all are written, through the same path as any write, or none is. The book keeps
at most `capacity` recommendations; the oldest is shed when it is full, counted and logged.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import plant_tags as tags
from plc_sim.model.vocab import Role

from .checks import Refusal, Rejected, clip
from .tags import Tag, TagTable

log = logging.getLogger(__name__)

CAPACITY = 16
"""Recommendations kept (open or decided): a client recommending in a loop cannot grow the PLC's memory."""
MAX_CHANGES = 64
"""Setpoints one recommendation may change."""
MAX_SUMMARY_CHARS = 500

Writer = Callable[[str, Any, Role | None, str], Any]
"""The runtime's write: (tag key, value, role, user) -> the value shown; raises Rejected."""


@dataclass
class Recommendation:
    id: int
    author: str
    role: Role | None
    summary: str
    changes: dict[str, Any]
    """Tag key (the browse path below Objects/Plant, joined by "/") -> value."""
    made_h: float
    state: str = "open"
    decided_by: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "by": self.author, "at_h": round(self.made_h, 4), "summary": self.summary,
                "changes": self.changes, "state": self.state, "decided_by": self.decided_by}


@dataclass
class RecommendationBook:
    """The PLC's recommendations; `write` is the runtime's write (validation, audit, apply at the next scan)."""

    table: TagTable
    write: Writer
    capacity: int = CAPACITY
    shed: int = 0
    last_id: int = 0
    items: OrderedDict[int, Recommendation] = field(default_factory=OrderedDict)
    open_text: str = "[]"
    last_text: str = ""
    """The Open and Last tags' JSON, rewritten when the book changes, not at every scan."""

    def add(self, changes: str, summary: str, author: str, role: Role | None, now_h: float) -> Recommendation:
        """A new open recommendation, or Rejected naming the first change that cannot be made."""
        parsed = _parse(changes)
        if len(summary) > MAX_SUMMARY_CHARS:
            raise Rejected(Refusal.OUT_OF_RANGE, f"a summary takes at most {MAX_SUMMARY_CHARS} characters")
        self._validate(parsed, role)
        self.last_id += 1
        rec = Recommendation(self.last_id, author, role, summary, parsed, now_h)
        self.items[rec.id] = rec
        while len(self.items) > self.capacity:
            _, old = self.items.popitem(last=False)
            self.shed += 1
            log.warning("recommendation %d (%s) shed: the book keeps %d (%d shed so far)", old.id, old.state,
                        self.capacity, self.shed)
        self._changed()
        return rec

    def apply(self, rec_id: int, user: str) -> Recommendation:
        """Write every change of an open recommendation, with its author's role, or none."""
        rec = self._open(rec_id)
        self._validate(rec.changes, rec.role)
        who = f"{user} (recommendation {rec.id} of {rec.author})"
        for key, value in rec.changes.items():
            self.write(key, value, rec.role, who)
        rec.state, rec.decided_by = "applied", user
        self._changed()
        return rec

    def dismiss(self, rec_id: int, user: str) -> Recommendation:
        rec = self._open(rec_id)
        rec.state, rec.decided_by = "dismissed", user
        self._changed()
        return rec

    def open(self) -> list[Recommendation]:
        return [r for r in self.items.values() if r.state == "open"]

    def _open(self, rec_id: int) -> Recommendation:
        rec = self.items.get(rec_id)
        if rec is None:
            gone = 0 < rec_id <= self.last_id
            raise Rejected(Refusal.NOT_FOUND, f"recommendation {rec_id} {'was shed' if gone else 'does not exist'}")
        if rec.state != "open":
            raise Rejected(Refusal.INVALID_STATE, f"recommendation {rec_id} is {rec.state} (by {rec.decided_by})")
        return rec

    def _changed(self) -> None:
        self.open_text = json.dumps([r.as_json() for r in self.open()])
        self.last_text = json.dumps(next(reversed(self.items.values())).as_json())

    def _validate(self, changes: dict[str, Any], role: Role | None) -> None:
        for key, value in changes.items():
            self.table.get(key).validate(value, role)

    def add_tags(self, line: str) -> None:
        """The Recommendations folder's tags."""
        def tag(name: str, dtype: Any, read: Callable[[], Any], text: str) -> Tag:
            return self.table.add(Tag((line, tags.Folder.RECOMMENDATIONS, name), dtype, read, description=text))

        tag("Open", "String", lambda: self.open_text,
            "open recommendations as JSON: [{id, by, at_h, summary, changes: {tag path: value}}]")
        tag("OpenCount", "Int32", lambda: len(self.open()), "open recommendations")
        tag("LastId", "Int32", lambda: self.last_id, "id of the newest recommendation")
        tag("Last", "String", lambda: self.last_text,
            "the newest recommendation and its state (open, applied, dismissed) as JSON")
        tag("Shed", "Int32", lambda: self.shed, f"recommendations dropped because {self.capacity} were kept")


def _parse(text: str) -> dict[str, Any]:
    """The changes of a recommendation: a JSON object of tag key -> number, text or boolean."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise Rejected(Refusal.OUT_OF_RANGE, f"changes are a JSON object of tag path -> value ({e})") from None
    if not isinstance(doc, dict) or not doc:
        raise Rejected(Refusal.TYPE_MISMATCH, "changes are a non-empty JSON object of tag path -> value")
    if len(doc) > MAX_CHANGES:
        raise Rejected(Refusal.OUT_OF_RANGE, f"a recommendation changes at most {MAX_CHANGES} setpoints")
    bad = [k for k, v in doc.items() if not isinstance(v, bool | int | float | str)]
    if bad:
        raise Rejected(Refusal.TYPE_MISMATCH, f"{clip(bad[0])}: a value is a number, a text or a boolean")
    return dict(doc)
