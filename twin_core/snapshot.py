"""The twin snapshot: the observed plant state (good values only) and the estimated
parameters, as one pydantic document (JSON), and the observation the model library builds
a line model from."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from pydantic import BaseModel

import plant_tags as tags
from plc_sim.model.observe import Observation
from plc_sim.model.spec import PlantSpec
from plc_sim.model.vocab import MACHINE_STATUSES

from .calibration import Estimates
from .state import ObservedState


class TwinSnapshot(BaseModel):
    plant: str
    model: str
    endpoint: str
    taken_at: float
    connected: bool
    gaps: int
    observation: dict[str, Any]
    bad_tags: list[str]
    """Tags whose last status is not good: their values are not in the observation."""
    alarms: dict[str, dict[str, Any]]
    kpis: dict[str, float]
    estimates: Estimates

    def to_observation(self) -> Observation:
        return Observation(**self.observation)


def observation(state: ObservedState, spec: PlantSpec) -> Observation:
    """What the mirrored tags say of the line, by the plant file's names."""
    line, g = spec.line, state.good_value
    def at(path: tags.Path) -> Any:
        return g(tags.key(path))

    obs = Observation(calendar_h=float(g(tags.key(tags.kpi(line, tags.ClockTag.PLANT_TIME)), 0.0)))
    for st in spec.stations:
        if (q := at(tags.station(line, st.name, tags.StationTag.QUEUE_LENGTH))) is not None:
            obs.queue[st.name] = int(q)
        obs.buffers[st.name] = {p: int(v) for p in spec.product_names
                                if (v := at(tags.output_buffer(line, st.name, p))) is not None}
        for m in st.machines:
            s = at(tags.machine(line, st.name, m.name, tags.MachineTag.STATE))
            if s is not None and 0 <= int(s) < len(MACHINE_STATUSES):
                obs.machine_status[m.name] = MACHINE_STATUSES[int(s)]
            if (w := at(tags.machine(line, st.name, m.name, tags.MachineTag.WEAR))) is not None:
                obs.wear[m.name] = float(w)
    for p in spec.product_names:
        for target, tag_path in ((obs.backlog, tags.backlog(line, p)), (obs.raw, tags.raw(line, p)),
                                 (obs.conwip, tags.conwip(line, p))):
            if (v := at(tag_path)) is not None:
                target[p] = int(v)
    for path, o in state.under(tags.key((line, tags.Folder.CONTROL))).items():
        if path.startswith("K") and o.good:
            obs.kanbans[path] = int(o.value)
    return obs


def take(state: ObservedState, spec: PlantSpec, endpoint: str, estimates: Estimates,
         up_h: dict[str, float] | None = None) -> TwinSnapshot:
    """The snapshot; `up_h` is the working hours since each machine's last repair (calibration)."""
    line = spec.line
    kpis = {k: float(o.value) for k, o in state.under(tags.key((line, tags.Folder.KPIS))).items()
            if o.good and isinstance(o.value, int | float)}
    alarms = {name: {"active": ev.active, "acked": ev.acked, "kind": ev.kind, "severity": ev.severity,
                     "time": ev.time.isoformat() if ev.time else None} for name, ev in state.alarms.items()}
    obs = observation(state, spec)
    obs.up_h = dict(up_h or {})
    return TwinSnapshot(plant=spec.name, model=spec.policy.model, endpoint=endpoint, taken_at=time.time(),
                        connected=state.connected, gaps=len(state.gaps),
                        observation=asdict(obs),
                        bad_tags=sorted(p for p, o in state.values.items() if not o.good), alarms=alarms, kpis=kpis,
                        estimates=estimates)
