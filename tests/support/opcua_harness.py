"""A real PLC + OPC UA server on a loopback port, for tests: it binds port 0 and the tests
read the port it got from `srv.url`, so servers of tests running side by side never race for
a port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from asyncua import Client, Node, ua

from opcua_server import daemon
from opcua_server._asyncua.server import endpoint_port as endpoint_port
from opcua_server.server import PlantServer
from opcua_server.settings import ServerSettings
from plc_sim.model.spec import load_plant
from plc_sim.plc.runtime import PlcRuntime
from tests.support.polling import until as until

NS = "urn:plant-twin:plant"
USERS = {"eve": ("engineer", "eve-pw"), "olga": ("operator", "olga-pw"), "vic": ("viewer", "vic-pw")}


def bound_url(srv: PlantServer) -> str:
    """The server's URL with the port it bound (it was started on port 0)."""
    return srv.url.replace(f":{srv.settings.port}/", f":{endpoint_port(srv)}/", 1)


@asynccontextmanager
async def running_plant(data_dir: Path, plant: str = "gear_line", time_factor: float | None = 3600.0 * 10,
                        start_h: float = 0.0, held: bool = False, **settings: object
                        ) -> AsyncIterator[tuple[PlcRuntime, PlantServer]]:
    opts = {"port": 0, "data_dir": data_dir, "allow_none_policy": True, "trust_all_clients": True}
    opts.update(settings)
    daemon.install()  # the fast path and the sqlite3 converter; the collector is left alone
    plc = PlcRuntime(load_plant(plant), seed=3, time_factor=time_factor, scan_s=0.05, start_h=start_h)
    plc.held = held  # plant time stands still until the test releases it
    srv = PlantServer(plc, ServerSettings.load(**opts))
    for name, (role, pw) in USERS.items():
        srv.users.add(name, role, pw)
    async with srv:
        srv.url = bound_url(srv)
        stop = asyncio.Event()
        task = asyncio.create_task(plc.run(stop))
        try:
            yield plc, srv
        finally:
            stop.set()
            await task


def client(srv: PlantServer, user: str | None = None) -> Client:
    """An asyncua client of the test plant, logged in as one of USERS (anonymous: None)."""
    c = Client(srv.url, timeout=10)
    if user:
        c.set_user(user)
        c.set_password(USERS[user][1])
    return c


def plant_node(c: Client, idx: int, path: str) -> Node:
    """The node of a browse path below Objects/Plant (its string NodeId)."""
    return c.get_node(ua.NodeId(f"Plant/{path}", idx))


async def call_in(c: Client, folder: str, method: str, *args: ua.Variant) -> object:
    """Call `method` of the object at `folder` (a browse path below Objects/Plant)."""
    idx = await c.get_namespace_index(NS)
    return await plant_node(c, idx, folder).call_method(ua.QualifiedName(method, idx), *args)


async def refusal_in(c: Client, folder: str, method: str, *args: ua.Variant) -> int:
    """The StatusCode a call that must be refused answers with (fails if it is accepted)."""
    try:
        await call_in(c, folder, method, *args)
    except ua.UaStatusCodeError as e:
        return int(e.code)
    raise AssertionError(f"{folder}/{method} was accepted")


def double(v: float) -> ua.Variant:
    return ua.Variant(v, ua.VariantType.Double)


def int32(v: int) -> ua.Variant:
    return ua.Variant(v, ua.VariantType.Int32)


def text(v: str) -> ua.Variant:
    return ua.Variant(v, ua.VariantType.String)
