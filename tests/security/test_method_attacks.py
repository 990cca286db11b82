"""Attacks on methods (issue 17, item 2): every method, the standard ones of conditions
included, checks the object, the caller's role and its arguments before it acts; nothing a
client sends produces a traceback; a flood of refused calls leaves a bounded log; an honest
operator's Acknowledge still works."""

import logging
import math

import pytest
import pytest_asyncio
from asyncua import Client, ua

from opcua_server import refusals
from opcua_server.refusals import RateLimitFilter, RefusalLimiter
from tests.support.opcua_harness import NS, client, running_plant, until

pytestmark = pytest.mark.asyncio(loop_scope="module")

ID = ua.ObjectIds
ACK = ua.NodeId(ID.AcknowledgeableConditionType_Acknowledge)
SERVER = ua.NodeId(ID.Server)
GUARD_CODES = {"BadUserAccessDenied", "BadArgumentsMissing", "BadTooManyArguments", "BadTypeMismatch",
               "BadInvalidArgument", "BadMethodInvalid"}
"""What the method guard answers itself (each refusal logged or counted)."""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant(tmp_path_factory):
    async with running_plant(tmp_path_factory.mktemp("methods"), refusal_log_interval_s=3600.0) as (plc, srv):
        yield plc, srv


def _bytes(b: bytes) -> ua.Variant:
    return ua.Variant(b, ua.VariantType.ByteString)


def _text(t: str) -> ua.Variant:
    return ua.Variant(ua.LocalizedText(t), ua.VariantType.LocalizedText)


async def _call(c: Client, obj: ua.NodeId, method: ua.NodeId, *args: ua.Variant) -> int:
    """The status code of one call (0 for Good)."""
    req = ua.CallMethodRequest(ObjectId=obj, MethodId=method, InputArguments=list(args))
    return (await c.uaclient.call([req]))[0].StatusCode.value


def _cond(idx: int, machine: str = "MP1") -> ua.NodeId:
    return ua.NodeId(f"Plant/GearLine/{machine}/{machine}/BreakdownAlarm", idx)


def _hostile(idx: int) -> list[tuple[ua.NodeId, ua.NodeId, list[ua.Variant], str]]:
    """(object, method, arguments, the status an operator gets)."""
    cond = _cond(idx)
    return [
        (cond, ACK, [], "BadArgumentsMissing"),
        (cond, ACK, [_bytes(b"x"), _text("c"), _text("one too many")], "BadTooManyArguments"),
        (cond, ACK, [ua.Variant(7, ua.VariantType.Int32), _text("c")], "BadTypeMismatch"),
        (cond, ACK, [_bytes(b"x"), ua.Variant("plain string", ua.VariantType.String)], "BadTypeMismatch"),
        (cond, ACK, [ua.Variant([b"x"], ua.VariantType.ByteString), _text("c")], "BadTypeMismatch"),
        (cond, ACK, [_bytes(b"x"), _text("x" * 100_000)], "BadInvalidArgument"),
        (cond, ACK, [_bytes(b"not an event of it"), _text("c")], "BadEventIdUnknown"),
        (SERVER, ACK, [_bytes(b"x"), _text("c")], "BadMethodInvalid"),
        (cond, ua.NodeId(ID.ConditionType_Enable), [], "BadConditionAlreadyEnabled"),
        (cond, ua.NodeId(ID.ConditionType_Enable), [_text("x")], "BadTooManyArguments"),
        (cond, ua.NodeId(ID.ConditionType_Disable), [], "BadNotSupported"),
        (cond, ua.NodeId(ID.ConditionType_AddComment), [_bytes(b"unknown"), _text("c")], "BadEventIdUnknown"),
        (cond, ua.NodeId(ID.AcknowledgeableConditionType_Confirm), [_bytes(b"unknown")], "BadArgumentsMissing"),
        (ua.NodeId(ID.ConditionType), ua.NodeId(ID.ConditionType_ConditionRefresh),
         [ua.Variant(math.nan, ua.VariantType.Double)], "BadTypeMismatch"),
        (ua.NodeId(ID.ConditionType), ua.NodeId(ID.ConditionType_ConditionRefresh),
         [ua.Variant(987_654, ua.VariantType.UInt32)], "BadSubscriptionIdInvalid"),
        (SERVER, ua.NodeId(ID.Server_GetMonitoredItems), [ua.Variant(1.5, ua.VariantType.Double)], "BadTypeMismatch"),
        (SERVER, ua.NodeId(ID.Server_GetMonitoredItems), [ua.Variant(1, ua.VariantType.UInt32)], "BadNotImplemented"),
        (SERVER, ua.NodeId(ID.Server_ResendData), [], "BadArgumentsMissing"),
    ]


async def test_condition_methods_check_role_before_arguments(plant):
    """Anonymous callers are refused before their arguments are looked at; an operator's
    bad arguments get their own status code."""
    _, srv = plant
    async with client(srv) as anon, client(srv, "olga") as olga:
        idx = await anon.get_namespace_index(NS)
        for method in (ACK, ua.NodeId(ID.ConditionType_Enable), ua.NodeId(ID.ConditionType_AddComment)):
            assert ua.StatusCode(await _call(anon, _cond(idx), method)).name == "BadUserAccessDenied"
        for obj, method, args, expected in _hostile(idx):
            assert ua.StatusCode(await _call(olga, obj, method, *args)).name == expected, (method, args[:1])


async def test_condition_refresh_of_another_sessions_subscription_is_refused(plant):
    _, srv = plant
    async with client(srv, "olga") as owner, client(srv) as other:
        sub = await owner.create_subscription(100, None)
        refresh = (ua.NodeId(ID.ConditionType), ua.NodeId(ID.ConditionType_ConditionRefresh))
        sid = ua.Variant(sub.subscription_id, ua.VariantType.UInt32)
        assert ua.StatusCode(await _call(other, *refresh, sid)).name == "BadSubscriptionIdInvalid"
        assert await _call(owner, *refresh, sid) == 0


async def test_a_method_that_raises_is_one_line_and_bad_internal_error(plant, caplog):
    _, srv = plant

    async def broken(parent, *args):
        raise TypeError("a bug in the handler")
    objects = srv.server.nodes.objects
    method = await objects.add_method(ua.NodeId("Test/Broken", 2), ua.QualifiedName("Broken", 2), broken, [], [])
    assert srv.methods.install() == 1, "only the new method is wrapped"
    async with client(srv) as c:
        with caplog.at_level(logging.WARNING):
            codes = {await _call(c, objects.nodeid, method.nodeid) for _ in range(50)}
    assert codes == {ua.StatusCodes.BadInternalError}
    lines = [r for r in caplog.records if "Broken" in r.getMessage()]
    assert len(lines) == 1 and "TypeError: a bug in the handler" in lines[0].getMessage()
    assert not any(r.exc_info for r in caplog.records), "no traceback"


async def test_a_flood_of_hostile_calls_leaves_a_bounded_log_and_the_operator_acknowledges(plant, caplog):
    plc, srv = plant
    async with client(srv) as anon, client(srv, "olga") as olga:
        idx = await olga.get_namespace_index(NS)
        calls = _hostile(idx)
        before = refusals.LIMITER.suppressed
        caplog.set_level(logging.WARNING)  # as the daemons log: asyncua at WARNING, the plant at INFO
        caplog.set_level(logging.INFO, logger="opcua_server")
        caplog.set_level(logging.INFO, logger="plc_sim")
        codes = [await _call(who, obj, method, *args)
                 for _ in range(40) for obj, method, args, _ in calls for who in (anon, olga)]
        by_guard = sum(ua.StatusCode(code).name in GUARD_CODES for code in codes)
        text = "".join(r.getMessage() for r in caplog.records)
        assert not any(r.exc_info for r in caplog.records), "no traceback"
        assert len(caplog.records) <= 10 and len(text) < 5_000, [r.getMessage()[:120] for r in caplog.records]
        assert by_guard > 1000 and refusals.LIMITER.suppressed - before >= by_guard - 10, "left out, but counted"
        await _acknowledge_a_breakdown(plc, olga, idx)


async def _acknowledge_a_breakdown(plc, c: Client, idx: int) -> None:
    """The honest operator: the standard Acknowledge with the condition's EventId works."""
    def down():
        return next((m for m in ("MP1", "MP2", "MP3") if plc.alarms.active(m) and not plc.alarms.acked(m)), None)
    await until(down, timeout=60, what="an unacknowledged breakdown")
    machine = down()
    cond = c.get_node(_cond(idx, machine))

    async def event_id():
        return await (await cond.get_child("0:EventId")).read_value()
    await until(event_id, what="the condition's EventId")
    assert await _call(c, cond.nodeid, ACK, _bytes(await event_id()), _text("on my way")) == 0
    assert plc.alarms.acked(machine)


async def test_the_limiter_logs_one_line_per_interval_with_the_count():
    now = [0.0]
    limiter = RefusalLimiter(10.0, clock=lambda: now[0])
    log = logging.getLogger("tests.refusals")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)
    handler = Keep()
    log.addHandler(handler)
    log.addFilter(RateLimitFilter(limiter))
    try:
        for _ in range(100):
            log.warning("refused %s", "x")
        now[0] = 10.0
        log.warning("refused %s", "y")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
    assert [r.getMessage() for r in records] == [
        "refused x", "refused y (and 99 more like it left out of the log)", "failed [ValueError: boom]"]
    assert not records[-1].exc_info and limiter.suppressed == 99
