"""The PLC refuses a card write that would break a seed constraint (gear line, BDOP,
constraints = "seed": K >= S3, K <= C, C >= S3), with BadOutOfRange and the constraint named,
over OPC UA for the Control tags and the SetKanbans/SetConwip methods; the plant is unchanged
and an honest write is still served. A write that eases a constraint the plant already breaks
is taken (it moves toward feasibility)."""

import pytest
import pytest_asyncio
from asyncua import ua

from plc_sim.model.spec import load_plant
from plc_sim.plc.card_rules import card_write_problem, live_counts
from plc_sim.plc.runtime import PlcRuntime
from tests.support.opcua_harness import NS, running_plant, until
from tests.support.opcua_harness import client as _client
from tests.support.opcua_harness import int32 as _int
from tests.support.opcua_harness import plant_node as _node
from tests.support.opcua_harness import text as _str


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant(tmp_path_factory):
    async with running_plant(tmp_path_factory.mktemp("cards")) as (plc, srv):
        yield plc, srv


def _cards(plc):
    m = plc.model
    return list(m.conwip_cap), [list(p.cap) for p in m.pools if p is not None]


def _refusals(plc):
    got = []
    plc.on_event(lambda ev: got.append(ev.message) if ev.kind == "write_refused" else None)
    return got


async def _refused(plant, act, constraint):
    """`act(client, idx)` fails with BadOutOfRange, changes no card, and the refusal event
    names `constraint`."""
    plc, srv = plant
    before, refused = _cards(plc), _refusals(plc)
    async with _client(srv, "eve") as c:
        idx = await c.get_namespace_index(NS)
        with pytest.raises(ua.UaStatusCodeError) as e:
            await act(c, idx)
        assert e.value.code == ua.StatusCodes.BadOutOfRange
    assert _cards(plc) == before
    assert plc.audit[-1].result == "BadOutOfRange"
    assert any(constraint in msg for msg in refused), refused


@pytest.mark.parametrize("path,value,constraint", [
    ("GearLine/Control/K1_A", 1, "seed constraint K1.A >= S3.A fails (1 < 4)"),
    ("GearLine/Control/K2_B", 9, "seed constraint K2.B <= C.B fails (9 > 8)"),
    ("GearLine/Control/C_A", 3, "seed constraint K1.A <= C.A fails (4 > 3)"),
])
@pytest.mark.asyncio(loop_scope="module")
async def test_a_card_tag_write_that_breaks_a_seed_constraint_is_refused(plant, path, value, constraint):
    await _refused(plant, lambda c, idx: _node(c, idx, path).write_value(_int(value)), constraint)
    assert plant[0].table.get(path).value != value


@pytest.mark.parametrize("method,args,constraint", [
    ("SetKanbans", [_int(1), _str("A"), _int(2)], "seed constraint K1.A >= S3.A"),
    ("SetConwip", [_str("B"), _int(2)], "seed constraint C.B >= S3.B"),
])
@pytest.mark.asyncio(loop_scope="module")
async def test_a_card_method_that_breaks_a_seed_constraint_is_refused(plant, method, args, constraint):
    await _refused(plant, lambda c, idx: _node(c, idx, "GearLine/Control").call_method(
        ua.QualifiedName(method, idx), *args), constraint)


@pytest.mark.asyncio(loop_scope="module")
async def test_an_honest_card_change_is_still_served(plant):
    plc, srv = plant
    async with _client(srv, "eve") as c:
        idx = await c.get_namespace_index(NS)
        await _node(c, idx, "GearLine/Control/C_A").write_value(_int(12))
        await _node(c, idx, "GearLine/Control/K1_A").write_value(_int(10))  # K1 <= C judged on the commanded C
        await until(lambda: plc.model.conwip_cap[0] == 12 and plc.model.pools[0].cap[0] == 10,
                    what="both card writes applied")
        await _node(c, idx, "GearLine/Control").call_method(ua.QualifiedName("SetKanbans", idx), _int(1), _str("A"),
                                                            _int(4))
        await until(lambda: plc.table.get("GearLine/Control/K1_A").value == 4, what="the tag shows the command's count")
        await _node(c, idx, "GearLine/Control/C_A").write_value(_int(8))
        await until(lambda: plc.model.conwip_cap[0] == 8, what="C back to 8")


def test_a_write_toward_feasibility_is_taken():
    spec = load_plant("gear_line")
    plc = PlcRuntime(spec, seed=1, time_factor=None)
    counts = {**live_counts(plc.model), "K1_A": 2, "K2_A": 2}  # both kanbans below S3.A = 4
    assert card_write_problem(plc.model, counts, "K1_A", 3) is None, "eases K1.A >= S3.A"
    assert card_write_problem(plc.model, counts, "C_A", 3) is not None, "C.A >= S3.A is new"


def test_a_plant_without_seed_constraints_takes_any_count():
    spec = load_plant("gear_line")
    spec = spec.model_copy(update={"policy": spec.policy.model_copy(update={"constraints": "cards"})})
    plc = PlcRuntime(spec, seed=1, time_factor=None)
    assert card_write_problem(plc.model, live_counts(plc.model), "K1_A", 1) is None
