"""Breakdown alarms of the PLC: active while a machine is down, acknowledged by an
operator; a condition stays retained until it is both inactive and acknowledged."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Alarm:
    machine: str
    active: bool = False
    acked: bool = True
    fault: bool = False
    """A breakdown not yet reset (ResetFault)."""


class AlarmBook:
    def __init__(self) -> None:
        self._alarms: dict[str, Alarm] = {}

    def _get(self, machine: str) -> Alarm:
        return self._alarms.setdefault(machine, Alarm(machine))

    def raise_(self, machine: str) -> Alarm:
        a = self._get(machine)
        a.active, a.acked, a.fault = True, False, True
        return a

    def clear(self, machine: str) -> Alarm:
        a = self._get(machine)
        a.active = False
        return a

    def acknowledge(self, machine: str) -> Alarm:
        """Acknowledge; raises ValueError when there is nothing to acknowledge."""
        a = self._get(machine)
        if a.acked:
            raise ValueError(f"no unacknowledged alarm on {machine}")
        a.acked = True
        return a

    def reset(self, machine: str) -> Alarm:
        """Reset the fault of a repaired machine (its alarm acknowledged)."""
        a = self._get(machine)
        a.fault = False
        return a

    def fault(self, machine: str) -> bool:
        return self._get(machine).fault

    def active(self, machine: str) -> bool:
        return self._get(machine).active

    def acked(self, machine: str) -> bool:
        return self._get(machine).acked

    def retained(self) -> list[Alarm]:
        return [a for a in self._alarms.values() if a.active or not a.acked]

    def state(self) -> list[dict[str, Any]]:
        """Every alarm as JSON-able data (a simulation snapshot)."""
        return [asdict(a) for a in self._alarms.values()]

    def restore(self, state: list[dict[str, Any]]) -> None:
        """The alarms of a snapshot (an empty list: none, as after a reset)."""
        self._alarms = {d["machine"]: Alarm(**d) for d in state}
