"""The model's fast paths against what they stand for: PlantEnv.run(until=t) against simpy's
own run loop, and the stream iterators against their snapshot state."""

from __future__ import annotations

import numpy as np
import pytest
import simpy

from plc_sim.model.env import PlantEnv
from plc_sim.model.spec import Dist
from plc_sim.model.streams import BLOCK, Stream


def _trace(env: simpy.Environment, until: list[float]) -> list[tuple[str, float]]:
    """Two processes that tie at whole hours, a process that ends, an interrupt, an
    urgent event at a stop time: who runs when, in order, across several runs."""
    log: list[tuple[str, float]] = []

    def ticker(name: str, step: float):
        while True:
            yield env.timeout(step)
            log.append((name, env.now))

    def short():
        yield env.timeout(1.5)
        log.append(("short", env.now))

    def sleeper():
        try:
            yield env.timeout(100.0)
        except simpy.Interrupt:
            log.append(("interrupted", env.now))

    env.process(ticker("a", 1.0))
    env.process(ticker("b", 0.5))
    env.process(short())
    victim = env.process(sleeper())

    def interrupter():
        yield env.timeout(2.0)
        victim.interrupt()

    env.process(interrupter())
    for t in until:
        env.run(until=t)
        log.append(("stop", env.now))
    return log


def test_plant_env_runs_to_a_time_exactly_as_simpy_does():
    stops = [0.7, 2.0, 3.0, 10.0 / 3.0, 5.0]
    assert _trace(PlantEnv(), stops) == _trace(simpy.Environment(), stops)


def test_plant_env_run_refuses_a_time_not_ahead_and_still_runs_to_an_event():
    env = PlantEnv()
    env.run(until=1.0)
    with pytest.raises(ValueError):
        env.run(until=1.0)
    done = env.timeout(2.0, value="v")
    assert env.run(until=done) == "v" and env.now == 3.0


def test_plant_env_crashes_on_a_failed_event_no_one_handled():
    env = PlantEnv()
    env.event().fail(KeyError("boom"))
    with pytest.raises(KeyError):
        env.run(until=1.0)


def test_a_stream_restored_mid_block_draws_what_the_original_draws():
    dist = Dist(dist="normal", mean=2.0, cv=0.3, min=0.5)
    a = Stream(np.random.SeedSequence(7))
    for _ in range(BLOCK - 3):
        a.uniform()
        a.sample(dist)
    a.std_exponential()
    b = Stream(np.random.SeedSequence(99))
    b.restore(a.state())
    assert len(a.state()["buf"]["u"]) == 3
    draws = [(s.uniform(), s.std_normal(), s.std_exponential(), s.sample(dist)) for s in (a, b) for _ in range(2 * BLOCK)]
    assert draws[:2 * BLOCK] == draws[2 * BLOCK:]
