"""Who may do what: role-aware writes and method calls on top of asyncua's internal server.

asyncua checks only its own coarse roles; plant tags need the PLC's rules and OPC UA status
codes (BadNotWritable, BadTypeMismatch, BadOutOfRange, BadUserAccessDenied). Writes to
plant nodes go to the PLC, which validates them and applies them at its next scan; method
calls see the calling session's user through a context variable. The rules are here; the
asyncua classes that apply them are in `_asyncua.access`."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from asyncua import ua
from asyncua.crypto.permission_rules import ADMIN_TYPES, USER_TYPES, User, UserRole

from plc_sim.plc.clock import wall_clock
from plc_sim.plc.tags import Rejected

CALLER: ContextVar[User | None] = ContextVar("CALLER", default=None)

_UA_TYPES = ("Double", "Int32", "Boolean", "String", "DateTime")
"""The PLC's data types, named as OPC UA names its built-in types."""


def variant_type(dtype: str) -> ua.VariantType:
    """The OPC UA variant type of a PLC data type (the one mapping every caller uses)."""
    if dtype not in _UA_TYPES:
        raise ValueError(f"no OPC UA type for {dtype!r}")
    return getattr(ua.VariantType, dtype)


def data_type_id(dtype: str) -> ua.NodeId:
    """The NodeId of the OPC UA data type of a PLC data type."""
    return ua.NodeId(getattr(ua.ObjectIds, variant_type(dtype).name))


_USER_ATTRIBUTES = (ua.AttributeIds.UserAccessLevel, ua.AttributeIds.UserExecutable)


def status(refusal_name: str) -> ua.StatusCode:
    return ua.StatusCode(getattr(ua.StatusCodes, refusal_name))


def allowed_actions() -> dict[UserRole, set[ua.NodeId]]:
    """The services each asyncua role may use: anonymous sessions the same as users; what they
    may change is decided per tag and method (viewer at most). BrowseNext, which asyncua's
    list lacks (it has no BrowseNext), goes with Browse."""
    user = {ua.NodeId(i) for i in (*USER_TYPES, ua.ObjectIds.BrowseNextRequest_Encoding_DefaultBinary)}
    return {UserRole.Admin: user | {ua.NodeId(i) for i in ADMIN_TYPES},
            UserRole.User: user, UserRole.Anonymous: user}


UserAttribute = Callable[[ua.NodeId, ua.AttributeIds, User | None], ua.Variant | None]


def shape_read(params: ua.ReadParameters, results: list[ua.DataValue], user_attribute: UserAttribute | None,
               user: User | None) -> list[ua.DataValue]:
    """Values with the timestamps the client asked for (TimestampsToReturn): the
    ServerTimestamp is filled when asked, the SourceTimestamp left out when not; the user
    attributes as `user_attribute` has them for `user`."""
    ttr = params.TimestampsToReturn
    source = ttr in (ua.TimestampsToReturn.Source, ua.TimestampsToReturn.Both)
    server = ttr in (ua.TimestampsToReturn.Server, ua.TimestampsToReturn.Both)
    now = None
    out = []
    for rv, dv in zip(params.NodesToRead, results, strict=True):
        if rv.AttributeId in _USER_ATTRIBUTES and user_attribute is not None \
                and (dv.StatusCode is None or dv.StatusCode.is_good()):
            mine = user_attribute(rv.NodeId, rv.AttributeId, user)
            out.append(dv if mine is None else ua.DataValue(mine))
            continue
        if rv.AttributeId != ua.AttributeIds.Value or dv.Value is None:
            out.append(dv)
            continue
        if server and dv.ServerTimestamp is None:
            now = now or wall_clock()
        out.append(ua.DataValue(dv.Value, StatusCode=dv.StatusCode,
                                SourceTimestamp=dv.SourceTimestamp if source else None,
                                ServerTimestamp=(dv.ServerTimestamp or now) if server else None))
    return out


def tag_variant(dtype: str, value: Any) -> ua.Variant:
    return ua.Variant(value, variant_type(dtype))


def write_result(fn: Callable[[], None]) -> ua.StatusCode:
    """Good, or the status code of the PLC's refusal."""
    try:
        fn()
    except Rejected as e:
        return status(e.refusal.value)
    return ua.StatusCode(ua.StatusCodes.Good)
