"""Forecasts: "what happens over the next `horizon` hours if we apply these overrides", as
KPIs per seeded replication. Every candidate of a search is forecast on the same seeds
(common random numbers), so candidates are compared on the same futures.

Two implementations: `SnapshotForecaster`, the live service's, starts each replication
where the twin's snapshot says the plant stands (queues, buffers, cards in use, machine
states, wear, time since repair) with the twin's estimated parameters; `PlantForecaster`,
the offline tool's, starts from the plant file's empty line at time 0 and warms it up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from plc_sim.model.calendar import PlantCalendar
from plc_sim.model.experiment import RunPlan, run_replication
from plc_sim.model.observe import Observation, model_from_observation
from plc_sim.model.spec import PlantSpec, load_plant
from plc_sim.model.variants import build_variant
from plc_sim.model.vocab import shares_kanbans
from twin_core.forecast import run_horizon

from .overrides import build_plant, incumbent_plant

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

    @property
    def start_h(self) -> float | None:
        """The plant's working hour at which the forecast starts (its clock is the plant's),
        or None when the forecast runs on a clock of its own from 0 (a warmed-up plant file)."""
        ...

    def evaluate(self, sets: Sequence[str], seeds: Sequence[int], horizon: Horizon) -> list[KPIs]:
        """KPIs of replication `seed` (stream `seed` of `horizon.seed`) for each seed, with
        the overrides `sets` applied to the current plant; raises VariantError when the
        overrides make an invalid plant."""
        ...


@dataclass(frozen=True)
class _Labelled:
    """A forecaster's plant (the current setpoints) and what its forecasts start from."""

    base: PlantSpec
    label: str

    @property
    def plant(self) -> PlantSpec:
        return self.base

    @property
    def source(self) -> str:
        return self.label


@dataclass(frozen=True)
class PlantForecaster(_Labelled):
    """The offline forecaster: a plant file's model (empty at time 0), warmed up, then
    measured for the horizon. Picklable, so a process pool can run it."""

    label: str = "plant file"

    @classmethod
    def from_file(cls, plant: str, model: str | None = None, scenario: int | None = None,
                  sets: Sequence[str] = ()) -> PlantForecaster:
        spec = build_variant(load_plant(plant), model=model, scenario=scenario, sets=list(sets))
        label = " ".join(x for x in (plant, model or "", f"scenario {scenario}" if scenario else "") if x)
        return cls(spec, label)

    @property
    def start_h(self) -> float | None:
        return None

    def evaluate(self, sets: Sequence[str], seeds: Sequence[int], horizon: Horizon) -> list[KPIs]:
        spec = build_plant(self.base, sets)
        plan = horizon.plan()
        return [run_replication(spec, plan, rep) for rep in seeds]


@dataclass(frozen=True)
class SnapshotForecaster(_Labelled):
    """The live forecaster: each replication starts from the twin's observation of the plant
    (`model_from_observation`), with the twin's estimated parameters and the current setpoints
    in `base`, and runs `horizon.hours` calendar hours on (no warm-up: the state is the
    plant's own). The observed card counts are folded into `base` once, then the `setpoints`
    the run has just read from the server (the snapshot may be seconds older than the read:
    what the server shows now wins), so that a candidate's counts win over both. Picklable,
    so a process pool can run it."""

    observation: Observation

    @classmethod
    def of(cls, base: PlantSpec, observation: Observation, label: str,
           setpoints: Sequence[str] = ()) -> SnapshotForecaster:
        sets = [*observed_cards(base, observation), *setpoints]
        spec = incumbent_plant(base, sets) if sets else base
        return cls(spec, label, replace(observation, kanbans={}, conwip={}))

    @property
    def start_h(self) -> float | None:
        return PlantCalendar.from_spec(self.base.calendar).to_working(self.observation.calendar_h)

    def evaluate(self, sets: Sequence[str], seeds: Sequence[int], horizon: Horizon) -> list[KPIs]:
        spec = build_plant(self.base, sets)
        obs = self.observation
        return [run_horizon(model_from_observation(spec, obs, snapshot_seed(horizon.seed, rep)), obs.calendar_h,
                            horizon.hours) for rep in seeds]


def snapshot_seed(seed: int, rep: int) -> int:
    """Replication `rep`'s seed of a forecast from a snapshot (as `plant twin forecast` numbers them)."""
    return seed * 1000 + rep


def observed_cards(spec: PlantSpec, obs: Observation) -> list[str]:
    """The observed card counts as override strings (`K1.A=4`, `K2=6`, `C.B=9`; one `C=` for
    a line with one CONWIP count, which every C_<P> tag shows)."""
    out = [f"K{stage}.{product}={v}" if product else f"K{stage}={v}"
           for name, v in obs.kanbans.items() for stage, _, product in [name[1:].partition("_")]]
    if shares_kanbans(spec.policy.model):
        first = next((obs.conwip[p] for p in spec.product_names if p in obs.conwip), None)
        return out + ([f"C={first}"] if first is not None else [])
    return out + [f"C.{p}={v}" for p, v in obs.conwip.items()]
