"""The tag contract: the browse names and paths of a plant's tags, written once.

The PLC's tag map builds its tags with these, the server publishes them under
Objects/Plant, and the twin, the optimizer and the exports find them by the same builders, so
renaming a tag is one edit here (and a failing test wherever a part still expects the old
name), never a twin that silently stops seeing it. This package imports nothing of the
project's.

A path is a tuple of browse names below Objects/Plant, starting with the line's name;
`key(path)` is its "/"-joined form, the tag's key in the PLC and in the twin's history.
"""

from __future__ import annotations

import enum

Path = tuple[str, ...]

PLANT = "Plant"
"""The folder below Objects that holds the lines."""
ROOT: Path = ("Objects", PLANT)
"""Where the plant's folders live in the address space."""


class Folder(enum.StrEnum):
    """Folders of a line, beside its stations."""

    KPIS = "KPIs"
    ORDERS = "Orders"
    CONTROL = "Control"
    RECOMMENDATIONS = "Recommendations"
    """The advisory mode's book: its tags and its Recommend, Apply and Dismiss methods."""
    FAULTS = "Faults"
    """The injected faults: their tags and the methods that start and clear them."""
    SIMULATION = "Simulation"
    """Simulation control: pause, step, time factor, reset, snapshots."""
    OUTPUT_BUFFER = "OutputBuffer"
    """Below a station: one tag per product."""


class StationTag(enum.StrEnum):
    SHIFT_ACTIVE = "ShiftActive"
    QUEUE_LENGTH = "QueueLength"
    SHIFT_PLAN = "ShiftPlan"


class MachineTag(enum.StrEnum):
    STATE = "State"
    PARTS_DONE = "PartsDone"
    GOOD_PARTS = "GoodParts"
    POWER_KW = "PowerKW"
    ENERGY_KWH = "EnergyKWh"
    CYCLE_TIME = "CycleTime"
    ENERGY_PER_PART = "EnergyPerPart"
    ALARM_ACTIVE = "AlarmActive"
    ALARM_ACKED = "AlarmAcked"
    WEAR = "Wear"
    VIBRATION = "Vibration"
    SPINDLE_TEMPERATURE = "SpindleTemperature"
    SPINDLE_SPEED = "SpindleSpeed"
    FEED_RATE = "FeedRate"
    SPEED_SETPOINT = "SpeedSetpoint"
    STANDBY_TIMEOUT = "StandbyTimeout"
    OFF_SHIFT_MODE = "OffShiftMode"
    MAINTENANCE_INTERVAL = "MaintenanceInterval"
    MAINTENANCE_POLICY = "MaintenancePolicy"
    MAINTENANCE_PLAN = "MaintenancePlan"
    DISPATCH_WEIGHT = "DispatchWeight"


class ClockTag(enum.StrEnum):
    """The plant's clock, in the KPIs folder beside the KPIs themselves."""

    PLANT_TIME = "PlantTime"
    PLANT_CLOCK = "PlantClock"
    TIME_FACTOR = "TimeFactor"


class SimulationTag(enum.StrEnum):
    """The Simulation folder's status tags."""

    STATE = "State"
    TIME_FACTOR = "TimeFactor"
    PLANT_TIME = "PlantTime"
    SEED = "Seed"


def key(path: Path) -> str:
    """The tag's key: its path joined with "/" (e.g. GearLine/MP1/MP1/State)."""
    return "/".join(path)


def browse_path(path: Path) -> str:
    """The tag's browse path from the Objects folder (Objects/Plant/...)."""
    return key((*ROOT, *path))


def machine(line: str, station: str, machine_name: str, tag: MachineTag | str) -> Path:
    return (line, station, machine_name, str(tag))


def station(line: str, station_name: str, tag: StationTag | str) -> Path:
    return (line, station_name, str(tag))


def output_buffer(line: str, station_name: str, product: str) -> Path:
    return (line, station_name, Folder.OUTPUT_BUFFER.value, product)


def kpi(line: str, name: str) -> Path:
    """A KPI of the line (kpi names are the model's, seed 004's where it has one), or a clock tag."""
    return (line, Folder.KPIS.value, str(name))


def backlog(line: str, product: str) -> Path:
    return (line, Folder.ORDERS.value, f"Backlog_{product}")


def raw(line: str, product: str) -> Path:
    return (line, Folder.ORDERS.value, f"Raw_{product}")


def conwip_name(product: str) -> str:
    """The CONWIP count of a product: `C_A`."""
    return f"C_{product}"


def conwip(line: str, product: str) -> Path:
    return (line, Folder.CONTROL.value, conwip_name(product))


def kanban_name(stage: int, product: str | None = None) -> str:
    """The kanban count of a stage (1-based): `K2` shared, `K2_A` for one product."""
    return f"K{stage}" if product is None else f"K{stage}_{product}"


def kanban(line: str, stage: int, product: str | None = None) -> Path:
    return (line, Folder.CONTROL.value, kanban_name(stage, product))


def base_stock(line: str, stage: int, product: str) -> Path:
    return (line, Folder.CONTROL.value, f"S{stage}_{product}")
