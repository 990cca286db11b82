"""The pytest plugin as its users meet it: the `plant_server` fixture in a test of their own
client, configured by the `plant` marker; faults and plant time driven from the test; the
secure profile with the users and client certificate it made; and, through pytester, a test
file written as the README shows, run by pytest in a process of its own (the entry point
alone registers the plugin there)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from asyncua import Client, ua
from asyncua.ua.uaerrors import UaStatusCodeError

from plant_pytest import PlantUnderTest
from plc_sim.model.vocab import MACHINE_STATUSES

NS = "urn:plant-twin:plant"
STATE = "Plant/GearLine/MP2/MP2/State"
README = Path(__file__).parents[2] / "README.md"


async def _state(c: Client) -> object:
    idx = await c.get_namespace_index(NS)
    return await c.get_node(ua.NodeId(STATE, idx)).read_value()


async def _until_state(c: Client, value: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while await _state(c) != MACHINE_STATUSES.index(value):  # MachineStateEnum
        assert loop.time() < deadline, f"{STATE} never became {value}"
        await asyncio.sleep(0.05)


@pytest.mark.plant(seed=7, time_factor=3600)
async def test_a_client_sees_the_breakdown_the_test_injects(plant_server: PlantUnderTest) -> None:
    assert plant_server.url.startswith("opc.tcp://127.0.0.1:") and plant_server.seed == 7
    async with Client(plant_server.url, timeout=10) as c:
        answer = plant_server.break_machine("MP2", hours=500)
        assert "active until plant hour" in answer
        await _until_state(c, "down")


@pytest.mark.plant(time_factor=None)
async def test_pause_and_step_to_hold_plant_time_where_the_test_says(plant_server: PlantUnderTest) -> None:
    plant_server.pause()
    target = plant_server.plant_hour() + 24.0
    plant_server.step_to(target)
    assert plant_server.plant_hour() == pytest.approx(target)
    with pytest.raises(UaStatusCodeError) as e:
        plant_server.step_to(target - 1.0)  # plant time does not go back
    assert e.value.code == ua.StatusCodes.BadOutOfRange
    with pytest.raises(TypeError, match="takes hour"):
        plant_server.call("StepTo", hours=1.0)


@pytest.mark.plant(profile="secure")
async def test_the_secure_profile_serves_its_users_with_the_client_certificate_it_made(
        plant_server: PlantUnderTest) -> None:
    cert, key = plant_server.client_certificate, plant_server.client_key
    assert cert is not None and key is not None
    operator = plant_server.users["operator"]
    c = Client(plant_server.url, timeout=10)
    c.application_uri = plant_server.client_application_uri
    c.set_user(operator.name)
    c.set_password(operator.password)
    await c.set_security_string(f"Basic256Sha256,SignAndEncrypt,{cert},{key}")
    async with c:
        assert await _state(c) is not None
    with pytest.raises(UaStatusCodeError) as e:  # the None policy is not offered
        async with Client(plant_server.url, timeout=10) as plain:
            await _state(plain)
    assert e.value.code == ua.StatusCodes.BadSecurityPolicyRejected


def test_a_fault_script_next_to_the_test_is_armed(plant_server_factory, tmp_path: Path) -> None:
    script = tmp_path / "faults.toml"
    script.write_text('[[fault]]\nat_h = 1.0\nkind = "break_machine"\nmachine = "MP1"\nduration_h = 2.0\n')
    plant = plant_server_factory(faults=script, time_factor=None)
    assert plant.url
    bad = tmp_path / "bad.toml"
    bad.write_text('[[fault]]\nat_h = 1.0\nkind = "melt"\n')
    with pytest.raises(ValueError, match="kind"):
        plant_server_factory(faults=bad)


def _readme_example() -> str:
    text = README.read_text()
    start = text.index("```python\n", text.index("## Testing your client against the plant")) + len("```python\n")
    return text[start:text.index("```", start)]


def test_the_readme_example_runs_as_a_users_test_file(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_my_client=_readme_example())
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "-o", "asyncio_mode=auto")
    result.assert_outcomes(passed=1)
