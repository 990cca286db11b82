"""The Recommendations folder over OPC UA with a real asyncua client on loopback: an engineer
recommends, a viewer can neither recommend nor apply, an operator applies and the plant takes
every change; wrong types, huge texts, NaN and unknown tags are refused with their status
code and change nothing; an honest client is served afterwards."""

import json

import pytest
import pytest_asyncio
from asyncua import ua

from plc_sim.plc.checks import MAX_TEXT_CHARS
from tests.support.opcua_harness import NS, call_in, refusal_in, running_plant, until
from tests.support.opcua_harness import client as _client
from tests.support.opcua_harness import int32 as _int
from tests.support.opcua_harness import plant_node as _node
from tests.support.opcua_harness import text as _str

pytestmark = pytest.mark.asyncio(loop_scope="module")

GEAR = "GearLine/Control"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant(tmp_path_factory):
    async with running_plant(tmp_path_factory.mktemp("recommendations")) as (plc, srv):
        yield plc, srv


async def _call(c, method: str, *args: ua.Variant):
    return await call_in(c, "GearLine/Recommendations", method, *args)


async def _status(c, method: str, *args: ua.Variant) -> int:
    return await refusal_in(c, "GearLine/Recommendations", method, *args)


async def test_an_operator_applies_a_recommendation_of_an_engineer(plant):
    plc, srv = plant
    changes = {f"{GEAR}/C_A": 14, f"{GEAR}/K2_B": 5}
    async with _client(srv, "eve") as c:
        out = await _call(c, "Recommend", _str(json.dumps(changes)), _str("Zmax +3 % (p=0.01)"))
        rid = int(out.split()[1].rstrip(":"))
    for who in ("vic", None):  # a viewer, an anonymous client
        async with _client(srv, who) as c:
            assert await _status(c, "Apply", _int(rid)) == ua.StatusCodes.BadUserAccessDenied
            assert await _status(c, "Dismiss", _int(rid)) == ua.StatusCodes.BadUserAccessDenied
            assert await _status(c, "Recommend", _str(json.dumps(changes)), _str("")) == \
                ua.StatusCodes.BadUserAccessDenied
    assert plc.model.conwip_cap[0] != 14
    async with _client(srv, "olga") as c:
        idx = await c.get_namespace_index(NS)
        shown = json.loads(await _node(c, idx, "GearLine/Recommendations/Open").read_value())
        assert [(r["id"], r["changes"]) for r in shown] == [(rid, changes)]
        await _call(c, "Apply", _int(rid))
        await until(lambda: plc.model.conwip_cap[0] == 14 and plc.model.pools[1].cap[1] == 5,
                    what="the recommendation applied")
        assert await _node(c, idx, f"{GEAR}/C_A").read_value() == 14
        assert await _status(c, "Apply", _int(rid)) == ua.StatusCodes.BadInvalidState
        assert json.loads(await _node(c, idx, "GearLine/Recommendations/Last").read_value())["state"] == "applied"


@pytest.mark.parametrize(("args", "code"), [
    ((_int(1), _str("")), "BadTypeMismatch"),
    ((_str("{}"),), "BadArgumentsMissing"),
    ((_str(json.dumps({f"{GEAR}/C_A": "many"})), _str("")), "BadTypeMismatch"),
    ((_str('{"GearLine/Control/C_A": NaN}'), _str("")), "BadTypeMismatch"),
    ((_str('{"GearLine/MP1/MP1/MaintenanceInterval": NaN}'), _str("")), "BadOutOfRange"),
    ((_str('{"GearLine/MP1/MP1/MaintenanceInterval": -Infinity}'), _str("")), "BadOutOfRange"),
    ((_str(json.dumps({f"{GEAR}/C_A": 10**6})), _str("")), "BadOutOfRange"),
    ((_str(json.dumps({"GearLine/KPIs/Zmax": 1.0})), _str("")), "BadNotWritable"),
    ((_str(json.dumps({"../../etc": 1})), _str("")), "BadNodeIdUnknown"),
    ((_str("x" * (MAX_TEXT_CHARS * 4)), _str("")), "BadOutOfRange"),
    ((_str(json.dumps({f"{GEAR}/C_A": 3})), _str("y" * 10_000)), "BadOutOfRange"),
])
async def test_a_bad_recommendation_is_refused_with_its_code(plant, args, code):
    plc, srv = plant
    before = plc.recommendations.last_id
    async with _client(srv, "eve") as c:
        assert await _status(c, "Recommend", *args) == getattr(ua.StatusCodes, code)
    assert plc.recommendations.last_id == before
    async with _client(srv, "olga") as c:  # an honest client is still served
        assert await _status(c, "Apply", _int(10_000)) == ua.StatusCodes.BadNodeIdUnknown
