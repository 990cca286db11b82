"""The TCP side of the server: connections, their buffers and their idle time, bounded.

asyncua buffers whatever a chunk header announces (a header claiming 2 GB is waited for with
every byte kept) and keeps a connection that never says Hello for `max_pending_activation_seconds`.
Here a chunk is refused as soon as its header announces more than the negotiated buffer
(8192 bytes before Hello), a connection must send Hello within `hello_timeout_s` and activate a
session within `activation_timeout_s`, and when `max_connections` are open a new connection
evicts the oldest one without an activated session instead of being turned away."""

from __future__ import annotations

import asyncio
import logging
import struct

from asyncua import ua
from asyncua.server.binary_server_asyncio import BinaryServer, OPCUAProtocol
from asyncua.ua.ua_binary import uatcp_to_binary

from .. import refusals
from ..connections import MIN_BUFFER, chunk_refused, peer_text
from .processor import PlantProcessor
from .sessions import PlantInternalServer

log = logging.getLogger(__name__)


class PlantProtocol(OPCUAProtocol):
    iserver: PlantInternalServer
    processor: PlantProcessor | None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.peer_name = transport.get_extra_info("peername")
        self.peer = peer_text(self.peer_name)
        if len(self.clients) >= self.iserver.max_connections and not self._evict_idle():
            refusals.warn(log, "refused connection from %s: %d connections open, none idle", self.peer, len(self.clients))
            self.iserver.traffic.refused("Connection", ua.StatusCodes.BadMaxConnectionsReached)
            transport.close()
            return
        self.transport = transport  # type: ignore[assignment]
        self.processor = PlantProcessor(self.iserver, transport, self.limits)
        self.processor.set_policies(self.policies)
        self.iserver.asyncio_transports.append(transport)
        self.clients.append(self)
        self._task = asyncio.create_task(self._process_received_message_loop())
        self._activation_watchdog_task = asyncio.create_task(self._activation_watchdog())

    def _evict_idle(self) -> bool:
        """Close the oldest connection without an activated session; True if there was one."""
        for other in self.clients:
            if isinstance(other, PlantProtocol) and not other.activated() and other.transport is not None:
                refusals.warn(log, "closing idle connection from %s: connection limit reached", other.peer)
                self.clients.remove(other)
                other.transport.close()
                return True
        return False

    def activated(self) -> bool:
        return self.processor is not None and self.processor.has_activated_session()

    async def _activation_watchdog(self) -> None:
        """No Hello within `hello_timeout_s`, or no activated session within `activation_timeout_s`: closed."""
        limits = self.iserver.limits
        try:
            await asyncio.sleep(limits.hello_timeout_s)
            if self.processor is not None and not self.processor.hello_done:
                self._close_idle(f"no Hello within {limits.hello_timeout_s:g} s")
                return
            await asyncio.sleep(max(limits.activation_timeout_s - limits.hello_timeout_s, 0.0))
            if not self.activated():
                self._close_idle(f"no activated session within {limits.activation_timeout_s:g} s")
        except asyncio.CancelledError:
            pass

    def _close_idle(self, reason: str) -> None:
        refusals.warn(log, "closing idle connection from %s: %s", self.peer, reason)
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        super().data_received(data)
        if len(self._buffer) >= 8 and self.transport is not None and not self.transport.is_closing():
            size = struct.unpack_from("<I", self._buffer, 4)[0]
            limit = self._chunk_limit()
            if chunk_refused(size, limit):
                self._refuse_chunk(size, limit)

    def _chunk_limit(self) -> int:
        if self.processor is None or not self.processor.hello_done:
            return MIN_BUFFER
        return int(self.processor._limits.max_recv_buffer)

    def _refuse_chunk(self, size: int, limit: int) -> None:
        refusals.warn(log, "refused connection from %s: chunk of %d bytes announced, the limit is %d", self.peer, size, limit)
        self.iserver.traffic.refused("Connection", ua.StatusCodes.BadTcpMessageTooLarge)
        self._buffer = b""
        err = ua.ErrorMessage(ua.StatusCode(ua.StatusCodes.BadTcpMessageTooLarge), f"chunk larger than {limit} bytes")
        assert self.transport is not None
        self.transport.write(uatcp_to_binary(ua.MessageType.Error, err))  # type: ignore[attr-defined]
        self.transport.close()


class PlantBinaryServer(BinaryServer):
    iserver: PlantInternalServer

    def _make_protocol(self) -> PlantProtocol:
        return PlantProtocol(iserver=self.iserver, policies=self._policies, clients=self.clients,
                             closing_tasks=self.closing_tasks, limits=self.limits)

    async def stop(self) -> None:
        await super().stop()
        for client in list(self.clients):
            if client.transport is not None:
                client.transport.close()

