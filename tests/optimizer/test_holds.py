"""The optimizer yields to people, over loopback: a setpoint someone else changed is held for
`holdoff_s` (nothing proposed for it, the audit says why), free again after it; a run always
verifies against the state it has just read, and writes nothing when the plant changed while
it was computing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from asyncua import ua

from optimizer_svc.audit import AuditLog
from optimizer_svc.cycle import ledger_of, run_job
from optimizer_svc.writeback import PlantLink
from tests.optimizer.conftest import OFF_SHIFT_JOB, cell_settings
from tests.support.opcua_harness import NS, client, plant_node, running_plant, until

HOLDOFF_S = 600.0
RB1 = "off_shift.RB1"
RB1_ONLY = OFF_SHIFT_JOB.model_copy(update={"name": "rb1", "machines": ["RB1"]})
HOLD_JOB = OFF_SHIFT_JOB
"""Off-shift modes of the idling machines: what pays on the cell, so a run has something to write."""


class Clock:
    """Wall time the test moves by hand (the hold-off is in wall seconds)."""

    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


async def _someone_sets(srv, plc, machine: str, mode: str) -> None:
    """An engineer's HMI session (not the optimizer's) sets an off-shift mode."""
    async with client(srv, "eve") as c:
        idx = await c.get_namespace_index(NS)
        path = f"AutoPartsCell/{_station_of(plc, machine)}/{machine}/OffShiftMode"
        await plant_node(c, idx, path).write_value(ua.Variant(mode, ua.VariantType.String))
    await until(lambda: plc.model.machine(machine).off_shift_mode == mode, what=f"{machine} off-shift {mode}")


def _station_of(plc, machine: str) -> str:
    return next(st.name for st in plc.spec.stations if any(m.name == machine for m in st.machines))


async def test_an_operators_change_is_held_and_audited_then_free_after_the_holdoff(tmp_path):
    async with running_plant(tmp_path / "plant", plant="auto_parts_cell", time_factor=60.0) as (plc, srv):
        settings = cell_settings(srv, tmp_path, job=RB1_ONLY, holdoff_s=HOLDOFF_S)
        clock = Clock()
        ledger = ledger_of(settings, clock)
        audit = AuditLog(settings.data_dir / "audit.jsonl")
        first = await asyncio.to_thread(run_job, settings, RB1_ONLY, audit, ledger=ledger)
        assert first["held"] == {} and first["current"] == {RB1: "idle"}
        known = plc.model.machine("RB1").off_shift_mode
        person = "standby" if known != "standby" else "off"
        await _someone_sets(srv, plc, "RB1", person)

        clock.t += 30
        held = await asyncio.to_thread(run_job, settings, RB1_ONLY, audit, ledger=ledger)
        assert held["outcome"] == "held" and held["written"] == {}
        assert set(held["held"]) == {RB1}
        (reason,) = held["reasons"]
        assert f"{RB1} was changed from {known!r} to {person!r} by someone other than the optimizer" in reason
        assert "on hold until" in reason
        assert plc.model.machine("RB1").off_shift_mode == person, "the person's value stands"

        clock.t += HOLDOFF_S - 1
        still = await asyncio.to_thread(run_job, settings, RB1_ONLY, audit, ledger=ledger)
        assert still["outcome"] == "held" and still["reasons"] == [reason], "the hold runs from when it was seen"
        clock.t += 2
        free = await asyncio.to_thread(run_job, settings, RB1_ONLY, audit, ledger=ledger)
        assert free["held"] == {} and free["outcome"] in ("written", "kept"), free["reasons"]
        assert free["current"] == {RB1: person}
        assert free["before"]["Z"]["n"] == 6 and free["p_value"] is not None, "verified afresh"
    assert [e["outcome"] for e in audit.entries()][1] == "held"
    assert audit.entries()[1]["held"][RB1]["reason"] == reason


async def test_a_held_setpoint_stays_fixed_while_the_others_are_optimised(tmp_path):
    async with running_plant(tmp_path / "plant", plant="auto_parts_cell", time_factor=60.0) as (plc, srv):
        settings = cell_settings(srv, tmp_path, job=HOLD_JOB, holdoff_s=HOLDOFF_S)
        ledger = ledger_of(settings, Clock())
        audit = AuditLog(settings.data_dir / "audit.jsonl")
        first = await asyncio.to_thread(run_job, settings, HOLD_JOB, audit, ledger=ledger)
        assert first["outcome"] == "written", first["reasons"]
        person = "standby" if plc.model.machine("RB1").off_shift_mode != "standby" else "off"
        await _someone_sets(srv, plc, "RB1", person)

        second = await asyncio.to_thread(run_job, settings, HOLD_JOB, audit, ledger=ledger)
        assert set(second["held"]) == {RB1}
        assert RB1 not in second["written"]
        assert f"{RB1}={person}" in second["candidate"], "the search kept the person's value"
        assert plc.model.machine("RB1").off_shift_mode == person
        assert second["current"] == first["current"] | first["written"] | {RB1: person}
        assert second["before"] != first["after"], "the current state was forecast afresh, not taken from run 1"
        assert second["p_value"] != first["p_value"]


class _InterruptedLink(PlantLink):
    """The optimizer's real link; the test's person acts just before its writing session."""

    before_connect: Callable[[], Awaitable[None]] | None = None

    async def connect(self) -> None:
        if self.before_connect is not None:
            await self.before_connect()
        await super().connect()


async def test_a_change_while_the_run_computes_is_not_overwritten(tmp_path):
    async with running_plant(tmp_path / "plant", plant="auto_parts_cell", time_factor=60.0) as (plc, srv):
        settings = cell_settings(srv, tmp_path, job=HOLD_JOB, holdoff_s=HOLDOFF_S)
        loop = asyncio.get_running_loop()
        sessions = []

        def factory(s, spec):
            sessions.append(spec)
            link = _InterruptedLink(s, spec)
            if len(sessions) == 2:  # the session that writes
                async def person() -> None:
                    await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_someone_sets(srv, plc, "RB2", "off"),
                                                                               loop))
                link.before_connect = person
            return link

        audit = AuditLog(settings.data_dir / "audit.jsonl")
        entry = await asyncio.to_thread(run_job, settings, HOLD_JOB, audit, factory, ledger_of(settings, Clock()))
        assert len(sessions) == 2, "a verified candidate reached the writing session"
        assert entry["outcome"] == "held" and entry["written"] == {}
        assert "the setpoints changed while the run was computing (off_shift.RB2 'idle' -> 'off')" in entry["reasons"][0]
        assert set(entry["held"]) == {"off_shift.RB2"}
        assert plc.model.machine("RB2").off_shift_mode == "off"
        assert all(plc.model.machine(m).off_shift_mode == "idle" for m in ("RB1", "QI1", "AGV1", "AGV2"))
