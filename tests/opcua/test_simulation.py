"""The Simulation object over OPC UA with a real asyncua client on loopback: pause, resume,
time factor, step to a plant hour, reset with a seed, and a snapshot saved, run past, loaded
and run again continues identically (events and KPIs). Engineers only; bad arguments get their
status code and change nothing; snapshot files are 0600; an honest client is served after."""

import math
import stat

import pytest
import pytest_asyncio
from asyncua import ua

from tests.support.opcua_harness import NS, running_plant, until
from tests.support.opcua_harness import client as _client
from tests.support.opcua_harness import double as _double
from tests.support.opcua_harness import int32 as _int
from tests.support.opcua_harness import plant_node as _node
from tests.support.opcua_harness import text as _str

pytestmark = pytest.mark.asyncio(loop_scope="module")

SIM = "GearLine/Simulation"
KPIS = ("Zmax", "FG", "D", "B", "R", "energy_kwh", "WIP")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant(tmp_path_factory):
    data = tmp_path_factory.mktemp("simulation")
    async with running_plant(data, time_factor=None, start_h=6.0, held=True) as (plc, srv):
        yield plc, srv, data


async def _call(c, method: str, *args: ua.Variant) -> str:
    idx = await c.get_namespace_index(NS)
    return await _node(c, idx, SIM).call_method(ua.QualifiedName(method, idx), *args)


async def _status(c, method: str, *args: ua.Variant) -> int:
    with pytest.raises(ua.UaStatusCodeError) as e:
        await _call(c, method, *args)
    return e.value.code


async def _read(c, name: str):
    idx = await c.get_namespace_index(NS)
    return await _node(c, idx, f"{SIM}/{name}").read_value()


async def _step(c, hour: float) -> None:
    await _call(c, "StepTo", _double(hour))

    async def there() -> bool:
        return await _read(c, "State") == "paused" and await _read(c, "PlantTime") == hour
    await until(there, what=f"paused at plant hour {hour}")


async def _kpis(c) -> dict[str, float]:
    idx = await c.get_namespace_index(NS)
    return {k: await _node(c, idx, f"GearLine/KPIs/{k}").read_value() for k in KPIS}


async def test_a_loaded_snapshot_continues_identically(plant):
    plc, srv, data = plant
    seen = []
    plc.on_event(seen.append)
    async with _client(srv, "eve") as c:
        await _step(c, 20.0)
        await _call(c, "SaveSnapshot", _str("before"))
        assert stat.S_IMODE((data / "snapshots" / "before.json").stat().st_mode) == 0o600
        seen.clear()
        await _step(c, 60.0)
        first = ([(e.kind, e.source, e.plant_h, e.message) for e in seen if e.kind != "command"], await _kpis(c))
        await _call(c, "LoadSnapshot", _str("before"))

        async def back() -> bool:
            return await _read(c, "PlantTime") == 20.0
        await until(back, what="plant time back at the snapshot")
        seen.clear()
        await _step(c, 60.0)
        second = ([(e.kind, e.source, e.plant_h, e.message) for e in seen if e.kind != "command"], await _kpis(c))
    assert first[0] and first == second


async def test_pause_resume_time_factor_and_reset(plant):
    plc, srv, _ = plant
    async with _client(srv, "eve") as c:
        await _call(c, "SetTimeFactor", _double(3600.0))
        await _call(c, "Resume")

        async def running() -> bool:
            return await _read(c, "State") == "running" and await _read(c, "TimeFactor") == 3600.0
        await until(running, what="running at 3600")
        await _call(c, "Pause")

        async def paused() -> bool:
            return await _read(c, "State") == "paused"
        await until(paused, what="paused")
        stood = plc.calendar_h
        assert await _read(c, "PlantTime") == stood
        await _call(c, "Reset", _int(42))

        async def reset() -> bool:
            return await _read(c, "Seed") == 42 and await _read(c, "PlantTime") == 6.0
        await until(reset, what="reset to the start hour with seed 42")
        assert plc.held and plc.seed == 42
        await _call(c, "SetTimeFactor", _double(0.0))
        assert plc.time_factor is None


@pytest.mark.parametrize("user", ["olga", "vic", None])
async def test_only_engineers_control_the_simulation(plant, user):
    plc, srv, _ = plant
    before = (plc.held, plc.time_factor, plc.calendar_h)
    async with _client(srv, user) as c:
        for method, args in (("Pause", ()), ("Resume", ()), ("SetTimeFactor", (_double(5.0),)),
                             ("StepTo", (_double(1e6),)), ("Reset", (_int(1),)), ("SaveSnapshot", (_str("x"),)),
                             ("LoadSnapshot", (_str("before"),))):
            assert await _status(c, method, *args) == ua.StatusCodes.BadUserAccessDenied
        assert await _read(c, "State") == "paused"
    assert (plc.held, plc.time_factor, plc.calendar_h) == before


@pytest.mark.parametrize(("method", "args", "code"), [
    ("SetTimeFactor", (_double(math.nan),), "BadOutOfRange"),
    ("SetTimeFactor", (_double(math.inf),), "BadOutOfRange"),
    ("SetTimeFactor", (_double(-1.0),), "BadOutOfRange"),
    ("StepTo", (_double(math.nan),), "BadOutOfRange"),
    ("StepTo", (_double(1.0),), "BadOutOfRange"),  # behind plant time
    ("Reset", (_int(-3),), "BadOutOfRange"),
    ("SaveSnapshot", (_str("../escape"),), "BadInvalidArgument"),
    ("SaveSnapshot", (_str(".hidden"),), "BadInvalidArgument"),
    ("SaveSnapshot", (_str("x" * 65),), "BadInvalidArgument"),
    ("LoadSnapshot", (_str("never-saved"),), "BadInvalidArgument"),
    ("LoadSnapshot", (_str("/etc/passwd"),), "BadInvalidArgument"),
    ("StepTo", (_str("10"),), "BadTypeMismatch"),
])
async def test_bad_arguments_are_refused_and_change_nothing(plant, method, args, code):
    plc, srv, data = plant
    before = (plc.held, plc.time_factor, plc.calendar_h, plc.seed)
    async with _client(srv, "eve") as c:
        assert await _status(c, method, *args) == getattr(ua.StatusCodes, code)
    assert (plc.held, plc.time_factor, plc.calendar_h, plc.seed) == before
    assert not (data / "escape.json").exists()
    async with _client(srv, "olga") as c:  # an honest client is still served
        assert await _read(c, "PlantTime") == plc.calendar_h


async def test_max_snapshots_bounds_the_files_but_saving_over_one_is_allowed(tmp_path):
    async with running_plant(tmp_path, time_factor=None, held=True, max_snapshots=2) as (_plc, srv):
        async with _client(srv, "eve") as c:
            await _call(c, "SaveSnapshot", _str("a"))
            await _call(c, "SaveSnapshot", _str("b"))
            assert await _status(c, "SaveSnapshot", _str("c")) == ua.StatusCodes.BadInvalidState
            await _call(c, "SaveSnapshot", _str("a"))
        assert sorted(p.name for p in (tmp_path / "snapshots").iterdir()) == ["a.json", "b.json"]
