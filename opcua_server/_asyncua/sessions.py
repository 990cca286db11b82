"""Sessions: unguessable tokens, bound to the connection that created them, owning their
subscriptions, with limits per session on top of the server-wide ones (the rules are in
`session_rules`; these classes apply them to asyncua's sessions)."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from asyncua import ua
from asyncua.common.utils import ServiceError
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.internal_server import InternalServer
from asyncua.server.internal_session import InternalSession

from ..access import CALLER
from ..browse_points import BrowseContinuations
from ..logins import LoginThrottle
from ..method_guard import SESSION
from ..request_limits import check_operations, revised_interval, values_per_node
from ..session_quota import SessionQuota, make_room
from ..session_rules import monitored_item_room, same_user, subscription_refused
from ..settings import ServerSettings
from ..slicing import Slices
from ..traffic import Traffic
from .publishing import bound_notifications

_INVALID = ua.StatusCodes.BadSubscriptionIdInvalid
_OPENED = itertools.count()


class PlantSession(InternalSession):
    """A session with an unguessable authentication token, bound to the connection that
    created it (`channel`, set by `processor.PlantProcessor`), and with per-session limits on
    subscriptions and monitored items on top of the server-wide ones."""

    iserver: PlantInternalServer
    session_timeout: float | None
    _timeout_task: asyncio.Task[None] | None

    def __init__(self, iserver: PlantInternalServer, *args: Any, **kwargs: Any) -> None:
        super().__init__(iserver, *args, **kwargs)
        if self.external:  # asyncua's tokens count up from 1000: anyone could guess a live one
            iserver.unregister_external_session(self)
            self.auth_token = ua.NodeId(secrets.token_bytes(32), 0, ua.NodeIdType.ByteString)
            iserver.register_external_session(self)
        self.limits = iserver.limits
        self.channel: Any = None
        self.peer_certificate: bytes | None = None
        self.host = ""
        """The peer's address (set by the processor with `channel`), for the session quota."""
        self.opened = next(_OPENED)
        self.browsing = BrowseContinuations(self.limits.max_browse_continuation_points,
                                            self.limits.max_references_per_node)

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
        if subscription_refused(self.limits, len(self._subscriptions())):
            raise ServiceError(ua.StatusCodes.BadTooManySubscriptions)
        self._revise_publishing(params)
        result = await super().create_subscription(params, callback, request_callback)
        if self.external:
            bound_notifications(self.subscription_service.subscriptions[result.SubscriptionId],
                                self.limits.max_notifications_per_publish)
        return result

    def _revise_publishing(self, params: Any) -> None:
        """Clients' publishing intervals are at least `min_publishing_interval_ms`."""
        if self.external:
            params.RequestedPublishingInterval = revised_interval(params.RequestedPublishingInterval,
                                                                  self.limits.min_publishing_interval_ms)

    def _revise_sampling(self, items: list[Any]) -> None:
        """Clients' sampling intervals are at least `min_sampling_interval_ms` (-1, "the
        publishing interval", stays: that one is revised already)."""
        for item in items:
            asked = item.RequestedParameters.SamplingInterval
            if self.external and asked != -1:
                item.RequestedParameters.SamplingInterval = revised_interval(asked, self.limits.min_sampling_interval_ms)

    async def create_monitored_items(self, params: ua.CreateMonitoredItemsParameters) -> list[ua.MonitoredItemCreateResult]:
        """Refuses the items past the limits per subscription, per session and server-wide."""
        self._revise_sampling(params.ItemsToCreate)
        sub = self.subscription_service.subscriptions.get(params.SubscriptionId)
        if sub is None or sub.session_id != self.session_id:
            raise ServiceError(ua.StatusCodes.BadSubscriptionIdInvalid)
        every = self.subscription_service.subscriptions.values()
        room = monitored_item_room(self.limits, _items(sub), sum(_items(x) for x in self._subscriptions()),
                                   sum(_items(x) for x in every))
        asked = params.ItemsToCreate
        results = await self._create_in_slices(params, asked[:room])
        for _ in asked[room:]:
            res = ua.MonitoredItemCreateResult()
            res.StatusCode = ua.StatusCode(ua.StatusCodes.BadTooManyMonitoredItems)
            results.append(res)
        return results

    async def _create_in_slices(self, params: ua.CreateMonitoredItemsParameters,
                                items: list[ua.MonitoredItemCreateRequest]) -> list[ua.MonitoredItemCreateResult]:
        """asyncua creates the items `notifications_per_slice` at a time, the loop serving
        other clients between slices (each item costs a read and a first notification)."""
        slices = self.iserver.slices
        results: list[ua.MonitoredItemCreateResult] = []
        for start in range(0, len(items), slices.size):
            params.ItemsToCreate = items[start:start + slices.size]
            results += await super().create_monitored_items(params)
            await slices.done(len(params.ItemsToCreate))
        return results

    # --- only its own subscriptions ------------------------------------------------------

    def owns(self, subscription_id: int) -> bool:
        sub = self.subscription_service.subscriptions.get(int(subscription_id))
        return sub is not None and sub.session_id == self.session_id

    def _own(self, subscription_id: int) -> None:
        if not self.owns(subscription_id):
            raise ServiceError(_INVALID)

    async def delete_subscriptions(self, ids: list[int]) -> list[ua.StatusCode]:
        mine = [i for i in ids if self.owns(i)]
        deleted = iter(await super().delete_subscriptions(mine) if mine else [])
        return [next(deleted) if i in mine else ua.StatusCode(_INVALID) for i in ids]

    def modify_subscription(self, params: ua.ModifySubscriptionParameters) -> ua.ModifySubscriptionResult:
        self._own(params.SubscriptionId)
        self._revise_publishing(params)
        return super().modify_subscription(params)

    async def set_publishing_mode(self, params: ua.SetPublishingModeParameters) -> list[ua.StatusCode]:
        mine = [i for i in params.SubscriptionIds if self.owns(i)]
        asked, params.SubscriptionIds = params.SubscriptionIds, mine
        done = iter(await super().set_publishing_mode(params) if mine else [])
        return [next(done) if i in mine else ua.StatusCode(_INVALID) for i in asked]

    def republish(self, params: ua.RepublishParameters) -> ua.NotificationMessage:
        self._own(params.SubscriptionId)
        return super().republish(params)

    async def modify_monitored_items(self, params: ua.ModifyMonitoredItemsParameters) -> list[ua.MonitoredItemModifyResult]:
        self._own(params.SubscriptionId)
        self._revise_sampling(params.ItemsToModify)
        return await super().modify_monitored_items(params)

    async def delete_monitored_items(self, params: ua.DeleteMonitoredItemsParameters) -> list[ua.StatusCode]:
        self._own(params.SubscriptionId)
        return await super().delete_monitored_items(params)

    async def set_monitoring_mode(self, params: ua.SetMonitoringModeParameters) -> list[ua.StatusCode]:
        self._own(params.SubscriptionId)
        return await super().set_monitoring_mode(params)

    def publish(self, acks: Iterable[ua.SubscriptionAcknowledgement] | None = None) -> tuple[int, list[ua.StatusCode]]:
        """Acknowledgements for other sessions' subscriptions are refused, not applied."""
        acks = list(acks or [])
        count, results = super().publish([a for a in acks if self.owns(a.SubscriptionId)])
        done = iter(results)
        return count, [next(done) if self.owns(a.SubscriptionId) else ua.StatusCode(_INVALID) for a in acks]

    async def transfer_subscriptions(self, params: ua.TransferSubscriptionsParameters,  # type: ignore[override]
                                     callback: Callable[..., Any]) -> list[ua.TransferResult]:
        """Only subscriptions of a session opened by the same user (Part 4, 5.13.7)."""
        asked = list(params.SubscriptionIds)
        allowed = [i for i in asked if self._same_user_owns(i)]
        params.SubscriptionIds = allowed
        done = iter(await super().transfer_subscriptions(params, callback) if allowed else [])
        refused = ua.TransferResult(StatusCode=ua.StatusCode(ua.StatusCodes.BadUserAccessDenied))
        return [next(done) if i in allowed else refused for i in asked]

    def _same_user_owns(self, subscription_id: int) -> bool:
        sub = self.subscription_service.subscriptions.get(int(subscription_id))
        if sub is None:
            return False
        owner = next((s for s in self.iserver.open_sessions if s.session_id == sub.session_id), None)
        return owner is not None and same_user(owner.user, self.user)

    async def close_session(self, delete_subs: bool = True) -> None:
        self.iserver.__dict__.get("open_sessions", set()).discard(self)
        self.browsing.release_all()
        await super().close_session(delete_subs)

    async def read(self, params: ua.ReadParameters) -> list[ua.DataValue]:
        """As this session's user: UserAccessLevel and UserExecutable depend on the role."""
        token = CALLER.set(self.user)
        try:
            return await super().read(params)
        finally:
            CALLER.reset(token)

    async def history_read(self, params: ua.HistoryReadParameters) -> list[ua.HistoryReadResult]:
        """The response's values shared among the nodes (each node's share per call, a
        continuation point for the rest; the node count is checked by the processor)."""
        if self.external:
            _share_values(params.HistoryReadDetails, values_per_node(self.limits, len(params.NodesToRead)))
        return await super().history_read(params)

    async def browse(self, params: ua.BrowseParameters) -> list[ua.BrowseResult]:
        """A client's results cut to its RequestedMaxReferencesPerNode and the server's
        `max_references_per_node`, the rest behind continuation points (`browse_points`);
        the server's own browsing (internal sessions) gets every reference."""
        results = await super().browse(params)
        if not self.external:
            return results
        return [self.browsing.page(r, params.RequestedMaxReferencesPerNode) for r in results]

    async def browse_next(self, parameters: ua.BrowseNextParameters) -> list[ua.BrowseResult]:
        """BrowseNext (asyncua 2.1 raises NotImplementedError here. Upstream)."""
        return [self.browsing.next(point, parameters.ReleaseContinuationPoints)
                for point in parameters.ContinuationPoints or []]

    async def translate_browsepaths_to_nodeids(self, params: list[ua.BrowsePath]) -> list[ua.BrowsePathResult]:
        """A path with no elements is BadNothingToDo (Part 4, 5.8.4); asyncua 2.1 reads its last
        element and answers the whole request with an internal error and a traceback (upstream bug)."""
        served = iter(await super().translate_browsepaths_to_nodeids([p for p in params if p.RelativePath.Elements]))
        return [next(served) if p.RelativePath.Elements else _nothing_to_do() for p in params]

    async def call(self, params: list[ua.CallMethodRequest]) -> list[ua.CallMethodResult]:
        token, session = CALLER.set(self.user), SESSION.set(self)
        try:
            return await super().call(params)
        finally:
            CALLER.reset(token)
            SESSION.reset(session)


def _share_values(details: Any, share: int) -> None:
    """Values (or events, or times) per node at most `share`: raw and event reads page with
    continuation points; a ReadAtTime of more times than that is refused."""
    if isinstance(details, ua.ReadRawModifiedDetails | ua.ReadEventDetails):
        asked = details.NumValuesPerNode
        details.NumValuesPerNode = min(asked, share) if asked else share
    elif isinstance(details, ua.ReadAtTimeDetails):
        check_operations(details.ReqTimes, share)


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
        self.quota = SessionQuota.of(limits)
        self.slices = Slices(limits.notifications_per_slice)
        """One count of loop work for the data-change fan-out and the item creation (`slicing`)."""
        self.traffic = Traffic()
        """Refusals and notifications sent, counted by the processors for the metrics."""

    def create_session(self, name: str, user: User = User(role=UserRole.Anonymous), external: bool = False) -> InternalSession:
        if external:
            make_room(self.quota, self.open_sessions)
        session = PlantSession(self, self.aspace, self.subscription_service, name, user=user, external=external)
        if external:
            self.open_sessions.add(session)
        return session


def _nothing_to_do() -> ua.BrowsePathResult:
    return ua.BrowsePathResult(StatusCode=ua.StatusCode(ua.StatusCodes.BadNothingToDo))
