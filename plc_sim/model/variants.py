"""Variants of a plant: a Table-1 scenario, a control model, and `--set` policy overrides.

Each returns a new, checked :class:`PlantSpec`; the input is never changed.
"""

from __future__ import annotations

import re
from typing import Any

from .rules import dispatch_weight_problem
from .spec import (
    MODELS,
    TABLE1_COLUMNS,
    Dist,
    MachineSpec,
    PlantSpec,
    Policy,
    Station,
    policy_problems,
    revalidated,
    semantic_problems,
)
from .vocab import shares_kanbans


class VariantError(ValueError):
    """A scenario, model or override that does not fit the plant."""


def _rate_mean(d: Dist | None, rate_per_h: float) -> Dist:
    if d is None:
        raise VariantError("the scenario sets a rate the plant file does not model")
    return d.model_copy(update={"mean": 1.0 / rate_per_h})


def apply_scenario(spec: PlantSpec, number: int) -> PlantSpec:
    """Replace the scenario-driven parameters with Table 1 row `number` (see the plant file)."""
    sc = spec.scenarios
    if sc is None:
        raise VariantError(f"plant {spec.name!r} has no scenario table")
    row = sc.rows.get(str(number))
    if row is None:
        raise VariantError(f"plant {spec.name!r} has no scenario {number} (known: {', '.join(sc.rows)})")
    r = {col: v * sc.reading[col] for col, v in zip(TABLE1_COLUMNS, row)}
    return spec.model_copy(update={
        "quality": spec.quality.model_copy(update={"defect_prob": r["PRO"]}),
        "raw": spec.raw.model_copy(update={"interval": _rate_mean(spec.raw.interval, r["RAW"])}),
        "failures": spec.failures.model_copy(update={
            "repair": _rate_mean(spec.failures.repair, r["REP"]),
            "time_to_failure": _rate_mean(spec.failures.time_to_failure, r["BREAK"]),
        }),
        "maintenance": spec.maintenance.model_copy(update={
            "duration": _rate_mean(spec.maintenance.duration, r["MAIN"]),
        }),
        "recycling": spec.recycling.model_copy(update={"service": _rate_mean(spec.recycling.service, r["REC"])}),
        "demand": {p: d.model_copy(update={"interarrival": _rate_mean(d.interarrival, r["DEM"])})
                   for p, d in spec.demand.items()},
    })


def with_model(spec: PlantSpec, model: str) -> PlantSpec:
    """The same plant under another of the four control models (BDOP, BSOP, HDOP, HSOP)."""
    model = model.upper()
    if model not in MODELS:
        raise VariantError(f"unknown model {model!r}: choose one of {', '.join(MODELS)}")
    return _checked(spec, spec.policy.model_copy(update={"model": model}))


_SET = re.compile(r"^(?P<name>[KSC])(?P<stage>\d+)?(?:\.(?P<product>\w+))?$")
_SETPOINT = re.compile(r"^(?P<name>speed|standby|off_shift|maint_interval|maint_policy|maint_wear|maint_vibration"
                       r"|dispatch|shift|buffer)"
                       r"\.(?P<target>[\w-]+)$")


def apply_overrides(spec: PlantSpec, sets: list[str]) -> PlantSpec:
    """Apply policy overrides (`K1=4`, `K2.A=3`, `C=8`, `C.B=6`, `S3=2`, `S3.A=1`) and
    setpoint overrides (`speed.CNC1=110`, `standby.Machining=0.5`, `maint_interval.CNC2=200`,
    `maint_policy.CNC1=condition`, `maint_wear.CNC1=60`, `maint_vibration.CNC1=3.2`,
    `dispatch.CNC3=0.5`, `shift.Machining=three`, `off_shift.CNC1=off` (idle, standby or off
    outside the shifts), `buffer.Transport=6` (a station's input buffer)); a setpoint's
    target is a machine or a station (all its machines); `shift` and `buffer` name a station.

    Without a product, K applies to every product (D-KAP) or to the shared pool (S-KAP);
    C to every product (D-KAP) or the line's single count (S-KAP); S to every product.
    Product may be named or numbered from 1. `constraints=cards` checks only the card rules,
    `constraints=seed` also seed 004's constraints.
    """
    setpoints = [x for x in sets if _SETPOINT.match(x.partition("=")[0].strip())]
    if setpoints:
        spec = _apply_setpoints(spec, setpoints)
    pol = spec.policy.model_copy(deep=True)
    products = spec.product_names
    n = len(spec.stations)
    for item in sets:
        if item in setpoints:
            continue
        key, sep, value = item.partition("=")
        if key.strip() == "constraints":
            if value.strip() not in ("cards", "seed"):
                raise VariantError(f"--set {item!r}: constraints are 'cards' or 'seed'")
            pol.constraints = value.strip()  # type: ignore[assignment]
            continue
        m = _SET.match(key.strip())
        if not sep or not m:
            raise VariantError(f"--set {item!r}: expected NAME=INT with NAME like K1, K1.A, C, C.A, S3, S3.B")
        try:
            v = int(value)
        except ValueError:
            raise VariantError(f"--set {item!r}: {value!r} is not a whole number") from None
        name, stage, prod = m["name"], m["stage"], m["product"]
        targets = [_product(prod, products, item)] if prod else products
        if name == "C":
            if stage:
                raise VariantError(f"--set {item!r}: C has no stage (use C or C.A)")
            if shares_kanbans(pol.model):
                if prod:
                    raise VariantError(f"--set {item!r}: {pol.model} has one CONWIP count for the line; use C=N")
                pol.C_shared = v
                continue
            for p in targets:
                pol.C[p] = v
            continue
        if not stage:
            raise VariantError(f"--set {item!r}: {name} needs a stage number, e.g. {name}1")
        i = int(stage) - 1
        limit = n - 1 if name == "K" else n
        if not 0 <= i < limit:
            raise VariantError(f"--set {item!r}: {name} stages are 1..{limit}")
        if name == "S":
            for p in targets:
                pol.S[p][i] = v
        elif shares_kanbans(pol.model):
            if prod:
                raise VariantError(f"--set {item!r}: {pol.model} shares kanbans between products; use K{stage}=N")
            pol.K_shared[i] = v
        else:
            for p in targets:
                pol.K_dedicated[p][i] = v
    return _checked(spec, pol)


def _apply_setpoints(spec: PlantSpec, items: list[str]) -> PlantSpec:
    """Setpoint overrides, checked by the plant file's own validators."""
    spec = spec.model_copy(deep=True)
    for item in items:
        key, _, value = item.partition("=")
        m = _SETPOINT.match(key.strip())
        assert m is not None, "only setpoint items reach here"
        name, target = m["name"], m["target"]
        try:
            if name == "shift":
                st = _station(spec, target)
                if value not in spec.shift_plans:
                    raise ValueError(f"unknown shift plan {value!r} (plans: {', '.join(spec.shift_plans)})")
                st.shift = value
                continue
            if name == "buffer":
                st = _station(spec, target)
                st.buffer = revalidated(st, buffer=int(value)).buffer
                continue
            for mach in _machines(spec, target):
                _set_machine(spec, mach, name, value.strip())
        except ValueError as e:
            raise VariantError(f"--set {item!r}: {e}") from None
    problems = semantic_problems(spec)
    if problems:
        raise VariantError("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in problems))
    return spec


def _set_machine(spec: PlantSpec, mach: MachineSpec, name: str, value: str) -> None:
    def section(field: str) -> Any:
        current = spec.physics(mach, field)
        if current is None:
            raise ValueError(f"machine {mach.name} has no {field} section")
        return current

    if name == "speed":
        mach.speed = revalidated(section("speed"), setpoint_pct=float(value))
    elif name == "standby":
        mach.standby = revalidated(section("standby"), timeout_h=float(value))
    elif name == "off_shift":
        mach.standby = revalidated(section("standby"), off_shift=value)
    elif name == "dispatch":
        weight = float(value)
        problem = dispatch_weight_problem(weight)
        if problem:
            raise ValueError(problem)
        mach.dispatch_weight = weight
    else:
        field = {"maint_interval": "interval_h", "maint_policy": "policy", "maint_wear": "threshold_wear",
                 "maint_vibration": "threshold_vibration"}[name]
        mach.maintenance = revalidated(section("maintenance"), **{field: value if field == "policy" else float(value)})


def _station(spec: PlantSpec, name: str) -> Station:
    for st in spec.stations:
        if st.name == name:
            return st
    raise ValueError(f"unknown station {name!r} (stations: {', '.join(st.name for st in spec.stations)})")


def _machines(spec: PlantSpec, target: str) -> list[MachineSpec]:
    for st in spec.stations:
        if st.name == target:
            return st.machines
    found = [m for m in spec.all_machines() if m.name == target]
    if not found:
        raise ValueError(f"unknown machine or station {target!r} "
                         f"(machines: {', '.join(m.name for m in spec.all_machines())})")
    return found


def _product(token: str, products: list[str], item: str) -> str:
    if token in products:
        return token
    if token.isdigit() and 1 <= int(token) <= len(products):
        return products[int(token) - 1]
    raise VariantError(f"--set {item!r}: unknown product {token!r} (products: {', '.join(products)})")


def _checked(spec: PlantSpec, pol: Policy) -> PlantSpec:
    problems = policy_problems(pol, spec.product_names, len(spec.stations))
    if problems:
        raise VariantError("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in problems))
    return spec.model_copy(update={"policy": pol})


def build_variant(spec: PlantSpec, model: str | None = None, scenario: int | None = None,
                  sets: list[str] | None = None) -> PlantSpec:
    """The plant as a run uses it: scenario first, then model, then overrides."""
    if scenario is not None:
        spec = apply_scenario(spec, scenario)
    if model is not None:
        spec = with_model(spec, model)
    if sets:
        spec = apply_overrides(spec, sets)
    return spec
