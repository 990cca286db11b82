"""One cell of the design: one seed, one arm, run on the stack (stack.py) and measured from the
PLC's own model (the true KPIs, never the twin's view): the KPIs over the measured span, a time
series at every sample point, the order arrivals (a digest, to show that the arms of a seed
saw the same orders), the writes the PLC took over OPC UA, and for the live arm each cycle's
audit entry."""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from plc_sim.model.kpi import kpis
from plc_sim.model.line import LineModel
from plc_sim.model.spec import PlantSpec, load_plant
from plc_sim.model.variants import build_variant

from .design import PLANT, Design
from .stack import Stack

KPI_NAMES = ("energy_per_part_kwh", "downtime_h", "stoppage_h", "throughput_per_h", "LD", "cost", "Z",
             "energy_kwh", "maintenance_h", "feasible")
"""The KPIs each cell keeps (seed 000's headline and what the report's table needs)."""
SERIES = ("energy_kwh", "downtime_h", "stoppage_h", "FG")


def start_of(plant: PlantSpec, seed: int, design: Design) -> float:
    """The plant hour measuring starts: the plant file's first hour on shift, plus the warm-up.
    The same hour for every arm (an arm's own shift plan would start earlier or later, and
    the arms would then be measured over different orders)."""
    return LineModel(plant, seed).first_shift_h() + design.warmup_h


class Arrivals:
    """The orders the plant received while measured, as a count and a digest of (product, hour)."""

    def __init__(self) -> None:
        self.n = 0
        self._h = hashlib.sha256()

    def __call__(self, kind: str, info: dict[str, Any]) -> None:
        if kind == "order":
            self.n += 1
            self._h.update(f"{info['product']}@{info['t']:.9f};".encode())

    def as_json(self) -> dict[str, Any]:
        return {"n": self.n, "digest": self._h.hexdigest()[:16]}


def measured(model: LineModel, span_h: float) -> dict[str, float]:
    k = kpis(model, span_h)
    return {name: float(k[name]) for name in (*KPI_NAMES, *SERIES)}


def run_cell(design: Design, seed: int, arm: str, offline_sets: tuple[str, ...] = (),
             on_cycle: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """One seed-arm cell, start to end, in a fresh event loop and a scratch directory."""
    base = load_plant(PLANT)
    spec = build_variant(base, sets=list(offline_sets)) if arm == "offline" else base
    with tempfile.TemporaryDirectory(prefix=f"closed-loop-{arm}-{seed}-") as tmp:
        start_h = start_of(base, seed, design)
        return asyncio.run(_run(design, seed, arm, spec, start_h, Path(tmp), on_cycle)) | {"sets": list(offline_sets)}


async def _run(design: Design, seed: int, arm: str, spec: PlantSpec, start_h: float, work: Path,
               on_cycle: Callable[[int, int], None] | None) -> dict[str, Any]:
    live = arm == "live"
    job = asdict(design.job) | {"warmup": 0.0} if live else None
    cycles = set(design.cycle_hours()) if live else set()
    series: list[dict[str, float]] = []
    async with Stack(spec, seed, start_h, work, live, job, design.workers, design.dask) as stack:
        arrivals = Arrivals()
        stack.plc.model.listeners.append(arrivals)
        done = 0
        for at in sorted({0.0, *design.stops()}):
            await stack.run_to(at)
            if at > 0:
                series.append({"h": at, **measured(stack.plc.model, at)})
            if at in cycles:
                await stack.cycle()
                done += 1
                if on_cycle is not None:
                    on_cycle(done, len(cycles))
        audit = [asdict(r) for r in stack.plc.audit]
        entries = stack.entries
    return {"arm": arm, "seed": seed, "start_h": start_h, "kpis": series[-1], "series": series,
            "arrivals": arrivals.as_json(), "plc_audit": audit, "cycles": [_cycle(e) for e in entries]}


def _cycle(entry: dict[str, Any]) -> dict[str, Any]:
    """What the report needs of a cycle's audit entry."""
    keep = ("plant_h", "outcome", "elapsed_s", "timings", "written", "reasons", "improvement", "p_value",
            "candidate", "forecast")
    return {k: entry.get(k) for k in keep}
