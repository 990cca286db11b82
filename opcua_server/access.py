"""Who may do what: role-aware writes and method calls on top of asyncua's internal server.

asyncua checks only its own coarse roles; plant tags need the PLC's rules and OPC UA status
codes (BadNotWritable, BadTypeMismatch, BadOutOfRange, BadUserAccessDenied). Writes to
plant nodes go to the PLC, which validates them and applies them at its next scan; method
calls see the calling session's user through a context variable."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from asyncua import ua
from asyncua.common.utils import ServiceError
from asyncua.crypto.permission_rules import ADMIN_TYPES, USER_TYPES, PermissionRuleset, User, UserRole
from asyncua.server.address_space import AttributeService
from asyncua.server.internal_server import InternalServer
from asyncua.server.internal_session import InternalSession

from plc_sim.plc.tags import Rejected

from .logins import LoginThrottle
from .settings import ServerSettings

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
    """A session with an unguessable authentication token, bound to the connection that
    created it (`channel`, set by `processor.PlantProcessor`), and with per-session limits on
    subscriptions and monitored items on top of the server-wide ones."""

    def __init__(self, iserver: PlantInternalServer, *args: Any, **kwargs: Any) -> None:
        super().__init__(iserver, *args, **kwargs)
        if self.external:  # asyncua's tokens count up from 1000: anyone could guess a live one
            iserver.unregister_external_session(self)
            self.auth_token = ua.NodeId(secrets.token_bytes(32), 0, ua.NodeIdType.ByteString)
            iserver.register_external_session(self)
        self.limits = iserver.limits
        self.channel: Any = None
        self.peer_certificate: bytes | None = None

    def _subscriptions(self) -> list[Any]:
        return [sub for sub in self.subscription_service.subscriptions.values() if sub.session_id == self.session_id]

    def has_subscriptions(self) -> bool:
        return bool(self._subscriptions())

    def shorten_timeout(self, seconds: float) -> None:
        """Close after at most `seconds` without activity (an orphan of a lost connection)."""
        if self.session_timeout is None or self.session_timeout > seconds:
            self.session_timeout = seconds
            if self._timeout_task is not None:
                self._timeout_task.cancel()
                self._timeout_task = None
            self._start_timeout_watchdog()

    async def create_subscription(self, params: ua.CreateSubscriptionParameters, callback: Callable[..., Any],
                                  request_callback: Callable[..., Any] | None = None) -> ua.CreateSubscriptionResult:
        if len(self._subscriptions()) >= self.limits.max_subscriptions_per_session:
            raise ServiceError(ua.StatusCodes.BadTooManySubscriptions)
        return await super().create_subscription(params, callback, request_callback)

    async def create_monitored_items(self, params: ua.CreateMonitoredItemsParameters) -> list[ua.MonitoredItemCreateResult]:
        """Refuses the items past the limits per subscription, per session and server-wide."""
        sub = self.subscription_service.subscriptions.get(params.SubscriptionId)
        if sub is None or sub.session_id != self.session_id:
            raise ServiceError(ua.StatusCodes.BadSubscriptionIdInvalid)
        lim = self.limits
        every = self.subscription_service.subscriptions.values()
        room = min(lim.max_monitored_items - _items(sub),
                   lim.max_monitored_items_per_session - sum(_items(x) for x in self._subscriptions()),
                   lim.max_monitored_items_total - sum(_items(x) for x in every))
        room = max(room, 0)
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


def _items(sub: Any) -> int:
    return len(sub.monitored_item_srv._monitored_items)


class PlantInternalServer(InternalServer):
    """Creates PlantSessions and counts them against `max_sessions`; holds the limits (the
    server settings) and the login throttle that the connections consult."""

    def __init__(self, limits: ServerSettings, user_manager: Any = None) -> None:
        super().__init__(user_manager=user_manager)
        self.limits = limits
        self.logins = LoginThrottle(limits.max_login_failures, limits.login_window_s)
        self.max_sessions = limits.max_sessions
        self.max_connections = limits.max_connections
        self.max_pending_activation_seconds = limits.activation_timeout_s
        self.max_pending_messages_per_connection = limits.max_pending_messages
        self.max_session_timeout_ms = limits.session_timeout_s * 1000
        self.open_sessions: set[PlantSession] = set()

    def create_session(self, name: str, user: User = User(role=UserRole.Anonymous), external: bool = False) -> InternalSession:
        if external and len(self.open_sessions) >= self.max_sessions:
            raise ServiceError(ua.StatusCodes.BadTooManySessions)
        session = PlantSession(self, self.aspace, self.subscription_service, name, user=user, external=external)
        if external:
            self.open_sessions.add(session)
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
