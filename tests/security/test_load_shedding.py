"""Load from the plant itself (issue 9, item 8): at `--time-factor max` history must keep up or
shed load visibly, the event queue is bounded, and SIGTERM still ends the daemon within its
shutdown timeout while clients are subscribed. (RSS over time: bench/soak.py.)"""

import asyncio
import contextlib
import logging
import random
import signal
import sqlite3
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from asyncua import Client, ua

from opcua_server import history_store
from opcua_server._asyncua.history import PlantHistory
from tests.security.attack import hello, honest_is_served
from tests.support.daemons import run_daemon
from tests.support.opcua_harness import NS, running_plant, until


async def test_history_queue_is_bounded_and_counts_what_it_skips(tmp_path, caplog):
    history_store.install()
    store = PlantHistory(str(tmp_path / "h.sqlite"), queue_size=100, batch_size=30)
    await store.init()
    nid = ua.NodeId("Plant/X", 2)
    await store.new_historized_node(nid, None, count=10)
    with caplog.at_level(logging.WARNING, logger="opcua_server"):
        for i in range(1000):  # faster than any writer: nothing is awaited in between
            store.enqueue_value(nid, ua.DataValue(ua.Variant(float(i), ua.VariantType.Double)))
    assert store.skipped == 900
    assert "queue full (100), 1 values and events skipped" in caplog.text
    await store.flush()
    assert store.written == 100
    await store.stop()
    db = sqlite3.connect(tmp_path / "h.sqlite")
    rows = db.execute(f'SELECT Value FROM "{store._get_table_name(nid)}" ORDER BY _Id').fetchall()
    db.close()
    assert [float(v) for (v,) in rows] == [float(i) for i in range(90, 100)], "the newest `count` kept"


async def test_event_queue_is_bounded(tmp_path):
    async with running_plant(tmp_path, time_factor=None, event_queue_size=100) as (plc, srv):
        events = srv.events
        for _ in range(1000):
            events._put(plc._emit("write_refused", None, "flood"))
        assert events._queue.qsize() <= 100 and events.skipped >= 900
        await honest_is_served(srv.url, None)


@contextlib.contextmanager
def _daemon(tmp_path: Path, *args: str) -> Iterator[tuple[subprocess.Popen, str, int]]:
    """`plant <args>` on port 0: the process, its URL and the port it bound; it must exit 0 (its
    own bounded shutdown, clean) and report a clean stop once the test has sent SIGTERM."""
    with run_daemon([*args, "--port", "0"], tmp_path / f"{args[0]}.log", {"PLANT_DATA_DIR": str(tmp_path)}) as d:
        url = d.url()
        port = urlsplit(url).port
        assert port
        yield d.proc, url, port
        assert d.wait() == 0, d.tail()
        assert "stopped cleanly" in d.text()


def test_plant_up_at_max_time_factor_stops_on_sigterm_with_clients(tmp_path):
    """SIGTERM ends `plant up --time-factor max` cleanly (exit 0 means within the shutdown
    timeout: past it the daemon exits 1) while two clients are subscribed."""
    with _daemon(tmp_path, "up", "--time-factor", "max") as (proc, url, _port):

        async def subscribed_until_far_ahead() -> None:
            clients = [Client(url, timeout=10) for _ in range(2)]
            for c in clients:
                await c.connect()
                idx = await c.get_namespace_index(NS)
                sub = await c.create_subscription(100, None)
                await sub.subscribe_data_change([c.get_node(ua.NodeId(f"Plant/GearLine/{m}/{m}/PartsDone", idx))
                                                 for m in ("MP1", "MP2", "MP3")])
            hours = clients[0].get_node(ua.NodeId("Plant/GearLine/KPIs/PlantTime", idx))

            async def far_ahead() -> bool:
                return await hours.read_value() > 500.0

            await until(far_ahead, timeout=120, what="500 plant hours")
            proc.send_signal(signal.SIGTERM)
            for c in clients:
                with contextlib.suppress(Exception):  # the server is going away under the client
                    await asyncio.wait_for(c.disconnect(), 10)

        asyncio.run(subscribed_until_far_ahead())


def test_plant_plc_stops_on_sigterm_after_a_fuzzing_run(tmp_path):
    """Garbage, half-open handshakes and parked sockets, then SIGTERM: a clean exit (0)."""
    with _daemon(tmp_path, "plc", "--time-factor", "3600") as (proc, url, port):
        async def fuzz() -> None:
            rng = random.Random(9)
            conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(60)]
            for i, (_, writer) in enumerate(conns):
                if i % 3 == 0:
                    writer.write(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 4000))))
                elif i % 3 == 1:
                    writer.write(hello(url) + b"OPNF" + struct.pack("<I", 5000) + b"\0" * 100)
            for _, writer in conns:
                await writer.drain()
            proc.send_signal(signal.SIGTERM)
            for _, writer in conns:
                writer.close()

        asyncio.run(fuzz())
