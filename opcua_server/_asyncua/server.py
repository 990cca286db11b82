"""asyncua's Server listening through `transport.PlantBinaryServer`, and the few places
where the plant's server reaches into asyncua's internal server: its history manager, the
value attribute of a node, the socket actually bound."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from asyncua import Server, ua
from asyncua.crypto import uacrypto
from asyncua.server.address_space import AddressSpace
from asyncua.server.internal_server import InternalServer

from .history import HistoryFeed, PlantHistory
from .transport import PlantBinaryServer

if TYPE_CHECKING:
    from ..server import PlantServer


class PlantUaServer(Server):
    """asyncua's Server listening through `_asyncua.transport.PlantBinaryServer` (bounded connections)."""

    async def start(self) -> None:
        if self.iserver.certificate is not None:
            uacrypto.check_certificate(self.iserver.certificate, self._application_uri, socket.gethostname())
        await self._setup_server_nodes()
        await self.iserver.start()
        try:
            host, port = self._get_bind_socket_info()
            self.bserver = PlantBinaryServer(self.iserver, host, port, self.limits)
            self.bserver.set_policies(self._policies)
            await self.bserver.start()
        except Exception:
            await self.iserver.stop()
            raise


async def attach_history(iserver: InternalServer, storage: PlantHistory,
                         read_history: Callable[[ua.HistoryReadParameters],
                                                Coroutine[Any, Any, list[ua.HistoryReadResult]]]) -> None:
    """`storage` behind asyncua's history manager, fed by a `HistoryFeed` (no task per change),
    and HistoryRead answered by `read_history` (asyncua's own reads truncate silently)."""
    manager = iserver.history_manager
    manager.set_storage(storage)
    feed = HistoryFeed(iserver.isession, storage)
    await feed.init()
    manager._sub = feed
    manager.read_history = read_history  # type: ignore[method-assign,assignment]  # an instance attribute, on purpose


def value_now(aspace: AddressSpace, nodeid: ua.NodeId) -> ua.DataValue | None:
    """The node's current value as the address space holds it (no callbacks run)."""
    return aspace[nodeid].attributes[ua.AttributeIds.Value].value


def set_value_now(aspace: AddressSpace, nodeid: ua.NodeId, dv: ua.DataValue) -> None:
    """Put `dv` into the node at once, without data-change callbacks (they follow from a write)."""
    aspace[nodeid].attributes[ua.AttributeIds.Value].value = dv


def endpoint_port(server: PlantServer) -> int:
    """The port actually bound (useful with port 0)."""
    bs = server.server.bserver
    listening = bs._server if bs else None
    if isinstance(listening, asyncio.Server) and listening.sockets:
        return int(listening.sockets[0].getsockname()[1])
    return server.settings.port
