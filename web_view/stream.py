"""Server-sent events to the open pages: one bounded queue per client.

The producer never waits for a client: a message is put on every queue without blocking,
and a client whose queue is full is dropped (its stream ends; the page reconnects by
itself) and counted. The number of clients is bounded too."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

_END = ""
"""Put on a dropped client's queue (when there is room) so its stream ends at once."""


class TooManyClientsError(Exception):
    """The stream limit (`max_clients`) is reached."""


@dataclass
class Broadcaster:
    max_clients: int
    queue_size: int
    dropped: int = 0
    """Clients dropped because they read too slowly."""
    refused: int = 0
    """Streams refused because `max_clients` were open."""
    _queues: set[asyncio.Queue[str]] = field(default_factory=set)

    @property
    def clients(self) -> int:
        return len(self._queues)

    def publish(self, message: str) -> None:
        """`message` to every client, never blocking; a client with a full queue is dropped."""
        for q in list(self._queues):
            try:
                q.put_nowait(message)
            except asyncio.QueueFull:
                self._drop(q)

    def _drop(self, q: asyncio.Queue[str]) -> None:
        self._queues.discard(q)
        self.dropped += 1
        log.warning("web view: a client fell %d messages behind and was dropped (%d dropped so far)",
                    self.queue_size, self.dropped)
        while not q.empty():
            q.get_nowait()
        q.put_nowait(_END)

    def subscribe(self, first: str | None = None) -> asyncio.Queue[str]:
        """A new client's queue (with `first` on it), or TooManyClientsError."""
        if len(self._queues) >= self.max_clients:
            self.refused += 1
            log.warning("web view: stream refused, %d clients open (max_clients; %d refused so far)",
                        len(self._queues), self.refused)
            raise TooManyClientsError
        q: asyncio.Queue[str] = asyncio.Queue(self.queue_size)
        if first is not None:
            q.put_nowait(first)
        self._queues.add(q)
        return q

    def close(self) -> None:
        """End every stream (at shutdown: the server then need not wait for them)."""
        for q in list(self._queues):
            self._queues.discard(q)
            while not q.empty():
                q.get_nowait()
            q.put_nowait(_END)

    def unsubscribe(self, q: asyncio.Queue[str]) -> None:
        self._queues.discard(q)

    async def messages(self, q: asyncio.Queue[str]) -> AsyncIterator[str]:
        """The client's messages as SSE frames, until it is dropped or goes away."""
        try:
            while True:
                message = await q.get()
                if message == _END:
                    return
                yield f"data: {message}\n\n"
        finally:
            self.unsubscribe(q)
