"""The plant spec: pydantic models loaded from a TOML plant file.

Times are in working hours unless a field says otherwise (routing times are in minutes, as
the seeds give them). A bad file raises :class:`PlantFileError`, which names the file, the
line, the field and the reason; nothing runs on a bad file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from .bounds import Bounds
from .rules import condition_maintenance_problem, dispatch_weights_problem
from .vocab import CONTROL_MODELS, ControlModel, MaintPolicy, broadcasts_demand, shares_kanbans

PLANTS_DIR = Path(__file__).resolve().parent.parent / "plants"
MODELS = CONTROL_MODELS
TABLE1_COLUMNS = ("PRO", "RAW", "REP", "MAIN", "BREAK", "REC", "DEM")


NonNeg = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class Dist(_Strict):
    """A random duration or probability: `constant`, `normal` (clipped), `exponential`."""

    dist: Literal["constant", "normal", "exponential"] = "normal"
    mean: Positive
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
    """Electrical draw in kW per machine state; `processing` is at 100 % speed, of which
    `processing_base` (spindle cooling, hydraulics, coolant, controls) does not depend on
    the cutting speed; only the rest scales with the speed law."""

    processing: NonNeg = 0.0
    processing_base: NonNeg = 0.0
    idle: NonNeg = 0.0
    standby: NonNeg = 0.0
    wakeup: NonNeg = 0.0
    down: NonNeg = 0.0
    maintenance: NonNeg = 0.0
    off: NonNeg = 0.0

    @model_validator(mode="after")
    def _base_within(self) -> "Power":
        if self.processing_base > self.processing:
            raise ValueError(f"processing_base ({self.processing_base}) exceeds processing ({self.processing})")
        return self


class Failures(_Strict):
    """`rate`: breakdowns on their own clock (time_to_failure, working hours).
    `wear`: breakdowns when the machine's wear reaches a Weibull-distributed threshold."""

    model: Literal["rate", "wear"] = "rate"
    time_to_failure: Dist | None = None
    repair: Dist

    @model_validator(mode="after")
    def _needs_ttf(self) -> "Failures":
        if self.model == "rate" and self.time_to_failure is None:
            raise ValueError("the rate failure model needs time_to_failure")
        return self


class Maintenance(_Strict):
    """`interval`: every interval_h working hours (the plain baseline); `condition`: when wear
    or measured vibration passes its threshold (checked at each job end); `plan`: at the
    listed windows [start_h, duration_h] of the working clock."""

    policy: MaintPolicy = "interval"
    interval_h: Positive
    duration: Dist
    threshold_wear: float | None = Field(default=None, gt=0)
    threshold_vibration: float | None = Field(default=None, gt=0)
    plan: list[tuple[float, float]] = []

    @model_validator(mode="after")
    def _policy_fields(self) -> "Maintenance":
        problem = condition_maintenance_problem(self)
        if problem:
            raise ValueError(problem)
        last = -1.0
        for start, dur in self.plan:
            if start < last or dur <= 0 or start < 0:
                raise ValueError("plan windows need start_h >= 0 in order, not overlapping, and duration_h > 0")
            last = start + dur
        return self


class Speed(_Strict):
    """Speed setpoint in percent of nominal and the Taylor-like laws it drives: cycle time
    ~ 1/v, processing power ~ v^power_exp, wear rate ~ v^wear_exp, defects ~ v^defect_exp
    (v = setpoint / 100)."""

    setpoint_pct: Positive = 100.0
    min_pct: Positive = 100.0
    max_pct: Positive = 100.0
    power_exp: NonNeg = 1.0
    wear_exp: NonNeg = 1.0
    defect_exp: NonNeg = 0.0
    spindle_rpm: NonNeg = 0.0
    feed_mm_min: NonNeg = 0.0

    @model_validator(mode="after")
    def _in_bounds(self) -> "Speed":
        if not self.min_pct <= self.setpoint_pct <= self.max_pct:
            raise ValueError(f"speed setpoint {self.setpoint_pct:g} % is outside [{self.min_pct:g}, {self.max_pct:g}] %")
        return self


OffShiftMode = Literal["off", "standby", "idle"]
OFF_SHIFT_MODES: tuple[str, ...] = ("off", "standby", "idle")


class Standby(_Strict):
    """Standby after `timeout_h` idle (0 = never, the baseline), left with a `wake_h` delay.

    `off_shift`: what the machine does outside its station's shifts: `idle` (left powered,
    drawing idle power), `standby` (standby power, `wake_h` to wake at the first job of the
    next shift) or `off` (off power, `cold_start_h` of warm-up at wake-up power before the
    first job). A machine without a standby section is off outside its shifts."""

    timeout_h: float = Field(default=0.0, ge=0, le=1000)
    wake_h: NonNeg = 0.0
    off_shift: OffShiftMode = "off"
    cold_start_h: NonNeg = 0.0


class Wear(_Strict):
    """Wear grows by `per_h` units per processing hour at 100 % speed; maintenance resets it,
    a repair keeps `repair_keep` of it; failure thresholds are Weibull(shape, scale)."""

    per_h: Positive
    repair_keep: float = Field(default=0.5, ge=0, le=1)
    weibull_shape: float = Field(default=2.0, ge=1)
    weibull_scale: Positive


class Condition(_Strict):
    """Condition signals: vibration (mm/s RMS) rises with wear; spindle temperature follows
    power with a first-order lag."""

    vibration_base: NonNeg = 1.0
    vibration_per_wear: NonNeg = 0.0
    vibration_noise: NonNeg = 0.0
    temp_ambient_c: float = 22.0
    temp_rise_c_per_kw: NonNeg = 1.0
    temp_tau_h: Positive = 0.5
    temp_noise_c: NonNeg = 0.0


class Profile(_Strict):
    """Machine physics shared by several machines; a machine's own fields win."""

    power: Power | None = None
    failures: Failures | None = None
    maintenance: Maintenance | None = None
    speed: Speed | None = None
    standby: Standby | None = None
    wear: Wear | None = None
    condition: Condition | None = None


class MachineSpec(Profile):
    name: str = Field(min_length=1)
    profile: str | None = None
    cycle_factor: Positive = 1.0
    dispatch_weight: NonNeg = 1.0


class ShiftPlan(_Strict):
    """Working windows [start_h, end_h] of each day (hours of day on the working clock) on
    the first `days_per_week` days of each week."""

    days_per_week: int = Field(default=7, ge=1, le=7)
    windows: list[tuple[float, float]] = Field(min_length=1)

    @model_validator(mode="after")
    def _windows(self) -> "ShiftPlan":
        last = 0.0
        for a, b in self.windows:
            if not (last <= a < b <= 24.0):
                raise ValueError("windows need 0 <= start < end <= 24, in order, not overlapping")
            last = b
        return self


MAX_BUFFER = 999
"""The largest input buffer a station may have (the PLC's Control range of counts)."""


class Station(_Strict):
    """A station; `buffer`: the parts that may wait in its input queue (authorised but not
    started); when it is full the part stays in the station before, holding that station's
    kanban, so a full buffer blocks the station before it. Unset: bounded by the cards only."""

    name: str = Field(min_length=1)
    title: str = ""
    kind: Literal["process", "inspection", "transport"] = "process"
    defect_prob: float | None = Field(default=None, ge=0, lt=1)
    shift: str | None = None
    buffer: int | None = Field(default=None, ge=1, le=MAX_BUFFER)
    machines: list[MachineSpec] = Field(min_length=1)


class Routing(_Strict):
    unit: Literal["min", "h"] = "min"
    times: dict[str, list[Dist]]


class Fluctuation(_Strict):
    """Demand rate multiplied by 1 + amplitude * sin(2 pi (t + phase_h) / period_h)."""

    amplitude: float = Field(ge=0, lt=1)
    period_h: Positive
    phase_h: float = 0.0


class Demand(_Strict):
    interarrival: Dist
    lost_sale_queue: int = Field(default=5, ge=0)
    fluctuation: Fluctuation | None = None


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
    """Table 2 of seed 004: revenue and cost coefficients of Zmax (equation 22), and how
    each term is read (docs/control_rules.md, "Reading equation 22").

    `holding_period_h`: c_I3 is charged per unit held and this many calendar hours (unset:
    per unit of time-average stock, the literal reading); `hold_wip`: parts in process are
    held at the same rate; `refund_returns`: a return reverses its sale; `scrap_writeoff`: a
    scrapped part is written off at its product's price before recycling earns c_SC back."""

    FG: dict[str, float]
    SC: float
    B: float
    M: float
    R: float
    I3: float
    LD: float
    Rw: float
    Rn: float
    holding_period_h: Positive | None = None
    hold_wip: bool = False
    refund_returns: bool = False
    scrap_writeoff: bool = False


class WipWeights(_Strict):
    """Seed 004, Table 2: weights d1..d6 of the D-KAP WIP objectives (equations 9-11) and
    s1..s5 of the S-KAP ones (equations 12-14)."""

    d: list[float] = Field(min_length=6, max_length=6)
    s: list[float] = Field(min_length=5, max_length=5)


class Objectives(_Strict):
    """Seed 000: Z = w1*C + w2*E + w3*D under R(x) <= Rmax and T(x) >= Tmin, where C is
    cost (energy at the tariff, labour per staffed station hour, maintenance, repairs,
    scrap, lost orders), E energy in kWh, D the machines' stoppage in hours, unplanned
    (breakdown and repair) plus planned (maintenance), T throughput per hour and R the peak
    electrical power in kW."""

    tariff_per_kwh: NonNeg
    labour_per_station_h: NonNeg
    maintenance_cost: NonNeg
    repair_cost: NonNeg
    scrap_cost: NonNeg
    w1: NonNeg = 1.0
    w2: NonNeg = 0.0
    w3: NonNeg = 0.0
    r_max_kw: Positive
    t_min_per_h: NonNeg
    t_min_tolerance: float = Field(default=0.0, ge=0, lt=1)
    lost_sale_cost: dict[str, NonNeg] = {}


class Policy(_Strict):
    """Card counts. K per stage 1..N-1; S per stage 1..N (base stock); C per product under
    D-KAP, `C_shared` for the whole line under S-KAP (seed 004: "the parameter C acts as a
    capacity limit for the whole manufacturing system"; unset: the sum of the C's).
    `constraints = "seed"` also checks seed 004's constraints (`seed_constraint_problems`)."""

    model: ControlModel = "BDOP"
    C: dict[str, int]
    C_shared: int | None = None
    S: dict[str, list[int]]
    K_dedicated: dict[str, list[int]]
    K_shared: list[int]
    constraints: Literal["cards", "seed"] = "cards"
    kanban_until: Literal["next_queue", "next_start"] = "next_queue"
    """When a stage-i kanban leaves its part: `next_queue` when stage i+1 takes the part into
    its machine's queue (the classical kanban loop: that queue belongs to stage i+1);
    `next_start` only when stage i+1's machine starts it, so the part waits for that machine
    in stage i's output inventory I_i on stage i's card (seed 004: MP_i + I_i <= K_i;
    docs/control_rules.md, "What a kanban covers")."""

    def conwip_shared(self) -> int:
        """The S-KAP single CONWIP count."""
        return self.C_shared if self.C_shared is not None else sum(self.C.values())


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
    profiles: dict[str, Profile] = {}
    shift_plans: dict[str, ShiftPlan] = {}
    costs: Costs
    policy: Policy
    scenarios: Scenarios | None = None
    objectives: Objectives | None = None
    bounds: Bounds = Bounds()
    """The optimizer's search box (plc_sim/model/bounds.py; defaults there when absent)."""
    wip_weights: WipWeights | None = None
    baseline: dict[str, str] = {}

    @property
    def product_names(self) -> list[str]:
        return list(self.products)

    def physics(self, m: MachineSpec, field: str) -> Any:
        """A machine's physics section: its own, else its profile's, else the plant's."""
        own = getattr(m, field)
        if own is not None:
            return own
        if m.profile is not None:
            prof = getattr(self.profiles[m.profile], field)
            if prof is not None:
                return prof
        return getattr(self, field, None)

    def machine_failures(self, m: MachineSpec) -> Failures:
        out: Failures = self.physics(m, "failures")
        return out

    def machine_maintenance(self, m: MachineSpec) -> Maintenance:
        out: Maintenance = self.physics(m, "maintenance")
        return out

    def machine_power(self, m: MachineSpec) -> Power:
        out: Power = self.physics(m, "power")
        return out

    def all_machines(self) -> list[MachineSpec]:
        return [m for st in self.stations for m in st.machines]

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


def located_problem(path: str, text: str, loc: Loc, msg: str) -> str:
    """A problem of a TOML file as the plant file reports it: file, line, field and reason (the
    PLC's fault scripts are checked and reported the same way)."""
    return _problem(path, text, loc, msg)


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
    for p in spec.costs.FG:
        if p not in products:
            out.append((("costs", "FG", p), f"unknown product {p!r} in costs"))
    out += [(("bounds", name), msg) for name, msg in spec.bounds.choice_problems(OFF_SHIFT_MODES, spec.shift_plans)]
    machine_names = [m.name for m in spec.all_machines()]
    if len(set(machine_names)) != len(machine_names):
        out.append((("stations",), f"machine names repeat: {machine_names}"))
    for i, st in enumerate(spec.stations):
        if st.shift is not None and st.shift not in spec.shift_plans:
            out.append((("stations", i, "shift"), f"unknown shift plan {st.shift!r} (plans: {sorted(spec.shift_plans)})"))
        weights_problem = dispatch_weights_problem([m.dispatch_weight for m in st.machines])
        if weights_problem:
            out.append((("stations", i, "machines"), weights_problem))
        for j, m in enumerate(st.machines):
            loc = ("stations", i, "machines", j)
            if m.profile is not None and m.profile not in spec.profiles:
                out.append(((*loc, "profile"), f"unknown profile {m.profile!r} (profiles: {sorted(spec.profiles)})"))
                continue
            if spec.machine_failures(m).model == "wear" and spec.physics(m, "wear") is None:
                out.append(((*loc, "failures"), f"machine {m.name} has wear failures but no wear section"))
            maint_problem = condition_maintenance_problem(spec.machine_maintenance(m), spec.physics(m, "wear") is not None,
                                                          spec.physics(m, "condition") is not None)
            if maint_problem:
                out.append(((*loc, "maintenance"), f"machine {m.name} {maint_problem}"))
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
    shared = shares_kanbans(pol.model)
    for p in products:
        if p not in pol.C:
            out.append((("policy", "C"), f"no CONWIP count for product {p!r}"))
        elif pol.C[p] < 1:
            out.append((("policy", "C", p), f"fewer than one CONWIP card ({pol.C[p]})"))
        if p not in pol.S or len(pol.S[p]) != n_stages:
            out.append((("policy", "S", p), f"needs one base stock per stage ({n_stages})"))
        elif any(s < 0 for s in pol.S[p]):
            out.append((("policy", "S", p), "negative base stock"))
        elif p in pol.C and not shared and sum(pol.S[p]) > pol.C[p]:
            out.append((("policy", "S", p), f"sum of base stocks {sum(pol.S[p])} exceeds C={pol.C[p]}"))
        if p not in pol.K_dedicated or len(pol.K_dedicated[p]) != n_stages - 1:
            out.append((("policy", "K_dedicated", p), f"needs one kanban count per stage 1..{n_stages - 1}"))
    for loc_p in [p for p in pol.C if p not in products] + [p for p in pol.S if p not in products]:
        out.append((("policy", loc_p), f"unknown product {loc_p!r} in policy"))
    if len(pol.K_shared) != n_stages - 1:
        out.append((("policy", "K_shared"), f"needs one kanban count per stage 1..{n_stages - 1}"))
    if out:
        return out
    if shared:
        total_s = sum(sum(pol.S[p]) for p in products)
        if pol.conwip_shared() < 1:
            out.append((("policy", "C_shared"), f"fewer than one CONWIP card ({pol.conwip_shared()})"))
        elif total_s > pol.conwip_shared():
            out.append((("policy", "S"), f"sum of base stocks {total_s} exceeds the shared C={pol.conwip_shared()}"))
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
    if not out and pol.constraints == "seed":
        out += [(("policy",), msg) for msg in seed_constraint_problems(pol, products, n_stages)]
    return out


def seed_constraint_problems(pol: Policy, products: list[str], n_stages: int) -> list[str]:
    """The messages of `seed_constraint_breaks`, in order."""
    return list(seed_constraint_breaks(pol, products, n_stages).values())


def seed_constraint_breaks(pol: Policy, products: list[str], n_stages: int) -> dict[str, str]:
    """Seed 004's constraints on K, S and C (section 3.2), for D-KAP per product and for
    S-KAP with the shared K and single C. The extracted text lost the relation signs; we read
    them so that the WIP objectives (K1-K2, K2-S3, C-S3) are never negative: K_i >= S_N,
    K_i <= C, C >= S_N, and under HK-CONWIP also K1 >= K2 (D-KAP: and K1 + K2 <= C)."""
    out: dict[str, str] = {}  # constraint -> "seed constraint <constraint> fails (<values>)"
    shared = shares_kanbans(pol.model)
    hk = not broadcasts_demand(pol.model)
    for p in products:
        ks = pol.K_shared if shared else pol.K_dedicated[p]
        c = pol.conwip_shared() if shared else pol.C[p]
        s_n = pol.S[p][-1]
        tag = "" if shared else f".{p}"
        for i, k in enumerate(ks):
            if k < s_n:
                _broke(out, f"K{i + 1}{tag} >= S{n_stages}.{p}", f"({k} < {s_n})")
            if k > c:
                _broke(out, f"K{i + 1}{tag} <= C{tag}", f"({k} > {c})")
        if c < s_n:
            _broke(out, f"C{tag} >= S{n_stages}.{p}", f"({c} < {s_n})")
        if hk:
            for i in range(len(ks) - 1):
                if ks[i] < ks[i + 1]:
                    _broke(out, f"K{i + 1}{tag} >= K{i + 2}{tag}", f"({ks[i]} < {ks[i + 1]})")
            if not shared and sum(ks) > c:
                _broke(out, f"K1{tag} + ... + K{len(ks)}{tag} <= C{tag}", f"({sum(ks)} > {c})")
    return out


def _broke(out: dict[str, str], constraint: str, values: str) -> None:
    out.setdefault(constraint, f"seed constraint {constraint} fails {values}")


def revalidated(model: BaseModel, **changes: Any) -> Any:
    """A copy of a spec section with `changes`, checked by the same validators as a plant
    file; raises ValueError with the validator's reason."""
    try:
        return type(model).model_validate({**model.model_dump(), **changes})
    except ValidationError as e:
        raise ValueError("; ".join(_pyd_msg(err) for err in e.errors())) from None


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


def _pyd_msg(err: ErrorDetails) -> str:
    if err["type"] == "value_error" and "ctx" in err:
        return str(err["ctx"]["error"])
    msg = str(err["msg"])
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
