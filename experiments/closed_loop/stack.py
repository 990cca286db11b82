"""One run of the whole stack in this process, driven at fixed plant hours: the PLC (as fast
as the machine goes) and its OPC UA server on a loopback port 0, and for the live arm the twin
mirroring that server over OPC UA and the optimizer in autonomous mode writing through it as
its own engineer user.

Plant time moves only between holds (`PlcRuntime.run_to`). At a cycle hour the plant is held,
the twin is let catch up (every value it mirrors equals what the PLC publishes, waited for
with a deadline), its snapshot is taken there, and one optimisation cycle runs in a worker
thread. The optimizer reads its writes back once plant time has moved on; so while it runs,
each time it has written, the plant is nudged by NUDGE_H (0.036 plant seconds): its writes
take effect within a fraction of a plant second of the cycle hour, however fast the machine."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from plc_sim.model.spec import PlantSpec
from plc_sim.plc.runtime import PlcRuntime

T = TypeVar("T")

OPTIMIZER_USER = "optimizer"
SCAN_S = 0.02
"""Wall seconds a held PLC waits between looks at its hold (the release latency)."""
NUDGE_H = 1e-5
"""Plant hours a nudge moves the plant on while the optimizer reads its writes back."""
NUDGE_S = 0.05
"""Wall seconds between two looks at the PLC's audit while a cycle runs."""
CATCH_UP_S = 120.0
"""Deadline for the twin to mirror the held plant (a guard against a hang, not a speed figure)."""
POLL_S = 0.02
START_S = 60.0
"""Deadline for the server to listen and the twin to subscribe."""


def _resolver(fut: asyncio.Future[str]) -> Callable[[str], None]:
    def resolve(value: str) -> None:
        if not fut.done():
            fut.set_result(value)

    return resolve


class StackStoppedError(RuntimeError):
    """The PLC daemon ended (a signal or a crash) while the run needed it."""


async def _deadline(what: str, timeout: float, predicate: Callable[[], bool]) -> None:
    """Until `predicate()` holds, polled on the event loop; TimeoutError naming `what` after `timeout`."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(POLL_S)


class Stack:
    """`async with Stack(...) as s:` then `await s.run_to(h)` and, with a twin and an
    optimizer, `await s.cycle()` at the hours the design says."""

    def __init__(self, spec: PlantSpec, seed: int, start_h: float, work_dir: Path, live: bool,
                 job: dict[str, Any] | None = None, workers: int = 2, dask: str | None = None) -> None:
        self.spec, self.seed, self.start_h, self.dir, self.live = spec, seed, start_h, work_dir, live
        self.job_doc, self.workers, self.dask = job or {}, workers, dask
        self.plc = PlcRuntime(spec, seed=seed, time_factor=None, scan_s=SCAN_S, start_h=start_h)
        self.plc.held = True
        self.url = ""
        self._daemon: Any = None
        self._task: asyncio.Task[None] | None = None
        self._twin: Any = None
        self._cal: Any = None
        self._settings: Any = None
        self._job: Any = None
        self._audit: Any = None
        self.entries: list[dict[str, Any]] = []

    # --- start and stop ---------------------------------------------------------------------

    async def __aenter__(self) -> Stack:
        from opcua_server.daemon import PlcDaemon
        from opcua_server.settings import ServerSettings

        settings = ServerSettings.load(host="127.0.0.1", port=0, data_dir=self.dir / "server", allow_none_policy=True,
                                       trust_all_clients=True, timestamps="plant")
        self._daemon = PlcDaemon(self.plc, settings)
        password = secrets.token_urlsafe(18)
        if self.live:
            self._daemon.server.users.add(OPTIMIZER_USER, "engineer", password)
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[str] = loop.create_future()
        self._task = asyncio.create_task(self._daemon.serve(on_ready=_resolver(ready)), name="plc-daemon")
        self.url = await self._guard(asyncio.wait_for(asyncio.shield(ready), START_S))
        if self.live:
            await self._start_twin()
            self._optimizer(password)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._twin is not None:
            await self._twin.stop()
        if self._daemon is not None:
            self._daemon.should_exit.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def _start_twin(self) -> None:
        from twin_core.calibration import Calibrator
        from twin_core.settings import TwinSettings
        from twin_core.twin import Twin

        settings = TwinSettings.load(endpoint=self.url, data_dir=self.dir / "twin", plant=self.spec.name,
                                     metrics_port=0)
        self._twin = Twin(settings)
        self._cal = Calibrator(self._twin.spec)
        self._twin.mirror.listeners.append(self._cal.on_value)
        await self._twin.start()
        await self._guard(asyncio.wait_for(self._twin.mirror.ready.wait(), START_S))

    def _optimizer(self, password: str) -> None:
        from optimizer_svc.audit import AuditLog
        from optimizer_svc.settings import JobSettings, OptimizerSettings

        self._job = JobSettings(name="setpoints", problem="setpoints", **self.job_doc)
        self._settings = OptimizerSettings.load(
            server_url=self.url, username=OPTIMIZER_USER, password=password, plant=self.spec.name,
            data_dir=self.dir / "optimizer", twin_dir=self.dir / "twin", mode="autonomous", workers=self.workers,
            dask_scheduler=self.dask,
            jobs=[self._job])
        self._audit = AuditLog(self._settings.data_dir / "audit.jsonl")

    async def _guard(self, aw: Awaitable[T]) -> T:
        """`aw`'s result, or StackStoppedError when the PLC daemon ends first."""
        assert self._task is not None
        job = asyncio.ensure_future(aw)
        await asyncio.wait({job, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if not job.done():
            job.cancel()
            raise StackStoppedError("the PLC and its OPC UA server stopped")
        return job.result()

    # --- plant time -------------------------------------------------------------------------

    async def run_to(self, offset_h: float) -> None:
        """The plant at `start_h + offset_h`, held there."""
        await self._guard(self.plc.run_to(self.start_h + offset_h))

    # --- one optimisation cycle -------------------------------------------------------------

    async def cycle(self) -> dict[str, Any]:
        """At the held plant hour: the twin catches up, its snapshot is taken, one run of the
        job; the run's audit entry."""
        from plc_sim.model.private_files import write_private
        from twin_core.snapshot import take

        assert self._twin is not None and self._settings is not None
        await self._guard(_deadline("the twin to mirror the held plant", CATCH_UP_S, self._caught_up))
        snap = take(self._twin.state, self._twin.spec, self.url, self._cal.estimates(), self._cal.up_hours())
        write_private(self._settings.twin_dir / "snapshot.json", snap.model_dump_json(indent=1))
        entry = await self._optimise()
        entry["plant_h"] = self.plc.calendar_h
        self.entries.append(entry)
        return entry

    def _caught_up(self) -> bool:
        """Every value the twin mirrors equals what the PLC publishes now."""
        values = self._twin.state.values
        for tag in self.plc.table:
            seen = values.get(tag.key)
            if seen is not None and isinstance(tag.value, int | float | str) and seen.value != tag.value:
                return False
        return bool(values)

    async def _optimise(self) -> dict[str, Any]:
        from optimizer_svc.cycle import run_job

        loop = asyncio.get_running_loop()
        run = loop.run_in_executor(None, run_job, self._settings, self._job, self._audit)
        seen = self._writes()
        while not run.done():
            await asyncio.wait({run}, timeout=NUDGE_S)
            if not run.done() and self._writes() > seen:
                await self._guard(self.plc.run_to(self.plc.calendar_h + NUDGE_H))
        return run.result()

    def _writes(self) -> int:
        return sum(1 for r in self.plc.audit if r.user == OPTIMIZER_USER and r.result == "accepted")
