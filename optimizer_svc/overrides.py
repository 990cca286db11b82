"""Override strings are the stable interface for decisions: the model library's `--set`
strings (`K1=4`, `speed.CNC1=110`, ...) plus one the model library does not parse yet,
`maint_plan.<machine or station>=[[start_h, duration_h], ...]` (JSON windows on the working
clock), which is applied here with the plant file's own validators."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

from plc_sim.model.spec import PlantSpec, revalidated, semantic_problems
from plc_sim.model.variants import VariantError, build_variant

PLAN_PREFIX = "maint_plan."


def plan_text(windows: Sequence[tuple[float, float]]) -> str:
    """Windows as the MaintenancePlan tag's JSON text."""
    return json.dumps([[round(float(a), 3), round(float(d), 3)] for a, d in windows])


def build_plant(base: PlantSpec, sets: Sequence[str]) -> PlantSpec:
    """`base` with every override applied; raises VariantError for anything the plant's own
    checks refuse (an invalid plant is never simulated)."""
    plans = [s for s in sets if s.startswith(PLAN_PREFIX)]
    spec = _apply_plans(base, plans) if plans else base
    rest = [s for s in sets if not s.startswith(PLAN_PREFIX)]
    return build_variant(spec, sets=rest) if rest else spec


def incumbent_plant(base: PlantSpec, sets: Sequence[str]) -> PlantSpec:
    """`base` with the current setpoints `sets`, even when they break seed 004's constraints
    (a plant started so, or set so before the PLC refused such writes): the forecast starts
    where the plant stands instead of failing. The result keeps `base`'s rules, so every
    candidate built on it must pass them; only the incumbent itself is let in."""
    try:
        return build_plant(base, sets)
    except VariantError:
        if base.policy.constraints != "seed":
            raise
    relaxed = build_plant(_with_constraints(base, "cards"), sets)
    return _with_constraints(relaxed, "seed")


def _with_constraints(spec: PlantSpec, constraints: Literal["cards", "seed"]) -> PlantSpec:
    return spec.model_copy(update={"policy": spec.policy.model_copy(update={"constraints": constraints})})


def _apply_plans(base: PlantSpec, items: list[str]) -> PlantSpec:
    spec = base.model_copy(deep=True)
    for item in items:
        key, _, value = item.partition("=")
        target = key[len(PLAN_PREFIX):].strip()
        try:
            windows = [(float(a), float(d)) for a, d in json.loads(value)]
        except (json.JSONDecodeError, TypeError, ValueError):
            raise VariantError(f"--set {item!r}: a plan is JSON [[start_h, duration_h], ...]") from None
        machines = [m for st in spec.stations if st.name == target for m in st.machines]
        machines = machines or [m for m in spec.all_machines() if m.name == target]
        if not machines:
            raise VariantError(f"--set {item!r}: unknown machine or station {target!r}")
        for mach in machines:
            try:
                mach.maintenance = revalidated(spec.machine_maintenance(mach), plan=windows)
            except ValueError as e:
                raise VariantError(f"--set {item!r}: {e}") from None
    problems = semantic_problems(spec)
    if problems:
        raise VariantError("; ".join(msg for _loc, msg in problems))
    return spec
