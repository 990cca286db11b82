"""Where a decision lives on the server: override keys to browse paths under
Objects/Plant/<Line> and their OPC UA data types (docs/opcua.md)."""

from __future__ import annotations

from dataclasses import dataclass

import plant_tags as tags
from plc_sim.model.spec import PlantSpec
from plc_sim.model.vocab import shares_kanbans

M = tags.MachineTag
MACHINE_TAGS = {"speed": (M.SPEED_SETPOINT, "Double"), "standby": (M.STANDBY_TIMEOUT, "Double"),
                "off_shift": (M.OFF_SHIFT_MODE, "String"),
                "dispatch": (M.DISPATCH_WEIGHT, "Double"), "maint_policy": (M.MAINTENANCE_POLICY, "String"),
                "maint_interval": (M.MAINTENANCE_INTERVAL, "Double"), "maint_plan": (M.MAINTENANCE_PLAN, "String")}


@dataclass(frozen=True)
class TagRef:
    key: str
    path: tuple[str, ...]
    """Browse names below Objects/Plant."""
    dtype: str


class NotLiveError(ValueError):
    """A decision the running PLC does not let change (e.g. base stock S)."""


def tag_refs(spec: PlantSpec, key: str) -> list[TagRef]:
    """The tags behind one override key (several for a key like `C` that means every product
    under D-KAP). Under S-KAP the line has one CONWIP count, which every `C_<P>` tag shows
    and sets, so `C` is written once, through the first product's tag."""
    line = spec.line
    kind, _, target = key.partition(".")
    if kind in MACHINE_TAGS:
        tag, dtype = MACHINE_TAGS[kind]
        station = next((st for st in spec.stations if any(m.name == target for m in st.machines)), None)
        if station is None:
            raise NotLiveError(f"{key}: unknown machine {target!r}")
        return [TagRef(key, tags.machine(line, station.name, target, tag), dtype)]
    if kind == "shift":
        return [TagRef(key, tags.station(line, target, tags.StationTag.SHIFT_PLAN), "String")]
    head = kind.rstrip("0123456789")
    if head == "K" and kind[1:].isdigit():
        return [TagRef(key, tags.kanban(line, int(kind[1:]), target or None), "Int32")]
    if head == "C" and kind == "C":
        if shares_kanbans(spec.policy.model):
            if target:
                raise NotLiveError(f"{key}: {spec.policy.model} has one CONWIP count for the line; use C")
            return [TagRef(key, tags.conwip(line, spec.product_names[0]), "Int32")]
        products = [target] if target else spec.product_names
        return [TagRef(key, tags.conwip(line, p), "Int32") for p in products]
    raise NotLiveError(f"{key}: not a live setpoint (base stock is fixed while the PLC runs)")
