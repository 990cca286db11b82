"""A witness client's read latency while one client attacks the server with requests whose
cost grows with their size (issue 17): for each attack a witness (its own process) reads a
tag in a loop for `--seconds`, while the attacker (this process) repeats the attack; the
table gives the witness's median and p99 read latency, what the attack got back and the
server process's RSS at the end. The goal is p99 < 200 ms.

    .venv/bin/python bench/attack_latency.py [--seconds 5] [--unlimited] [--only monitored]

`--unlimited` raises every request limit out of reach (and the minimum intervals to 1 ms),
to compare against the server without them. The figures are in docs/opcua.md.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from asyncua import Client, ua
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

NS = "urn:plant-twin:plant"
TAG = "Plant/GearLine/KPIs/WIP"
GOAL_P99_MS = 200.0
UNLIMITED = {"max_nodes_per_read": 10**9, "max_nodes_per_write": 10**9, "max_nodes_per_browse": 10**9,
             "max_paths_per_translate": 10**9, "max_browse_path_elements": 10**9, "max_nodes_per_call": 10**9,
             "max_monitored_items_per_call": 10**9, "max_nodes_per_history_read": 10**9,
             "max_history_values_per_response": 10**9, "min_publishing_interval_ms": 1.0,
             "min_sampling_interval_ms": 1.0, "max_monitored_items_per_session": 10**9,
             "max_monitored_items_total": 10**9, "notifications_per_slice": 10**9,
             "max_notifications_per_publish": 10**9, "history_read_budget_ms": 10.0**9,
             "max_references_per_node": 10**9}


# --- the server and the witness, each in a process of its own -----------------------------

def serve(unlimited: bool, conn: Connection) -> None:
    asyncio.run(_serve(unlimited, conn))


async def _serve(unlimited: bool, conn: Connection) -> None:
    from opcua_server import daemon
    from opcua_server._asyncua.server import endpoint_port
    from opcua_server.server import PlantServer
    from opcua_server.settings import ServerSettings
    from plc_sim.model.spec import load_plant
    from plc_sim.plc.runtime import PlcRuntime

    daemon.install()
    extra: dict[str, Any] = dict(UNLIMITED) if unlimited else {}
    settings = ServerSettings.load(port=0, data_dir=Path(tempfile.mkdtemp(prefix="attack-bench-")),
                                   allow_none_policy=True, trust_all_clients=True, **extra)
    plc = PlcRuntime(load_plant("gear_line"), seed=1, time_factor=3600.0, scan_s=0.1)
    async with PlantServer(plc, settings) as srv:
        daemon.tune_gc()  # as the daemon serves (the address space out of the collector's sight)
        stop = asyncio.Event()
        task = asyncio.create_task(plc.run(stop))
        conn.send(srv.url.replace(f":{settings.port}/", f":{endpoint_port(srv)}/", 1))
        await asyncio.to_thread(conn.recv)
        stop.set()
        await task


def witness(url: str, seconds: float, conn: Connection) -> None:
    conn.send(asyncio.run(_witness(url, seconds, conn)))


async def _witness(url: str, seconds: float, conn: Connection) -> tuple[list[float], str]:
    """Read latencies in ms (a read that fails counts as the whole window) and the first failure."""
    async with Client(url, timeout=30) as c:
        node = c.get_node(ua.NodeId(TAG, await c.get_namespace_index(NS)))
        await node.read_value()
        conn.send("ready")
        latencies: list[float] = []
        failure = ""
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            try:
                await node.read_value()
            except Exception as e:
                latencies.append(seconds * 1000.0)
                failure = failure or repr(e)
                break
            latencies.append((time.perf_counter() - t0) * 1000.0)
            await asyncio.sleep(0.02)
        return latencies, failure


# --- the attacks -------------------------------------------------------------------------------

Attack = Callable[[Client, ua.NodeId, list[str]], Awaitable[str]]
"""An attack: one round of requests, returning what it got (a live one notes it, then waits)."""


async def translate_huge(c: Client, nid: ua.NodeId, note: list[str]) -> str:
    hop = ua.RelativePathElement(ReferenceTypeId=ua.NodeId(ua.ObjectIds.HierarchicalReferences), IncludeSubtypes=True,
                                 IsInverse=False, TargetName=ua.QualifiedName("Nothing", 0))
    path = ua.BrowsePath(StartingNode=ua.NodeId(ua.ObjectIds.RootFolder),
                         RelativePath=ua.RelativePath(Elements=[hop] * 1000))
    results = await c.uaclient.translate_browsepaths_to_nodeids([path] * 100)
    return str(ua.StatusCode(results[0].StatusCode.value).name)


async def history_year(c: Client, nid: ua.NodeId, note: list[str], nodes: int = 1000) -> str:
    now = datetime.now(UTC)
    details = ua.ReadRawModifiedDetails(IsReadModified=False, StartTime=now - timedelta(days=365), EndTime=now,
                                        NumValuesPerNode=0, ReturnBounds=False)
    params = ua.HistoryReadParameters(HistoryReadDetails=details, NodesToRead=[ua.HistoryReadValueId(NodeId=nid)] * nodes,
                                      ReleaseContinuationPoints=False)
    results = await c.uaclient.history_read(params)
    values = sum(len(getattr(r.HistoryData, "DataValues", None) or []) for r in results)
    return f"{ua.StatusCode(results[0].StatusCode.value).name}, {values} values"


async def history_year_100(c: Client, nid: ua.NodeId, note: list[str]) -> str:
    """Within the node limit: paged by the values per response and the time budget."""
    return await history_year(c, nid, note, nodes=100)


async def browse_everything(c: Client, nid: ua.NodeId, note: list[str]) -> str:
    desc = ua.BrowseDescription(NodeId=ua.NodeId(ua.ObjectIds.RootFolder), BrowseDirection=ua.BrowseDirection.Both,
                                IncludeSubtypes=True, ResultMask=ua.BrowseResultMask.All)
    results = await c.uaclient.browse(ua.BrowseParameters(NodesToBrowse=[desc] * 20_000))
    return f"Good, {len(results)} results"


async def read_100k(c: Client, nid: ua.NodeId, note: list[str]) -> str:
    rv = ua.ReadValueId(NodeId=nid, AttributeId=ua.AttributeIds.Value)
    values = await c.uaclient.read(ua.ReadParameters(NodesToRead=[rv] * 100_000))
    return f"Good, {len(values)} values"


async def monitored_100k(c: Client, nid: ua.NodeId, note: list[str]) -> str:
    """Creates up to 100,000 items (two subscriptions, as many per call as OperationLimits allow,
    like an honest client), then keeps them live."""
    limit = c.get_node(ua.NodeId(ua.ObjectIds.Server_ServerCapabilities_OperationLimits_MaxMonitoredItemsPerCall))
    per_call = min(int(await limit.read_value()) or 1000, 1000)
    created = 0
    for _ in range(2):
        sub = await c.create_subscription(100, None)
        item = ua.MonitoredItemCreateRequest(
            ItemToMonitor=ua.ReadValueId(NodeId=nid, AttributeId=ua.AttributeIds.Value),
            MonitoringMode=ua.MonitoringMode.Reporting,
            RequestedParameters=ua.MonitoringParameters(ClientHandle=1, SamplingInterval=100, QueueSize=1))
        for _ in range(50_000 // per_call):
            params = ua.CreateMonitoredItemsParameters(SubscriptionId=sub.subscription_id, ItemsToCreate=[item] * per_call)
            results = await c.uaclient.create_monitored_items(params)
            created += sum(1 for r in results if r.StatusCode.is_good())
            note[:] = [f"{created} created, {per_call} per call"]
    await asyncio.Event().wait()  # live until the window ends
    return note[-1]


async def publish_1ms(c: Client, nid: ua.NodeId, note: list[str]) -> str:
    """20 subscriptions at 1 ms on each of 10 sessions, one item each."""
    clients = [Client(c.server_url.geturl(), timeout=30) for _ in range(9)]
    try:
        for other in clients:
            await other.connect()
        for session in [c, *clients]:
            for _ in range(20):
                sub = await session.create_subscription(1, None)
                revised = sub.parameters.RequestedPublishingInterval
                await sub.subscribe_data_change(session.get_node(nid))
                note[:] = [f"revised {revised:g} ms"]
        await asyncio.Event().wait()
    finally:
        for other in clients:
            await other.disconnect()
    return f"revised {revised:g} ms"


ATTACKS: dict[str, Attack | None] = {
    "none (baseline)": None,
    "TranslateBrowsePaths 100 x 1,000 elements": translate_huge,
    "HistoryRead 1 year x 1,000 nodes": history_year,
    "HistoryRead 1 year x 100 nodes": history_year_100,
    "Browse 20,000 nodes": browse_everything,
    "Read 100,000 nodes": read_100k,
    "100,000 monitored items": monitored_100k,
    "10 sessions x 20 subscriptions at 1 ms": publish_1ms,
}


async def _repeat(attack: Attack, url: str, seconds: float) -> str:
    """Repeats the attack until the window ends; the outcome of the last one."""
    outcome = "(not finished)"
    note: list[str] = []
    async with Client(url, timeout=120) as c:
        nid = ua.NodeId(TAG, await c.get_namespace_index(NS))
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            try:
                outcome = await asyncio.wait_for(attack(c, nid, note), timeout=max(end - time.perf_counter(), 0.1))
            except TimeoutError:
                outcome = note[-1] if note else outcome
                break
            except ua.UaStatusCodeError as e:
                outcome = ua.StatusCode(e.code).name
            except Exception as e:
                outcome = type(e).__name__
            await asyncio.sleep(0.05)
    return outcome


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


async def _measure(ctx: mp.context.SpawnContext, url: str, attack: Attack | None, seconds: float
                   ) -> tuple[list[float], str]:
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=witness, args=(url, seconds, child), name="witness", daemon=True)
    proc.start()
    assert await asyncio.to_thread(parent.recv) == "ready"
    outcome = await _repeat(attack, url, seconds) if attack else "-"
    latencies, failure = await asyncio.to_thread(parent.recv)
    proc.join()
    return latencies, f"{outcome}; witness: {failure}" if failure else outcome


def _p99(xs: list[float]) -> float:
    return sorted(xs)[min(int(len(xs) * 0.99), len(xs) - 1)] if xs else float("nan")


async def main_async(a: argparse.Namespace) -> None:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=serve, args=(a.unlimited, child), name="opcua-server")
    server.start()
    url = await asyncio.to_thread(parent.recv)
    assert server.pid is not None
    table = Table(title=f"Witness read latency during each attack ({'no limits' if a.unlimited else 'limits on'}; "
                        f"goal p99 < {GOAL_P99_MS:.0f} ms)")
    for col in ("attack", "attack got", "reads", "median ms", "p99 ms", "server RSS MB"):
        table.add_column(col, justify="left" if col.startswith("attack") else "right")
    try:
        with Progress() as progress:
            chosen = {k: v for k, v in ATTACKS.items() if v is None or any(w.lower() in k.lower() for w in a.only)}
            task = progress.add_task("attacks", total=len(chosen))
            for name, attack in chosen.items():
                progress.update(task, description=name)
                latencies, outcome = await _measure(ctx, url, attack, a.seconds)
                table.add_row(name, outcome, str(len(latencies)), f"{statistics.median(latencies):.1f}",
                              f"{_p99(latencies):.1f}", f"{_rss_mb(server.pid):.0f}")
                progress.advance(task)
    finally:
        parent.send("stop")
        server.join(timeout=30)
    Console(width=160).print(table)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--unlimited", action="store_true")
    ap.add_argument("--only", nargs="*", default=[""], help="run the attacks whose names contain one of these words")
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()
