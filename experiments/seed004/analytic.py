"""The seed's WIP objectives as a forecaster: what the seed's GA, PSO, DE and ES minimised.

The seed's solvers ran in 3-6 s (Table 5) on objectives "coded in Python" apart from
JaamSim, which fits equations 9-14: functions of the card counts alone. This forecaster
gives those (`WIP1_obj` .. `WIP3_obj` and their sum `WIP_obj`) for a candidate, without
simulating anything, so the project's solvers (`optimizer_svc.solve`) run on them exactly as
they run on simulated objectives: same decision space, same repair onto the seed's
constraints, same refusal of invalid plants."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from optimizer_svc.forecast import Horizon, KPIs
from optimizer_svc.overrides import build_plant
from plc_sim.model.kpi import wip_objectives
from plc_sim.model.spec import PlantSpec

PARTS = ("WIP1_obj", "WIP2_obj", "WIP3_obj")


@dataclass(frozen=True)
class WipForecaster:
    """Equations 9-11 (D-KAP) or 12-14 (S-KAP) with Table 2's weights, and their sum (the
    seed's single-objective solvers need one number; the weights already scale the parts)."""

    base: PlantSpec

    @property
    def plant(self) -> PlantSpec:
        return self.base

    @property
    def source(self) -> str:
        return "seed 004's WIP objectives (equations 9-14)"

    @property
    def start_h(self) -> float | None:
        return None

    def evaluate(self, sets: Sequence[str], seeds: Sequence[int], horizon: Horizon) -> list[KPIs]:
        parts = wip_objectives(build_plant(self.base, sets))
        if not parts:
            raise ValueError(f"plant {self.base.name!r} has no seed-004 WIP objectives")
        row = {**parts, "WIP_obj": sum(parts[p] for p in PARTS)}
        return [dict(row) for _ in seeds]
