"""Who may do what: role-aware writes and method calls on top of asyncua's internal server.

asyncua checks only its own coarse roles; plant tags need the PLC's rules and OPC UA status
codes (BadNotWritable, BadTypeMismatch, BadOutOfRange, BadUserAccessDenied). Writes to
plant nodes go to the PLC, which validates them and applies them at its next scan; method
calls see the calling session's user through a context variable."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Callable

from asyncua import ua
from asyncua.crypto.permission_rules import USER_TYPES, ADMIN_TYPES, PermissionRuleset, User, UserRole
from asyncua.server.address_space import AttributeService
from asyncua.server.internal_server import InternalServer
from asyncua.server.internal_session import InternalSession
from asyncua.common.utils import ServiceError

from plc_sim.plc.tags import Rejected

CALLER: ContextVar[User | None] = ContextVar("CALLER", default=None)

_VARIANT_OF = {"Double": ua.VariantType.Double, "Int32": ua.VariantType.Int32,
               "Boolean": ua.VariantType.Boolean, "String": ua.VariantType.String}


def status(refusal_name: str) -> ua.StatusCode:
    return ua.StatusCode(getattr(ua.StatusCodes, refusal_name))


class PlantRuleset(PermissionRuleset):
    """Anonymous sessions may use the same services as users; what they may change is
    decided per tag and method (viewer at most)."""

    def __init__(self) -> None:
        user = {ua.NodeId(i) for i in USER_TYPES}
        self._allowed = {UserRole.Admin: user | {ua.NodeId(i) for i in ADMIN_TYPES},
                         UserRole.User: user, UserRole.Anonymous: user}

    def check_validity(self, user: User, action_type_id: ua.NodeId, body: Any) -> bool:
        return action_type_id in self._allowed[user.role]


class PlantAttributeService(AttributeService):
    """Writes to plant tags go through the PLC; everything else as asyncua does it."""

    def __init__(self, aspace, write_tag: Callable[[ua.NodeId, ua.Variant, User], ua.StatusCode | None]) -> None:
        super().__init__(aspace)
        self._write_tag = write_tag

    async def write(self, params: ua.WriteParameters, user: User = User(role=UserRole.Admin)) -> list[ua.StatusCode]:
        results: list[ua.StatusCode] = []
        for wv in params.NodesToWrite:
            res = None
            if wv.AttributeId == ua.AttributeIds.Value:
                res = self._write_tag(wv.NodeId, wv.Value.Value, user)
            if res is None:
                sub = ua.WriteParameters()
                sub.NodesToWrite = [wv]
                res = (await super().write(sub, user))[0]
            results.append(res)
        return results


class PlantSession(InternalSession):
    max_monitored_items: int = 50_000

    async def create_monitored_items(self, params: ua.CreateMonitoredItemsParameters) -> list[ua.MonitoredItemCreateResult]:
        """Refuses the items past `max_monitored_items` per subscription."""
        sub = self.subscription_service.subscriptions.get(params.SubscriptionId)
        have = len(sub.monitored_item_srv._monitored_items) if sub is not None else 0
        room = max(self.max_monitored_items - have, 0)
        asked = params.ItemsToCreate
        params.ItemsToCreate = asked[:room]
        results = await super().create_monitored_items(params) if params.ItemsToCreate else []
        for _ in asked[room:]:
            res = ua.MonitoredItemCreateResult()
            res.StatusCode = ua.StatusCode(ua.StatusCodes.BadTooManyMonitoredItems)
            results.append(res)
        return results

    async def close_session(self, delete_subs: bool = True) -> None:
        self.iserver.__dict__.get("open_sessions", set()).discard(self)
        await super().close_session(delete_subs)

    async def call(self, params: list[ua.CallMethodRequest]) -> list[ua.CallMethodResult]:
        token = CALLER.set(self.user)
        try:
            return await super().call(params)
        finally:
            CALLER.reset(token)


class PlantInternalServer(InternalServer):
    """Creates PlantSessions and counts them against `max_sessions`."""

    max_sessions: int = 50
    max_monitored_items: int = 50_000

    def create_session(self, name: str, user: User = User(role=UserRole.Anonymous), external: bool = False) -> InternalSession:
        open_sessions = self.__dict__.setdefault("open_sessions", set())
        if external and len(open_sessions) >= self.max_sessions:
            raise ServiceError(ua.StatusCodes.BadTooManySessions)
        session = PlantSession(self, self.aspace, self.subscription_service, name, user=user, external=external)
        session.max_monitored_items = self.max_monitored_items
        if external:
            open_sessions.add(session)
        return session


def tag_variant(dtype: str, value: Any) -> ua.Variant:
    return ua.Variant(value, _VARIANT_OF[dtype])


def write_result(fn: Callable[[], None]) -> ua.StatusCode:
    """Good, or the status code of the PLC's refusal."""
    try:
        fn()
    except Rejected as e:
        return status(e.refusal.value)
    return ua.StatusCode(ua.StatusCodes.Good)
