"""A refused method call says which input was wrong: InputArgumentResults flags the offending
argument with the call's status code and leaves the others Good (Part 4, Call), whether the
guard refused its type or value or the PLC its range; a honest call is all Good. Called with a
raw CallMethodRequest, as an HMI's generic method dialog does."""

from __future__ import annotations

import math

import pytest
from asyncua import Client, ua

from tests.support.opcua_harness import NS, USERS, running_plant

LINE = "GearLine"
BAD = ua.StatusCodes


def _call(idx: int, folder: str, method: str, *args: ua.Variant) -> ua.CallMethodRequest:
    req = ua.CallMethodRequest()
    req.ObjectId = ua.NodeId(f"Plant/{LINE}/{folder}", idx)
    req.MethodId = ua.NodeId(f"Plant/{LINE}/{folder}/{method}", idx)
    req.InputArguments = list(args)
    return req


def _s(v: object) -> ua.Variant:
    return ua.Variant(v, ua.VariantType.String)


def _i(v: int) -> ua.Variant:
    return ua.Variant(v, ua.VariantType.Int32)


def _d(v: float) -> ua.Variant:
    return ua.Variant(v, ua.VariantType.Double)


@pytest.mark.parametrize(("folder", "method", "args", "code", "flagged"), [
    ("Control", "SetConwip", (_s("A"), _i(1000)), BAD.BadOutOfRange, 1),          # the PLC's range
    ("Control", "SetConwip", (_d(1.0), _i(5)), BAD.BadTypeMismatch, 0),          # the guard's type
    ("Simulation", "StepTo", (_d(math.nan),), BAD.BadOutOfRange, 0),             # not a finite number
    ("Faults", "BreakMachine", (_s("MP1"), _d(-1.0)), BAD.BadOutOfRange, 1),     # a negative duration
])
async def test_the_offending_argument_is_flagged_and_the_others_are_good(tmp_path, folder, method, args, code,
                                                                         flagged):
    async with running_plant(tmp_path) as (_plc, srv):
        c = Client(srv.url, timeout=10)
        c.set_user("eve")
        c.set_password(USERS["eve"][1])
        async with c:
            idx = await c.get_namespace_index(NS)
            [res] = await c.uaclient.call([_call(idx, folder, method, *args)])
            assert res.StatusCode.value == code
            assert [r.value for r in res.InputArgumentResults] == [
                code if i == flagged else BAD.Good for i in range(len(args))]
            [ok] = await c.uaclient.call([_call(idx, "Control", "SetConwip", _s("A"), _i(7))])
            assert ok.StatusCode.is_good() and all(r.is_good() for r in ok.InputArgumentResults)
