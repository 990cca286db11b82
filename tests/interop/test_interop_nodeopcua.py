"""Interop with an independent OPC UA stack: node-opcua (tests/interop/plant_client.mjs)
browses, reads, subscribes, writes and calls methods on a real plant server over loopback.

Needs node and the npm packages of tests/interop (`make test` installs them); a missing
node fails the test instead of skipping it (CI installs node)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.opcua_harness import USERS, running_plant, until

INTEROP = Path(__file__).parent
SCRIPT = INTEROP / "plant_client.mjs"
NODE_TIMEOUT_S = 60.0


def node_executable() -> str:
    """The node binary, with node-opcua installed; fails (never skips) otherwise."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the interop tests need Node.js >= 20")
    if not (INTEROP / "node_modules" / "node-opcua-client").is_dir():
        pytest.fail("node-opcua is not installed: run `make tests/interop/node_modules/.installed`")
    return node


async def run_node_client(node: str, url: str, pki_dir: Path, *mode: str) -> dict[str, Any]:
    """Run the node-opcua client against `url`; its JSON result (fails with its output)."""
    env = {**os.environ, "PLANT_ENGINEER": "eve", "PLANT_ENGINEER_PW": USERS["eve"][1],
           "PLANT_OPERATOR": "olga", "PLANT_OPERATOR_PW": USERS["olga"][1]}
    proc = await asyncio.create_subprocess_exec(node, str(SCRIPT), url, str(pki_dir), *mode, cwd=INTEROP, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=NODE_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        pytest.fail(f"node-opcua client did not finish within {NODE_TIMEOUT_S:.0f} s")
    lines = out.decode().strip().splitlines()
    try:
        result = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        result = {"error": "no JSON result"}
    if proc.returncode != 0 or "error" in result:
        pytest.fail(f"node-opcua client failed (exit {proc.returncode}): {result.get('error')}\n"
                    f"stdout:\n{out.decode()[-4000:]}\nstderr:\n{err.decode()[-4000:]}")
    return result


async def test_node_opcua_client_browses_reads_subscribes_writes_and_calls(tmp_path: Path) -> None:
    node = node_executable()
    async with running_plant(tmp_path / "server", time_factor=60.0) as (plc, srv):
        k1_before = plc.table.get("GearLine/Control/K1_A").value
        r = await run_node_client(node, srv.url, tmp_path / "client-pki")
        idx = r["namespaceIndex"]
        machine_type = f"ns={idx};s=Types/MachineType"

        assert r["machineType"] == {"nodeId": machine_type, "browseName": "MachineType", "namespaceIndex": idx}
        assert set(r["machines"]) == {"MP1", "MP2", "MP3"}
        for name, m in r["machines"].items():
            assert m["path"] == f"Plant/GearLine/{name}/{name}"
            assert m["typeDefinition"] == machine_type
            assert [c["nodeId"] for c in m["conditions"]] == [f"ns={idx};s=Plant/GearLine/{name}/{name}/BreakdownAlarm"]
            assert m["conditions"][0]["typeDefinition"] == f"ns={idx};s=Types/BreakdownAlarmType"
        types = r["objectTypes"]
        assert types["Plant/GearLine/MP1"] == f"ns={idx};s=Types/StationType"
        assert types["Plant/GearLine/MP1/OutputBuffer"] == f"ns={idx};s=Types/BufferType"

        analog = r["analog"]
        assert analog["typeDefinition"] == "ns=0;i=2368"  # AnalogItemType
        assert analog["engineeringUnits"] == {"displayName": "kW", "unitId": 4937729,
                                              "namespaceUri": "http://www.opcfoundation.org/UA/units/un/cefact"}
        assert analog["euRange"] == {"low": 0.0, "high": 11.0}

        sub = r["subscription"]
        assert sub["publishingInterval"] == pytest.approx(100, abs=1)
        assert sub["initial"]["K1_A"] == k1_before
        plant_time = sub["plantTime"]
        assert len(plant_time) >= 5 and plant_time == sorted(plant_time) and len(set(plant_time)) == len(plant_time)
        assert isinstance(sub["initial"]["State"], int) and isinstance(sub["initial"]["PowerKW"], float)

        w = r["writes"]
        assert w["k1Before"] == k1_before
        assert (w["anonymous"], w["setpoint"], w["outOfRange"], w["measurement"]) == (
            "BadUserAccessDenied", "Good", "BadOutOfRange", "BadNotWritable")
        assert w["k1Notified"] == w["k1Target"]

        methods = r["methods"]
        assert methods["anonymous"]["status"] == "BadUserAccessDenied"
        assert methods["operator"]["status"] == "Good"
        assert methods["operator"]["output"] == ["MP1: maintenance starts when the current job ends"]

        # The effects in the plant model, not just in the address space.
        mp1 = plc.model.machine("MP1")
        await until(lambda: plc.model.pools[0].cap[0] == w["k1Target"], 5.0, "K1_A applied to the kanban pool")
        assert mp1.maint_due or mp1.in_maint
        audit = [(a.user, a.action, a.result) for a in plc.audit]
        assert ("eve", "write GearLine/Control/K1_A", "accepted") in audit
        assert ("eve", "GearLine/Control/K1_A", "BadOutOfRange") in audit
        assert ("olga", "maintain(MP1)", "MP1: maintenance starts when the current job ends") in audit


async def test_node_opcua_client_alarms_at_the_server_object_history_paging_and_roles(tmp_path: Path) -> None:
    """Events at the Server object, the standard Acknowledge (twice), history pages of 50 with
    continuation points and an aggregate, TranslateBrowsePath to 0:EURange, and
    UserAccessLevel/UserExecutable by role, as node-opcua sees them."""
    node = node_executable()
    async with running_plant(tmp_path / "server", time_factor=3600.0 * 10) as (plc, srv):
        r = await run_node_client(node, srv.url, tmp_path / "client-pki", "alarms")
        ev = r["events"]
        assert ev["conditionEvents"] >= 2 and ev["plantEvents"] >= 1 and ev["plantTimeInEvents"]
        assert ev["acknowledged"]["first"] == "Good"
        assert ev["acknowledged"]["again"] in ("BadConditionBranchAlreadyAcked", "BadEventIdUnknown")
        assert any(a.action.startswith("acknowledge") and a.user == "olga" for a in plc.audit)

        h = r["history"]
        assert h["firstPageValues"] == 50 and h["pages"] >= 2 and h["values"] > 50 and h["unique"] and h["sorted"]
        agg = r["aggregate"]
        assert agg["status"] == ["Good", "Good"] and [len(v) for v in agg["values"]] == [1, 1]
        average, maximum = (v[0]["value"] for v in agg["values"])
        assert 0.0 <= average <= maximum <= 11.0

        idx = srv.nodes.idx
        assert r["translate"] == {"status": "Good", "targets": [f"ns={idx};s=Plant/GearLine/MP1/MP1/PowerKW/EURange"]}
        write = 0x02
        access = r["access"]
        assert not access["anonymous"]["userAccessLevel"] & write and not access["anonymous"]["userExecutable"]
        assert not access["operator"]["userAccessLevel"] & write and access["operator"]["userExecutable"]
        assert access["engineer"]["userAccessLevel"] & write and access["engineer"]["userExecutable"]
