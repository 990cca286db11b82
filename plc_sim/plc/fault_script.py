"""Fault scripts: a TOML file of faults at plant hours, checked like the plant file (every
problem names the file, the line, the field and the reason; nothing runs on a bad script)
and against the plant it runs on by the same check a fault command gets.

    [[fault]]
    at_h = 30.0             # plant calendar hour it starts
    kind = "break_machine"  # see FaultKind
    machine = "MP1"
    duration_h = 2.0

Each kind takes its target (`machine` or `tag`) and value field (`rate`, `sd`, `value`,
`quality`, `factor`, `kw`) as `faults.ORDER_FIELDS` lists them, and no other.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from plc_sim.model.spec import PlantFileError, located_problem

from .faults import ORDER_FIELDS, FaultKind, FaultOrder, FaultRejected, FaultSet, Scheduled

MAX_SCRIPT_FAULTS = 10_000
MAX_SCRIPT_BYTES = 1024 * 1024


class FaultScriptError(PlantFileError):
    """A fault script that cannot be used; the message lists every problem with its line."""

    def __init__(self, path: str, problems: list[str]) -> None:
        super().__init__(path, problems)
        self.args = (f"{path}: invalid fault script\n" + "\n".join(f"  {p}" for p in problems),)


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    at_h: float = Field(ge=0)
    kind: FaultKind
    duration_h: float
    machine: str | None = None
    tag: str | None = None
    rate: float | None = None
    sd: float | None = None
    value: float | None = None
    quality: str | None = None
    factor: float | None = None
    kw: float | None = None


class _Script(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fault: list[_Entry] = Field(default_factory=list, max_length=MAX_SCRIPT_FAULTS)


_TARGETS = ("machine", "tag")
_VALUES = ("rate", "sd", "value", "quality", "factor", "kw")


def load_fault_script(path: Path, faults: FaultSet) -> list[Scheduled]:
    """The faults of the script at `path`, checked against the plant of `faults`; raises
    FaultScriptError naming file, line, field and reason for every problem."""
    try:
        if path.stat().st_size > MAX_SCRIPT_BYTES:
            raise FaultScriptError(str(path), [f"{path.name}: larger than {MAX_SCRIPT_BYTES} bytes"])
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise FaultScriptError(str(path), [f"cannot read: {e.strerror}"]) from None
    return parse_fault_script(text, faults, str(path))


def parse_fault_script(text: str, faults: FaultSet, path: str = "<faults>") -> list[Scheduled]:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise FaultScriptError(path, [f"{Path(path).name}: not valid TOML: {e}"]) from None
    try:
        script = _Script.model_validate(raw)
    except ValidationError as e:
        raise FaultScriptError(path, [located_problem(path, text, tuple(err["loc"]), err["msg"])
                                      for err in e.errors()]) from None
    items, problems = [], []
    for i, entry in enumerate(script.fault):
        field, order, problem = _order(entry)
        if order is not None:
            try:
                faults.check(order)
                items.append(Scheduled(entry.at_h, order))
                continue
            except FaultRejected as e:
                field, problem = _field_of(entry.kind, e.part), str(e)
        problems.append(located_problem(path, text, ("fault", i, field), problem))
    if problems:
        raise FaultScriptError(path, problems)
    return items


def _order(e: _Entry) -> tuple[str, FaultOrder | None, str]:
    """The fault an entry asks for, or the field at fault and why."""
    target, value = ORDER_FIELDS[e.kind]
    for name in (*_TARGETS, *_VALUES):
        given = getattr(e, name) is not None
        wanted = name in (target, value)
        if given != wanted:
            why = f"a {e.kind} fault needs {name}" if wanted else f"a {e.kind} fault takes no {name}"
            return name, None, why
    return "", FaultOrder(e.kind, e.duration_h, getattr(e, target) if target else None,
                          getattr(e, value) if value else None), ""


def _field_of(kind: FaultKind, part: str) -> str:
    target, value = ORDER_FIELDS[kind]
    return {"target": target, "value": value}.get(part) or part
