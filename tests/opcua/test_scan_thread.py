"""The PLC scans on its own: ten clients subscribed to every plant tag, and then the event
loop blocked outright, do not stop the scan (it runs in a thread of its own), and what the
clients see keeps up with it. Counted in scans and plant hours, not in wall seconds."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

from asyncua import Client, ua

from tests.support.opcua_harness import NS, running_plant, until

CLIENTS = 10
PLANT_HOURS = 20.0
"""The plant interval over which the scans are counted."""


class _Count:
    def __init__(self) -> None:
        self.changes = 0

    def datachange_notification(self, node: object, val: object, data: object) -> None:
        self.changes += 1


async def _subscribe_everything(c: Client, handler: _Count) -> None:
    idx = await c.get_namespace_index(NS)
    plant = c.get_node(ua.NodeId("Plant", idx))
    variables = []
    stack = [plant]
    while stack:
        node = stack.pop()
        for child in await node.get_children():
            if await child.read_node_class() == ua.NodeClass.Variable:
                variables.append(child)
            else:
                stack.append(child)
    sub = await c.create_subscription(50, handler)
    for at in range(0, len(variables), 200):
        await sub.subscribe_data_change(variables[at:at + 200], queuesize=1)


async def test_ten_clients_on_every_tag_and_a_blocked_loop_do_not_stop_the_scan(tmp_path: Path) -> None:
    async with running_plant(tmp_path, time_factor=36_000.0) as (plc, srv), contextlib.AsyncExitStack() as stack:
        handlers = [_Count() for _ in range(CLIENTS)]
        for h in handlers:
            c = await stack.enter_async_context(Client(srv.url, timeout=30, watchdog_intervall=600))
            await _subscribe_everything(c, h)
        start_h, start_scans = plc.calendar_h, plc.scans
        await until(lambda: plc.calendar_h >= start_h + PLANT_HOURS, timeout=120, what="20 plant hours")
        scans = plc.scans - start_scans
        expected = (plc.calendar_h - start_h) * 3600.0 / plc.time_factor / plc.scan_s
        assert scans >= 0.75 * expected, f"{scans} scans in {plc.calendar_h - start_h:.1f} plant hours, " \
                                         f"{expected:.0f} at the configured rate"

        target = plc.scans + 5
        scanned = threading.Event()
        plc.on_scan(lambda _changed: plc.scans >= target and scanned.set())
        assert scanned.wait(60), "the scan goes on while the event loop is blocked"  # blocks the loop itself

        seen = [h.changes for h in handlers]
        await until(lambda: all(h.changes > n for h, n in zip(handlers, seen)), timeout=60,
                    what="every client served again after the blocked loop")
