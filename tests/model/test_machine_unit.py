"""A machine on its own: no plant file, no line model, only the host protocol it needs."""

from __future__ import annotations

from collections import deque

import pytest
import simpy

from plc_sim.model.counters import LineCounters
from plc_sim.model.env import PlantEnv
from plc_sim.model.machine import Machine, MachinePhysics
from plc_sim.model.spec import Dist, Failures, Maintenance, Power
from plc_sim.model.streams import Streams
from plc_sim.model.vocab import MachineState


class Host:
    """The smallest line a machine can live in: one station, jobs put in by hand."""

    def __init__(self) -> None:
        self.env = PlantEnv()
        self.timers: dict[str, simpy.Event] = {}
        self.jobs: list[deque[int]] = [deque()]
        self.machines: list[list[Machine]] = [[]]
        self.count = LineCounters()
        self.power_now = 0.0
        self.peak_kw = 0.0
        self.meter = self
        self.done: list[tuple[float, int]] = []
        self.events: list[tuple[float, str]] = []
        self.taken: list[tuple[float, int]] = []

    def timer(self, key: str, t: float) -> simpy.Event:
        ev = self.timers[key] = self.env.at(t)
        return ev

    def dispatch(self, s: int) -> None:
        for m in self.machines[s]:
            m.kick()

    def complete(self, m: Machine, p: int) -> None:
        m.count_good(p)
        self.done.append((self.env.now, p))

    def on_machine_event(self, m: Machine, kind: str) -> None:
        self.events.append((self.env.now, kind))

    def take_hook(self, s: int):
        return lambda p: self.taken.append((self.env.now, p))


def const(h: float) -> Dist:
    return Dist(dist="constant", mean=h)


def machine(host: Host, ttf_h: float = 1e9, repair_h: float = 1.0) -> Machine:
    physics = MachinePhysics(
        failures=Failures(time_to_failure=const(ttf_h), repair=const(repair_h)),
        maintenance=Maintenance(interval_h=1e9, duration=const(1.0)),
        power=Power(processing=10.0, idle=2.0, down=0.5))
    m = Machine(host, 0, "M1", physics, [const(1.0), const(2.0)], Streams(0, ["M1." + k for k in
                ("processing", "failures", "maintenance", "defects", "sensor")]), first_maint=1e9)
    host.machines[0].append(m)
    for key, start in m.processes().items():
        proc = host.env.process(start())
        if key.endswith(".run"):
            m.proc = proc
    return m


def test_a_machine_works_its_queue_and_books_time_and_energy():
    host = Host()
    m = machine(host)
    host.jobs[0].extend([0, 1, 0])
    m.kick()
    host.env.run(until=10.0)
    assert host.done == [(1.0, 0), (3.0, 1), (4.0, 0)]
    assert host.taken == [(0.0, 0), (1.0, 1), (3.0, 0)], "the line hears of each part as the machine starts it"
    assert m.state is MachineState.IDLE and m.good == 3 and m.ideal_h == pytest.approx(4.0)
    t = m.time_in(10.0)
    assert t[MachineState.PROCESSING] == pytest.approx(4.0) and t[MachineState.IDLE] == pytest.approx(6.0)
    assert m.energy_now(10.0) == pytest.approx(4.0 * 10.0 + 6.0 * 2.0)


def test_a_breakdown_interrupts_the_job_which_resumes_after_the_repair():
    host = Host()
    m = machine(host, ttf_h=1.5, repair_h=1.0)
    host.jobs[0].append(1)
    m.kick()
    host.env.run(until=1.6)
    assert m.state is MachineState.DOWN and host.events == [(1.5, "breakdown")]
    host.env.run(until=3.5)
    assert host.events == [(1.5, "breakdown"), (2.5, "repair")]
    assert host.done == [(3.0, 1)], "2 h of work: 1.5 h, a 1 h repair, the last 0.5 h"


def test_snapshot_of_a_machine_is_its_record():
    host = Host()
    m = machine(host)
    host.jobs[0].extend([1, 1])
    m.kick()
    host.env.run(until=2.5)
    d = m.state_dict()
    assert d["job"] == 1 and d["state"] == "processing" and d["done"] == 1 and d["waiting"] is False
    other = machine(Host())
    other.load_state(d)
    assert other.state is MachineState.PROCESSING and other.rec.acc == m.rec.acc and other.rec.job_end == m.rec.job_end
