"""Inputs over OPC UA, with a real asyncua client on loopback: a Good write is readable at
once; NaN, infinity, huge values and wrong types get their status code and change nothing;
methods declare and check their arguments; an honest client keeps being served."""

import math

import pytest
import pytest_asyncio
from asyncua import ua

from plc_sim.plc.checks import MAX_TEXT_CHARS
from tests.support.opcua_harness import NS, running_plant, until
from tests.support.opcua_harness import client as _client
from tests.support.opcua_harness import double as _double
from tests.support.opcua_harness import int32 as _int
from tests.support.opcua_harness import plant_node as _node
from tests.support.opcua_harness import text as _str

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant(tmp_path_factory):
    async with running_plant(tmp_path_factory.mktemp("inputs")) as (plc, srv):
        yield plc, srv




async def test_a_good_write_is_readable_at_once(plant):
    plc, srv = plant
    async with _client(srv, "eve") as c, _client(srv, "vic") as viewer:
        idx = await c.get_namespace_index(NS)
        for value in (7, 9, 4):
            await _node(c, idx, "GearLine/Control/C_B").write_value(_int(value))
            assert await _node(c, idx, "GearLine/Control/C_B").read_value() == value
            assert await _node(viewer, idx, "GearLine/Control/C_B").read_value() == value
        await _node(c, idx, "GearLine/MP2/MP2/MaintenanceInterval").write_value(_double(123.5))
        assert await _node(c, idx, "GearLine/MP2/MP2/MaintenanceInterval").read_value() == 123.5
        await until(lambda: plc.model.conwip_cap[1] == 4 and plc.model.machine("MP2").maint_spec.interval_h == 123.5,
                    what="the writes applied to the model")
        assert await _node(c, idx, "GearLine/Control/C_B").read_value() == 4, "no flip back after the apply"
        results = [(a.action, a.result) for a in plc.audit if a.user == "eve"]
        assert ("write GearLine/Control/C_B", "applied") in results


async def test_a_subscriber_sees_the_written_value(plant):
    _, srv = plant
    async with _client(srv, "eve") as c:
        idx = await c.get_namespace_index(NS)
        got = []

        class Handler:
            def datachange_notification(self, node, val, data):
                got.append(val)

        sub = await c.create_subscription(20, Handler())
        node = _node(c, idx, "GearLine/Control/C_B")
        await sub.subscribe_data_change(node)
        await until(lambda: got, what="the initial value")
        await node.write_value(_int(8))
        await until(lambda: 8 in got, what="the notification of the written value")
        await sub.delete()


BAD_WRITES = [
    ("GearLine/MP1/MP1/MaintenanceInterval", _double(math.nan), "BadOutOfRange"),
    ("GearLine/MP1/MP1/MaintenanceInterval", _double(math.inf), "BadOutOfRange"),
    ("GearLine/MP1/MP1/MaintenanceInterval", _double(-math.inf), "BadOutOfRange"),
    ("GearLine/MP1/MP1/MaintenanceInterval", _double(1e300), "BadOutOfRange"),
    ("GearLine/MP1/MP1/MaintenanceInterval", _int(100), "BadTypeMismatch"),
    ("GearLine/MP1/MP1/MaintenanceInterval", _str("100"), "BadTypeMismatch"),
    ("GearLine/MP1/MP1/MaintenancePlan", _str("[[NaN, 2]]"), "BadOutOfRange"),
    ("GearLine/MP1/MP1/MaintenancePlan", _str("[[10, Infinity]]"), "BadOutOfRange"),
    ("GearLine/MP1/MP1/MaintenancePlan", _str("[[10, 2]]" + " " * MAX_TEXT_CHARS), "BadOutOfRange"),
    ("GearLine/MP1/MP1/MaintenancePolicy", _str("x" * 200_000), "BadOutOfRange"),
    ("GearLine/Control/K1_A", _int(2_147_483_647), "BadOutOfRange"),
    ("GearLine/Control/K1_A", _int(-2_147_483_648), "BadOutOfRange"),
    ("GearLine/Control/K1_A", _double(math.inf), "BadTypeMismatch"),
    ("GearLine/Control/K1_A", ua.Variant(5, ua.VariantType.Int64), "BadTypeMismatch"),
    ("GearLine/Control/C_A", _str("12"), "BadTypeMismatch"),
]


@pytest.mark.parametrize("path,variant,code", BAD_WRITES)
async def test_bad_values_get_their_status_code_and_change_nothing(plant, path, variant, code):
    plc, srv = plant
    key = path
    before = plc.table.get(key).value
    async with _client(srv, "eve") as c:
        idx = await c.get_namespace_index(NS)
        node = _node(c, idx, path)
        with pytest.raises(ua.UaStatusCodeError) as e:
            await node.write_value(variant)
        assert e.value.code == getattr(ua.StatusCodes, code)
        assert await node.read_value() == before
    assert plc.table.get(key).value == before
    assert plc.audit[-1].result == code and len(str(plc.audit[-1].value)) < 300


METHOD_CALLS = [
    ("SetConwip", [_str("A"), _str("12")], "BadTypeMismatch"),
    ("SetConwip", [_str("A"), _double(math.inf)], "BadTypeMismatch"),
    ("SetConwip", [_str("A"), _double(12.0)], "BadTypeMismatch"),
    ("SetConwip", [_str("A"), _int(2_147_483_647)], "BadOutOfRange"),
    ("SetConwip", [_str("A"), _int(0)], "BadOutOfRange"),
    ("SetConwip", [_str("Z"), _int(12)], "BadOutOfRange"),
    ("SetConwip", [_str("A" * (MAX_TEXT_CHARS + 1)), _int(12)], "BadOutOfRange"),
    ("SetConwip", [_str("A")], "BadArgumentsMissing"),
    ("SetConwip", [], "BadArgumentsMissing"),
    ("SetConwip", [_str("A"), _int(12), _int(1)], "BadTooManyArguments"),
    ("SetKanbans", [_int(1), _str("A"), _int(2_147_483_647)], "BadOutOfRange"),
    ("SetKanbans", [_int(-1), _str("A"), _int(3)], "BadOutOfRange"),
    ("SetKanbans", [_str("1"), _str("A"), _int(3)], "BadTypeMismatch"),
    ("SetKanbans", [_int(1), _str("A"), _double(math.nan)], "BadTypeMismatch"),
]


@pytest.mark.parametrize("method,args,code", METHOD_CALLS)
async def test_bad_method_arguments_get_their_status_code_and_change_nothing(plant, method, args, code):
    plc, srv = plant
    m = plc.model
    before = (list(m.conwip_cap), [list(p.cap) for p in m.pools if p is not None])
    async with _client(srv, "eve") as c:
        idx = await c.get_namespace_index(NS)
        with pytest.raises(ua.UaStatusCodeError) as e:
            await _node(c, idx, "GearLine/Control").call_method(ua.QualifiedName(method, idx), *args)
        assert e.value.code == getattr(ua.StatusCodes, code)
    assert (list(m.conwip_cap), [list(p.cap) for p in m.pools if p is not None]) == before
    assert plc.audit[-1].result == code


async def test_a_machine_method_refuses_arguments_it_does_not_take(plant):
    plc, srv = plant
    async with _client(srv, "olga") as c:
        idx = await c.get_namespace_index(NS)
        with pytest.raises(ua.UaStatusCodeError) as e:
            await _node(c, idx, "GearLine/MP1/MP1").call_method(ua.QualifiedName("Stop", idx), _int(1))
        assert e.value.code == ua.StatusCodes.BadTooManyArguments
    assert not plc.model.machine("MP1").stopped


async def test_methods_declare_named_typed_described_arguments(plant):
    _, srv = plant
    async with _client(srv) as c:
        idx = await c.get_namespace_index(NS)
        method = _node(c, idx, "GearLine/Control/SetKanbans")
        inputs = await (await method.get_child("0:InputArguments")).read_value()
        outputs = await (await method.get_child("0:OutputArguments")).read_value()
        assert [(a.Name, a.DataType) for a in inputs] == [
            ("stage", ua.NodeId(ua.ObjectIds.Int32)), ("product", ua.NodeId(ua.ObjectIds.String)),
            ("value", ua.NodeId(ua.ObjectIds.Int32))]
        assert all(a.Description.Text for a in inputs) and "1..999" in inputs[2].Description.Text
        assert [(a.Name, a.DataType) for a in outputs] == [("Result", ua.NodeId(ua.ObjectIds.String))]
        start = _node(c, idx, "GearLine/MP3/MP3/Start")
        assert (await start.read_description()).Text
        assert [a.Name for a in await (await start.get_child("0:OutputArguments")).read_value()] == ["Result"]


async def test_an_honest_client_is_served_through_an_attack(plant):
    """One client sends garbage writes and calls while another keeps writing and reading."""
    plc, srv = plant
    async with _client(srv, "eve") as attacker, _client(srv, "eve") as honest:
        idx = await honest.get_namespace_index(NS)
        bad = _node(attacker, idx, "GearLine/MP3/MP3/MaintenanceInterval")
        control = _node(attacker, idx, "GearLine/Control")
        good = _node(honest, idx, "GearLine/Control/K2_A")
        for i in range(20):
            with pytest.raises(ua.UaStatusCodeError) as e:
                await bad.write_value(_double(math.nan if i % 2 else math.inf))
            assert e.value.code == ua.StatusCodes.BadOutOfRange
            with pytest.raises(ua.UaStatusCodeError) as e:
                await control.call_method(ua.QualifiedName("SetConwip", idx), _str("A"), _int(30_000_000))
            assert e.value.code == ua.StatusCodes.BadOutOfRange
            await good.write_value(_int(4 + i % 5))
            assert await good.read_value() == 4 + i % 5
        await until(lambda: plc.model.pools[1].cap[0] == 4 + 19 % 5, what="the honest write applied")
