"""The plant spec: pydantic models loaded from a TOML plant file.

Times are in working hours unless a field says otherwise (routing times are in minutes, as
the seeds give them). A bad file raises :class:`PlantFileError`, which names the file, the
line, the field and the reason; nothing runs on a bad file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

PLANTS_DIR = Path(__file__).parent / "plants"
MODELS = ("BDOP", "BSOP", "HDOP", "HSOP")
TABLE1_COLUMNS = ("PRO", "RAW", "REP", "MAIN", "BREAK", "REC", "DEM")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class Dist(_Strict):
    """A random duration or probability: `constant`, `normal` (clipped), `exponential`."""

    dist: Literal["constant", "normal", "exponential"] = "normal"
    mean: float = Field(gt=0)
    cv: float = Field(default=0.0, ge=0, le=2)
    min: float | None = Field(default=None, ge=0)
    max: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _bounds(self) -> "Dist":
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class Calendar(_Strict):
    hours_per_day: float = Field(default=24.0, gt=0, le=24)
    days_per_week: int = Field(default=7, ge=1, le=7)


class Product(_Strict):
    description: str = ""


class Power(_Strict):
    """Electrical draw in kW per machine state."""

    processing: float = Field(default=0.0, ge=0)
    idle: float = Field(default=0.0, ge=0)
    down: float = Field(default=0.0, ge=0)
    maintenance: float = Field(default=0.0, ge=0)
    off: float = Field(default=0.0, ge=0)


class Failures(_Strict):
    time_to_failure: Dist
    repair: Dist


class Maintenance(_Strict):
    interval_h: float = Field(gt=0)
    duration: Dist


class MachineSpec(_Strict):
    name: str = Field(min_length=1)
    power: Power | None = None
    failures: Failures | None = None
    maintenance: Maintenance | None = None


class Station(_Strict):
    name: str = Field(min_length=1)
    title: str = ""
    machines: list[MachineSpec] = Field(min_length=1)


class Routing(_Strict):
    unit: Literal["min", "h"] = "min"
    times: dict[str, list[Dist]]


class Demand(_Strict):
    interarrival: Dist
    lost_sale_queue: int = Field(default=5, ge=0)


class Raw(_Strict):
    interval: Dist
    lot: int = Field(ge=1)
    cap: int = Field(ge=1)
    initial: int = Field(ge=0)


class Quality(_Strict):
    defect_prob: float = Field(ge=0, lt=1)
    return_prob: Dist


class Recycling(_Strict):
    service: Dist


class Costs(_Strict):
    """Table 2 of seed 004: revenue and cost coefficients of Zmax (equation 22)."""

    FG: dict[str, float]
    SC: float
    B: float
    M: float
    R: float
    I3: float
    LD: float
    Rw: float
    Rn: float


class Policy(_Strict):
    """Card counts. K per stage 1..N-1; S per stage 1..N (base stock); C per product."""

    model: Literal["BDOP", "BSOP", "HDOP", "HSOP"] = "BDOP"
    C: dict[str, int]
    S: dict[str, list[int]]
    K_dedicated: dict[str, list[int]]
    K_shared: list[int]


class Scenarios(_Strict):
    """Table 1 of seed 004 and how its unit-less rates are read (see the plant file)."""

    default: int
    reading: dict[str, float]
    rows: dict[str, list[float]]


class PlantSpec(_Strict):
    name: str
    line: str
    title: str = ""
    calendar: Calendar = Calendar()
    products: dict[str, Product] = Field(min_length=1)
    stations: list[Station] = Field(min_length=1)
    routing: Routing
    demand: dict[str, Demand]
    raw: Raw
    quality: Quality
    recycling: Recycling
    failures: Failures
    maintenance: Maintenance
    power: Power = Power()
    costs: Costs
    policy: Policy
    scenarios: Scenarios | None = None

    @property
    def product_names(self) -> list[str]:
        return list(self.products)

    def machine_failures(self, m: MachineSpec) -> Failures:
        return m.failures or self.failures

    def machine_maintenance(self, m: MachineSpec) -> Maintenance:
        return m.maintenance or self.maintenance

    def machine_power(self, m: MachineSpec) -> Power:
        return m.power or self.power

    def processing_hours(self, product: str, stage: int) -> Dist:
        """The processing-time distribution in hours."""
        d = self.routing.times[product][stage]
        if self.routing.unit == "h":
            return d
        scale = 1 / 60
        return d.model_copy(update={
            "mean": d.mean * scale,
            "min": None if d.min is None else d.min * scale,
            "max": None if d.max is None else d.max * scale,
        })


class PlantFileError(ValueError):
    """A plant file that cannot be used; the message lists every problem with its line."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: invalid plant file\n" + "\n".join(f"  {p}" for p in problems))


Loc = tuple[str | int, ...]


def _loc_str(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _find_line(text: str, loc: Loc) -> int | None:
    """Best-effort line of a field: walk the keys and list indexes of `loc` through the file."""
    lines = [raw.split("#", 1)[0] for raw in text.splitlines()]
    start, found = 0, None
    for part in loc:
        if isinstance(part, int):
            if found is not None:
                start = _nth_element(lines, start, part)
                found = start + 1
            continue
        for i in range(start, len(lines)):
            if _mentions_key(lines[i], part):
                start, found = i, i + 1
                break
    return found


def _nth_element(lines: list[str], i: int, k: int) -> int:
    """The line of element k of the array that starts at line i (same line if inline)."""
    head = lines[i].strip()
    if head.startswith("[["):
        hits = [j for j in range(i, len(lines)) if lines[j].strip() == head]
        return hits[k] if k < len(hits) else i
    if "{" in lines[i] or "]" in lines[i]:
        return i
    rows = []
    for j in range(i + 1, len(lines)):
        if lines[j].strip().startswith("]"):
            break
        if lines[j].strip():
            rows.append(j)
    return rows[k] if k < len(rows) else i


def _mentions_key(line: str, key: str) -> bool:
    import re

    k = re.escape(key)
    return bool(
        re.search(rf"(^|[\s\[.{{,]){k}\s*=", line)
        or re.search(rf"^\s*\[\[?[\w.]*\b{k}\b[\w.]*\]\]?", line)
    )


def _problem(path: str, text: str, loc: Loc, msg: str) -> str:
    line = _find_line(text, loc)
    where = f"line {line}" if line else "line ?"
    return f"{Path(path).name}, {where}, field {_loc_str(loc) or '(top)'}: {msg}"


def semantic_problems(spec: PlantSpec) -> list[tuple[Loc, str]]:
    """Cross-field checks pydantic cannot express field by field."""
    out: list[tuple[Loc, str]] = []
    products = set(spec.products)
    n = len(spec.stations)
    names = [s.name for s in spec.stations]
    if len(set(names)) != len(names):
        out.append((("stations",), f"station names repeat: {names}"))
    for p, times in spec.routing.times.items():
        if p not in products:
            out.append((("routing", "times", p), f"unknown product {p!r} in routing (products: {sorted(products)})"))
        elif len(times) != n:
            out.append((("routing", "times", p), f"needs one time per station ({n}), got {len(times)}"))
    for p in products - set(spec.routing.times):
        out.append((("routing", "times"), f"product {p!r} has no routing"))
    for p in spec.demand:
        if p not in products:
            out.append((("demand", p), f"unknown product {p!r} in demand"))
    for p in products - set(spec.demand):
        out.append((("demand",), f"product {p!r} has no demand"))
    for p, c in spec.costs.FG.items():
        if p not in products:
            out.append((("costs", "FG", p), f"unknown product {p!r} in costs"))
    if spec.raw.initial > spec.raw.cap:
        out.append((("raw", "initial"), f"initial raw stock {spec.raw.initial} exceeds cap {spec.raw.cap}"))
    out += policy_problems(spec.policy, spec.product_names, n)
    if spec.scenarios is not None:
        sc = spec.scenarios
        for col in TABLE1_COLUMNS:
            if col not in sc.reading:
                out.append((("scenarios", "reading"), f"no reading for column {col}"))
        for key, row in sc.rows.items():
            if len(row) != len(TABLE1_COLUMNS):
                out.append((("scenarios", "rows", key), f"needs {len(TABLE1_COLUMNS)} rates {TABLE1_COLUMNS}, got {len(row)}"))
            elif any(v <= 0 for v in row):
                out.append((("scenarios", "rows", key), "rates must be positive"))
        if str(sc.default) not in sc.rows:
            out.append((("scenarios", "default"), f"scenario {sc.default} is not in rows"))
    return out


def policy_problems(pol: Policy, products: list[str], n_stages: int) -> list[tuple[Loc, str]]:
    """The card rules: at least one card, S_i <= K_i, sum S <= C, shapes per stage."""
    out: list[tuple[Loc, str]] = []
    shared = pol.model in ("BSOP", "HSOP")
    for p in products:
        if p not in pol.C:
            out.append((("policy", "C"), f"no CONWIP count for product {p!r}"))
        elif pol.C[p] < 1:
            out.append((("policy", "C", p), f"fewer than one CONWIP card ({pol.C[p]})"))
        if p not in pol.S or len(pol.S[p]) != n_stages:
            out.append((("policy", "S", p), f"needs one base stock per stage ({n_stages})"))
        elif any(s < 0 for s in pol.S[p]):
            out.append((("policy", "S", p), "negative base stock"))
        elif p in pol.C and sum(pol.S[p]) > pol.C[p]:
            out.append((("policy", "S", p), f"sum of base stocks {sum(pol.S[p])} exceeds C={pol.C[p]}"))
        if p not in pol.K_dedicated or len(pol.K_dedicated[p]) != n_stages - 1:
            out.append((("policy", "K_dedicated", p), f"needs one kanban count per stage 1..{n_stages - 1}"))
    for loc_p in [p for p in pol.C if p not in products] + [p for p in pol.S if p not in products]:
        out.append((("policy", loc_p), f"unknown product {loc_p!r} in policy"))
    if len(pol.K_shared) != n_stages - 1:
        out.append((("policy", "K_shared"), f"needs one kanban count per stage 1..{n_stages - 1}"))
    if out:
        return out
    for i in range(n_stages - 1):
        if shared:
            k = pol.K_shared[i]
            if k < 1:
                out.append((("policy", "K_shared"), f"fewer than one kanban at stage {i + 1} ({k})"))
            s = sum(pol.S[p][i] for p in products)
            if s > k:
                out.append((("policy", "S"), f"base stocks at stage {i + 1} ({s}) exceed its shared kanban cap K{i + 1}={k}"))
        else:
            for p in products:
                k = pol.K_dedicated[p][i]
                if k < 1:
                    out.append((("policy", "K_dedicated", p), f"fewer than one kanban at stage {i + 1} ({k})"))
                elif pol.S[p][i] > k:
                    out.append((("policy", "S", p), f"S{i + 1}={pol.S[p][i]} is greater than its kanban cap K{i + 1}={k}"))
    return out


def parse_plant(text: str, path: str = "<plant>") -> PlantSpec:
    """Parse and check plant TOML text; raise PlantFileError naming line, field and reason."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PlantFileError(path, [f"{Path(path).name}: not valid TOML: {e}"]) from None
    try:
        spec = PlantSpec.model_validate(raw)
    except ValidationError as e:
        probs = [_problem(path, text, tuple(err["loc"]), _pyd_msg(err)) for err in e.errors()]
        raise PlantFileError(path, probs) from None
    probs = [_problem(path, text, loc, msg) for loc, msg in semantic_problems(spec)]
    if probs:
        raise PlantFileError(path, probs)
    return spec


def _pyd_msg(err: dict[str, Any]) -> str:
    msg = err["msg"]
    if err["type"] not in ("missing", "extra_forbidden") and "input" in err:
        msg += f" (got {err['input']!r})"
    return msg


def plant_path(name_or_path: str) -> Path:
    """A bundled plant by name (`gear_line`) or a path to a TOML file."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        return p
    bundled = PLANTS_DIR / f"{name_or_path}.toml"
    if not bundled.exists():
        known = ", ".join(sorted(f.stem for f in PLANTS_DIR.glob("*.toml")))
        raise PlantFileError(name_or_path, [f"no such plant (bundled plants: {known})"])
    return bundled


def load_plant(name_or_path: str) -> PlantSpec:
    path = plant_path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise PlantFileError(str(path), [f"cannot read: {e.strerror}"]) from None
    return parse_plant(text, str(path))
