"""Work on the event loop cut into slices, so that one client's large share (100,000
monitored items fanning out one scan's changes, a CreateMonitoredItems of 1,000 items)
never holds the loop while other clients wait: the work counts its units and yields to the
loop after every `size` of them (`notifications_per_slice`)."""

from __future__ import annotations

import asyncio


class Slices:
    """Counts units of work done without a pause; `done()` yields to the loop every `size`."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._count = 0
        self.pauses = 0
        """How often the work has yielded (for tests and benches)."""

    async def done(self, units: int = 1) -> None:
        self._count += units
        if self._count >= self.size:
            self._count = 0
            self.pauses += 1
            await asyncio.sleep(0)
