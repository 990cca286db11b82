"""The search box of the optimizer: the range of every decision, from the plant file's
`[bounds]` table (defaults below when it is absent), narrowed or widened by `--bound`.

A range is looked up by the decision's key (`S3.A`, `speed.MP1`), most specific first: the
key itself, then its head before the dot (`S3`: every product's base stock of stage 3), then
its kind (`S`: every base stock). Choice decisions (off-shift modes, maintenance policies,
shift plans) are choice groups: the options a decision may take.

Why a table: a maximum written into a problem (the old `s_max = 6`) silently hides the
optimum from every solver when the plant's best setting lies outside it (gear line BSOP:
S3 = 16)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def range_problem(low: float, high: float) -> str | None:
    """A range is two finite numbers, low <= high."""
    if not (low == low and high == high) or low > high:  # NaN compares false
        return f"a range needs low <= high (got {low:g}:{high:g})"
    return None


def _ordered(r: tuple[float, float]) -> tuple[float, float]:
    problem = range_problem(*r)
    if problem:
        raise ValueError(problem)
    return r


Range = Annotated[tuple[float, float], AfterValidator(_ordered)]


class Bounds(BaseModel):
    """The `[bounds]` table: one range per decision kind (and per decision in `decisions`),
    one option list per choice kind. The defaults are what the problems searched before the
    table existed."""

    model_config = ConfigDict(extra="forbid")

    S: Range = (0, 24)
    """Base stock per stage and product (offline only: a running line's base stock is fixed)."""
    K: Range = (1, 40)
    """Kanban cards per stage (and product under D-KAP)."""
    C: Range = (1, 80)
    """CONWIP cards (per product under D-KAP, the line's under S-KAP)."""
    speed: Range | None = None
    """Speed in % of nominal; None: each machine's own [min_pct, max_pct]."""
    standby: Range = (0.0, 2.0)
    """Idle hours before a machine goes to standby."""
    dispatch: Range = (0.0, 2.0)
    """Dispatch weight of a machine within its station."""
    period: Range = (48.0, 600.0)
    """Hours between planned maintenance windows (maintenance problem)."""
    off_shift: tuple[str, ...] | None = Field(default=None, min_length=1)
    """Off-shift modes a machine may take; None: every mode."""
    maint_policy: tuple[str, ...] = Field(default=("interval", "condition"), min_length=1)
    shift: tuple[str, ...] | None = None
    """Shift plans a station may take; None: every plan of the plant file."""
    decisions: dict[str, Range] = {}
    """Ranges of single decisions or decision heads, e.g. `S3 = [0, 24]`, `speed.MP1 = [80, 110]`."""

    def choice_problems(self, off_shift_modes: Iterable[str], shift_plans: Iterable[str]) -> list[tuple[str, str]]:
        """Options a choice group names that the plant does not have: (field, reason)."""
        groups = (("off_shift", self.off_shift, tuple(off_shift_modes)),
                  ("maint_policy", self.maint_policy, ("interval", "condition")),
                  ("shift", self.shift, tuple(shift_plans)))
        return [(name, f"unknown option {o!r} (options: {', '.join(known)})")
                for name, group, known in groups for o in group or () if o not in known]


RANGE_KINDS = ("S", "K", "C", "speed", "standby", "dispatch", "period")


def kind_of(key: str) -> str:
    """A decision key's kind: `S3.A` -> S, `speed.MP1` -> speed, `C` -> C."""
    head = key.split(".", 1)[0]
    return head.rstrip("0123456789") or head


def names_of(key: str) -> tuple[str, ...]:
    """The names a range of `key` is looked up under, most specific first."""
    head = key.split(".", 1)[0]
    return tuple(dict.fromkeys((key, head, kind_of(key))))


def range_of(bounds: Bounds, key: str, default: tuple[float, float] | None = None) -> tuple[float, float]:
    """The range of decision `key`: a `decisions` entry (key, then head), else its kind's
    range, else `default` (a machine's own speed range)."""
    for name in names_of(key)[:-1]:
        if name in bounds.decisions:
            return bounds.decisions[name]
    kind = kind_of(key)
    if kind in bounds.decisions:
        return bounds.decisions[kind]
    own: tuple[float, float] | None = getattr(bounds, kind, None) if kind in RANGE_KINDS else None
    if own is not None:
        return own
    if default is None:
        raise KeyError(f"no range for decision {key!r}")
    return default


def int_range_of(bounds: Bounds, key: str) -> tuple[int, int]:
    """`range_of` for a count (cards, base stock): the whole numbers inside it."""
    lo, hi = range_of(bounds, key)
    return math.ceil(lo), math.floor(hi)


def choices_of(bounds: Bounds, kind: str, available: Iterable[str], current: str) -> tuple[str, ...]:
    """The options of a choice decision: the group's options the plant has, the current one
    always among them (a search starts where the plant stands)."""
    group = getattr(bounds, kind)
    wanted = tuple(available) if group is None else tuple(group)
    options = tuple(o for o in available if o in wanted)
    return options if current in options else (current, *options)


def parse_bound(text: str) -> tuple[str, tuple[float, float]]:
    """`NAME=LO:HI` (a `--bound` flag) as (NAME, (LO, HI)); ValueError says what is wrong."""
    name, sep, rng = text.partition("=")
    lo_s, colon, hi_s = rng.partition(":")
    if not sep or not colon or not name.strip():
        raise ValueError(f"--bound {text!r}: write NAME=LO:HI, e.g. S3=0:24")
    try:
        low, high = float(lo_s), float(hi_s)
    except ValueError:
        raise ValueError(f"--bound {text!r}: LO and HI must be numbers") from None
    problem = range_problem(low, high)
    if problem:
        raise ValueError(f"--bound {text!r}: {problem}")
    return name.strip(), (low, high)


def with_flags(bounds: Bounds, flags: Mapping[str, tuple[float, float]]) -> Bounds:
    """`bounds` with the `--bound` ranges on top (they win over the plant file's)."""
    return bounds.model_copy(update={"decisions": {**bounds.decisions, **flags}})


def unknown_names(names: Iterable[str], keys: Iterable[str]) -> list[str]:
    """The `--bound` names that match no decision of the problem."""
    known = {n for k in keys for n in names_of(k)}
    return [n for n in names if n not in known]
