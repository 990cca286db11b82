"""The scan thread's changed tags on their way to the event loop that serves them.

The PLC scans in a thread of its own; the OPC UA tag sync runs on the event loop. Between
them the outbox keeps the latest of each changed tag until the loop takes the lot: a loop
busy serving clients takes fewer, fuller batches, and the scan never waits for it (a value
overwritten before it was taken is counted in `coalesced`, as a real PLC's I/O image shows
the newest value to a slow reader). Its size is bounded by the tag table: one entry per tag."""

from __future__ import annotations

import asyncio
import threading

from .tags import Tag


class Outbox:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._tags: dict[int, Tag] = {}
        self._ready = asyncio.Event()
        self._signalled = False
        self.idle = threading.Event()
        """Set while everything posted has been taken and handed on (`done`)."""
        self.idle.set()
        self.coalesced = 0
        """Tag changes replaced by a newer value of the same tag before the loop took them."""
        self.batches = 0

    def post(self, changed: list[Tag]) -> None:
        """From the scan thread: add a scan's changed tags and wake the loop (once per batch)."""
        if not changed:
            return
        with self._lock:
            for tag in changed:
                if id(tag) in self._tags:
                    self.coalesced += 1
                else:
                    self._tags[id(tag)] = tag
            self.idle.clear()
            wake, self._signalled = not self._signalled, True
        if wake:
            self._loop.call_soon_threadsafe(self._ready.set)

    async def take(self) -> list[Tag]:
        """On the loop: the changed tags posted since the last take (waits for some)."""
        await self._ready.wait()
        with self._lock:
            self._ready.clear()
            self._signalled = False
            tags, self._tags = list(self._tags.values()), {}
            self.batches += 1
        return tags

    def done(self) -> None:
        """On the loop: the batch taken last has been handed on."""
        with self._lock:
            if not self._tags:
                self.idle.set()
