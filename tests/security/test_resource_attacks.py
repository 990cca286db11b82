"""Attacks on memory and slots from one connection (issue 9, item 5): chunk headers claiming
gigabytes, tiny Hello buffers, idle sockets, subscriptions and monitored items hoarded by one
session, and a huge refused write."""

import asyncio
import logging
import sqlite3
import struct

import pytest
import pytest_asyncio
from asyncua import ua

from opcua_server.security import pki_dirs
from tests.security.attack import (
    client_cert,
    closed_by_server,
    hello,
    honest_is_served,
    node,
    read_reply,
    secure_client,
)
from tests.support.opcua_harness import NS, running_plant, until

pytestmark = pytest.mark.asyncio(loop_scope="module")
MAX_CONNECTIONS = 6


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant(tmp_path_factory):
    data = tmp_path_factory.mktemp("limits")
    trusted = client_cert(tmp_path_factory.mktemp("certs"), "trusted-client")
    pki_dirs(data)["trusted"].mkdir(parents=True, exist_ok=True)
    (pki_dirs(data)["trusted"] / "trusted-client.der").write_bytes(trusted[0].read_bytes())
    async with running_plant(data, allow_none_policy=False, trust_all_clients=False,
                             max_connections=MAX_CONNECTIONS, hello_timeout_s=3.0, activation_timeout_s=8.0,
                             max_subscriptions=10, max_subscriptions_per_session=3, max_monitored_items=4,
                             max_monitored_items_per_session=6) as (plc, srv):
        yield plc, srv, trusted


async def _raw(srv):
    host, port = srv.server.bserver.hostname, srv.server.bserver.port
    return await asyncio.open_connection(host, port)


async def test_chunk_header_claiming_2_gb_is_refused_at_once(plant, caplog):
    _, srv, trusted = plant
    reader, writer = await _raw(srv)
    writer.write(hello(srv.url))
    assert (await read_reply(reader))[0] == b"ACK"
    with caplog.at_level(logging.WARNING, logger="opcua_server"):
        writer.write(b"MSGF" + struct.pack("<I", 2**31) + b"\0" * 64)
        kind, code = await read_reply(reader)
        assert (kind, code) == (b"ERR", ua.StatusCodes.BadTcpMessageTooLarge)
        assert await closed_by_server(reader)
    assert "chunk of 2147483648 bytes announced" in caplog.text and "127.0.0.1:" in caplog.text
    writer.close()
    await honest_is_served(srv.url, trusted)


async def test_oversized_chunk_before_hello_is_refused(plant):
    _, srv, trusted = plant
    reader, writer = await _raw(srv)
    writer.write(b"HELF" + struct.pack("<I", 10_000_000) + b"\0" * 32)
    assert await read_reply(reader) == (b"ERR", ua.StatusCodes.BadTcpMessageTooLarge)
    writer.close()
    await honest_is_served(srv.url, trusted)


@pytest.mark.parametrize("size", [0, 1, 8191])
async def test_hello_with_tiny_buffers_is_refused(plant, size):
    _, srv, trusted = plant
    reader, writer = await _raw(srv)
    writer.write(hello(srv.url, buffer=size))
    assert await read_reply(reader) == (b"ERR", ua.StatusCodes.BadTcpInternalError)
    assert await closed_by_server(reader)
    writer.close()
    await honest_is_served(srv.url, trusted)


async def test_message_before_hello_is_refused(plant):
    _, srv, _ = plant
    reader, writer = await _raw(srv)
    writer.write(b"OPNF" + struct.pack("<I", 16) + b"\0" * 8)
    assert await read_reply(reader) == (b"ERR", ua.StatusCodes.BadTcpMessageTypeInvalid)
    writer.close()


async def test_idle_sockets_do_not_lock_out_real_clients(plant):
    """More idle sockets than max_connections: a real client evicts the oldest idle one and is
    served; idle sockets are closed after hello_timeout_s anyway."""
    _, srv, trusted = plant
    idle = [await _raw(srv) for _ in range(MAX_CONNECTIONS + 4)]
    await honest_is_served(srv.url, trusted)
    for reader, writer in idle:
        assert await closed_by_server(reader)
        writer.close()
    await until(lambda: len(srv.server.bserver.clients) == 0, what="all idle connections closed")


async def test_subscriptions_are_limited_per_session(plant):
    """One session cannot take every subscription slot; another session still gets one."""
    _, srv, trusted = plant
    async with await secure_client(srv.url, trusted) as hog, await secure_client(srv.url, trusted) as other:
        for _ in range(3):
            await hog.create_subscription(100, None)
        with pytest.raises(ua.UaStatusCodeError) as e:
            await hog.create_subscription(100, None)
        assert e.value.code == ua.StatusCodes.BadTooManySubscriptions
        assert await other.create_subscription(100, None)


async def test_monitored_items_are_limited_per_session(plant):
    """Per subscription (4) and per session (6): a second subscription cannot lift the bound."""
    _, srv, trusted = plant
    async with await secure_client(srv.url, trusted) as c:
        idx = await c.get_namespace_index(NS)
        nodes = [node(c, idx, f"GearLine/{m}/{m}/{t}") for m in ("MP1", "MP2") for t in ("PartsDone", "PowerKW",
                                                                                          "GoodParts")]
        first = await (await c.create_subscription(100, None)).subscribe_data_change(nodes[:5], queuesize=1)
        second = await (await c.create_subscription(100, None)).subscribe_data_change(nodes[:4], queuesize=1)
        refused = [r for r in first + second if isinstance(r, ua.StatusCode)]
        assert len(first) + len(second) - len(refused) == 6
        assert all(r.value == ua.StatusCodes.BadTooManyMonitoredItems for r in refused)


async def test_a_huge_refused_write_is_cut_short_everywhere(plant, caplog):
    """A refused 4 MiB write: BadOutOfRange, and the audit, the event message, history and the
    log keep a short excerpt, not the value."""
    plc, srv, trusted = plant
    messages: list[str] = []
    plc.on_event(lambda ev: messages.append(ev.message))
    huge = "[" * (4 * 1024 * 1024)
    async with await secure_client(srv.url, trusted, "eve") as c:
        idx = await c.get_namespace_index(NS)
        plan = node(c, idx, "GearLine/MP1/MP1/MaintenancePlan")
        with caplog.at_level(logging.WARNING, logger="opcua_server"), pytest.raises(ua.UaStatusCodeError) as e:
            await plan.write_value(ua.Variant(huge, ua.VariantType.String))
        assert e.value.code == ua.StatusCodes.BadOutOfRange
    record = plc.audit[-1]
    assert record.user == "eve" and len(str(record.value)) < 300
    assert messages and max(len(m) for m in messages) < 1100
    assert "refused write of GearLine/MP1/MP1/MaintenancePlan" in caplog.text and "127.0.0.1:" in caplog.text
    assert max(len(r.getMessage()) for r in caplog.records) < 2000
    await srv.history.flush()
    db = sqlite3.connect(srv.settings.data_dir / "history.sqlite")
    try:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        longest = max((db.execute(f'SELECT MAX(LENGTH(CAST(Message AS BLOB))) FROM "{t}"').fetchone()[0] or 0)
                      for t in tables if "Message" in [c[1] for c in db.execute(f'PRAGMA table_info("{t}")')])
    finally:
        db.close()
    assert 0 < longest < 1200
    await honest_is_served(srv.url, trusted)
