"""The words both sides of the plant share: machine states, user roles and tag data types.

The model library owns them so that the PLC, the OPC UA server, the twin and the optimizer
all read one definition; nothing here imports anything of the project.
"""

from __future__ import annotations

import enum
from typing import Literal, get_args


class MachineState(enum.StrEnum):
    """What a machine is doing, as the line model books its time and power."""

    PROCESSING = "processing"
    IDLE = "idle"
    STANDBY = "standby"
    WAKING = "waking"
    DOWN = "down"
    MAINTENANCE = "maintenance"
    OFF = "off"


class MachineStatus(enum.StrEnum):
    """A machine's state as an operator sees it: an idle machine is told apart as starved
    (requests wait for input parts) or blocked (requests wait for a kanban)."""

    PROCESSING = "processing"
    IDLE = "idle"
    STARVED = "starved"
    BLOCKED = "blocked"
    STANDBY = "standby"
    WAKING = "waking"
    DOWN = "down"
    MAINTENANCE = "maintenance"
    OFF = "off"


MACHINE_STATUSES: tuple[str, ...] = tuple(s.value for s in MachineStatus)
"""The operator-visible states in their published order (the OPC UA enumeration's values)."""

Role = Literal["viewer", "operator", "engineer"]
ROLES: tuple[Role, ...] = get_args(Role)


def role_allows(role: str | None, needed: Role) -> bool:
    """Roles are ordered: viewer < operator < engineer; anonymous counts as viewer."""
    have = ROLES.index(role) if role in ROLES else 0
    return have >= ROLES.index(needed)


DataType = Literal["Double", "Int32", "Boolean", "String"]
DATA_TYPES: tuple[DataType, ...] = get_args(DataType)

MaintPolicy = Literal["interval", "condition", "plan"]
MAINT_POLICIES: tuple[MaintPolicy, ...] = get_args(MaintPolicy)

ControlModel = Literal["BDOP", "BSOP", "HDOP", "HSOP"]
CONTROL_MODELS: tuple[ControlModel, ...] = get_args(ControlModel)


def shares_kanbans(model: str) -> bool:
    """S-KAP (BSOP, HSOP): one kanban pool per stage shared by all products."""
    return model in ("BSOP", "HSOP")


def broadcasts_demand(model: str) -> bool:
    """BK-CONWIP (BDOP, BSOP): orders reach every stage at once as demand tokens."""
    return model in ("BDOP", "BSOP")
