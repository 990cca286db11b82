"""The line as the page draws it: stations in order, their machines and output buffers, and
the keys of the tags each element shows, built with the tag contract (`plant_tags`) from the
plant file, so the page's script never spells a tag name."""

from __future__ import annotations

from typing import Any

import plant_tags as tags
from plc_sim.model.spec import PlantSpec

MT = tags.MachineTag
DETAIL_TAGS = (MT.STATE, MT.POWER_KW, MT.ENERGY_KWH, MT.PARTS_DONE, MT.GOOD_PARTS, MT.CYCLE_TIME, MT.WEAR,
               MT.VIBRATION, MT.SPINDLE_TEMPERATURE, MT.SPINDLE_SPEED, MT.SPEED_SETPOINT, MT.ALARM_ACTIVE)
"""A machine's tags in its detail panel (those the machine has)."""
TREND_KPIS = ("throughput_per_h", "WIP", "FG", "SL", "oee", "energy_kwh", "Zmax")
"""The KPIs offered first in the trend picker (any mirrored tag can be picked)."""


def _key(path: tags.Path) -> str:
    return tags.key(path)


def line_layout(spec: PlantSpec) -> dict[str, Any]:
    """The JSON the page draws from: stations (machines with their tag keys, buffers), the
    finished-goods and backlog keys per product, and the folders of the line."""
    line = spec.line
    products = list(spec.products)
    stations = []
    for st in spec.stations:
        machines = [{"name": m.name, "station": st.name,
                     "tags": {str(t): _key(tags.machine(line, st.name, m.name, t)) for t in DETAIL_TAGS}}
                    for m in st.machines]
        stations.append({"name": st.name, "machines": machines,
                         "queue": _key(tags.station(line, st.name, tags.StationTag.QUEUE_LENGTH)),
                         "shift": _key(tags.station(line, st.name, tags.StationTag.SHIFT_ACTIVE)),
                         "buffer": {p: _key(tags.output_buffer(line, st.name, p)) for p in products}})
    last = spec.stations[-1].name
    return {
        "line": line, "products": products, "stations": stations,
        "finished": {p: _key(tags.output_buffer(line, last, p)) for p in products},
        "backlog": {p: _key(tags.backlog(line, p)) for p in products},
        "control": _key((line, tags.Folder.CONTROL)),
        "kpis": _key((line, tags.Folder.KPIS)),
        "trend_kpis": [_key(tags.kpi(line, k)) for k in TREND_KPIS],
        "plant_time": _key(tags.kpi(line, tags.ClockTag.PLANT_TIME)),
        "recommendations": _key((line, tags.Folder.RECOMMENDATIONS, "Open")),
        "faults": _key((line, tags.Folder.FAULTS, "Active")),
        "simulation": _key((line, tags.Folder.SIMULATION, tags.SimulationTag.STATE)),
        "machine_states": _machine_states(),
    }


def _machine_states() -> list[str]:
    from plc_sim.model.vocab import MACHINE_STATUSES

    return list(MACHINE_STATUSES)
