"""Forecasts: "what happens over the next `horizon` hours if we apply these overrides", as
KPIs per seeded replication. Every candidate of a search is forecast on the same seeds
(common random numbers), so candidates are compared on the same futures.

Today the one implementation runs the plant file's model (`PlantForecaster`); the twin's
forecaster (from a twin snapshot, `LineModel.from_snapshot` with estimated parameters) will
implement the same protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from plc_sim.model.experiment import RunPlan, run_replication
from plc_sim.model.spec import PlantSpec, load_plant
from plc_sim.model.variants import build_variant

from .overrides import build_plant

KPIs = dict[str, float]


@dataclass(frozen=True)
class Horizon:
    """Calendar hours forecast after a warm-up, and the base seed of the replications."""

    hours: float
    warmup: float = 0.0
    seed: int = 1

    def plan(self) -> RunPlan:
        return RunPlan(hours=self.hours, warmup=self.warmup, seed=self.seed)


class Forecaster(Protocol):
    """Anything that can forecast a decision on given replication seeds."""

    @property
    def plant(self) -> PlantSpec:
        """The plant as it stands now (the current setpoints)."""
        ...

    @property
    def source(self) -> str:
        """What the forecast starts from: a plant file, a twin snapshot id, ..."""
        ...

    def evaluate(self, sets: Sequence[str], seeds: Sequence[int], horizon: Horizon) -> list[KPIs]:
        """KPIs of replication `seed` (stream `seed` of `horizon.seed`) for each seed, with
        the overrides `sets` applied to the current plant; raises VariantError when the
        overrides make an invalid plant."""
        ...


@dataclass(frozen=True)
class PlantForecaster:
    """The offline forecaster: a plant file's model (empty at time 0), warmed up, then
    measured for the horizon. Picklable, so a process pool can run it."""

    base: PlantSpec
    label: str = "plant file"

    @classmethod
    def from_file(cls, plant: str, model: str | None = None, scenario: int | None = None,
                  sets: Sequence[str] = ()) -> PlantForecaster:
        spec = build_variant(load_plant(plant), model=model, scenario=scenario, sets=list(sets))
        label = " ".join(x for x in (plant, model or "", f"scenario {scenario}" if scenario else "") if x)
        return cls(spec, label)

    @property
    def plant(self) -> PlantSpec:
        return self.base

    @property
    def source(self) -> str:
        return self.label

    def evaluate(self, sets: Sequence[str], seeds: Sequence[int], horizon: Horizon) -> list[KPIs]:
        spec = build_plant(self.base, sets)
        plan = horizon.plan()
        return [run_replication(spec, plan, rep) for rep in seeds]
