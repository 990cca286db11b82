"""The metrics endpoints as users run them: `plant plc` serves the PLC's and the server's
metrics on [plc] metrics_port, `plant up` every part's on the same one. Real subprocesses on
loopback, scraped over HTTP and parsed with Prometheus' parser."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from asyncua import Client, ua
from prometheus_client.parser import text_string_to_metric_families

from tests.metrics.scrape import samples, scrape_text, value
from tests.support.daemons import PLANT, Daemon, run_daemon
from tests.support.opcua_harness import NS
from tests.support.polling import wait_until
from tests.support.ports import PortTaken, on_free_port

CONFIG = "[plc]\ntime_factor = 600\n\n[opcua]\nport = 0\n"


class _Endpoint:
    """What `samples` and `scrape_text` take: an address."""

    def __init__(self, port: int) -> None:
        self.server_address = ("127.0.0.1", port)


@contextmanager
def _daemon(tmp_path: Path, args: list[str]) -> Iterator[tuple[Daemon, _Endpoint]]:
    """`plant <args>` with PLANT_PLC_METRICS_PORT on a free port, once it listens."""
    stack = contextlib.ExitStack()

    def start(port: int) -> tuple[Daemon, _Endpoint]:
        log = tmp_path / f"{args[0]}-{port}.log"
        daemon = stack.enter_context(run_daemon(args, log, {"PLANT_PLC_METRICS_PORT": str(port),
                                                            "PLANT_DATA_DIR": str(tmp_path)}))
        try:
            daemon.url()
        except AssertionError:
            if "Address already in use" in daemon.text():
                raise PortTaken(port) from None
            raise
        return daemon, _Endpoint(port)

    with stack:
        yield on_free_port(start)


def _write_out_of_range(url: str) -> None:
    async def write() -> None:
        async with Client(url, timeout=10) as c:
            idx = await c.get_namespace_index(NS)
            node = c.get_node(ua.NodeId("Plant/GearLine/Control/K1_B", idx))
            with contextlib.suppress(ua.UaStatusCodeError):
                await node.write_value(ua.Variant(0, ua.VariantType.Int32))
    asyncio.run(write())


def _refused(got: dict, code: str) -> float:
    return sum(v for (n, labels), v in got.items()
               if n == "plant_opcua_refused_requests_total" and ("status_code", code) in labels)


def test_plant_plc_serves_plc_and_server_metrics(tmp_path: Path) -> None:
    config = tmp_path / "plant.toml"
    config.write_text(CONFIG)
    with _daemon(tmp_path, ["plc", "--config", str(config), "--allow-none", "--trust-all"]) as (plc, endpoint):
        first = samples(endpoint)
        wait_until(lambda: value(samples(endpoint), "plant_plc_plant_time_seconds")
                   > value(first, "plant_plc_plant_time_seconds"), 60, "plant time to advance")
        _write_out_of_range(plc.url())  # anonymous: refused before the range is checked
        got = samples(endpoint)
        assert value(got, "plant_plc_scans_total") > value(first, "plant_plc_scans_total")
        assert _refused(got, "BadUserAccessDenied") == _refused(first, "BadUserAccessDenied") + 1
        assert value(got, "plant_opcua_sessions") == 0, "the client closed its session"
        assert plc.stop() == 0, plc.tail()


def test_plant_up_serves_every_part_on_one_port(tmp_path: Path) -> None:
    args = ["up", "--no-ui", "--port", "0", "--data-dir", str(tmp_path), "--time-factor", "max",
            "--optimize-every", "3600"]
    with _daemon(tmp_path, args) as (up, endpoint):
        def families() -> set[str]:
            """The families served; none before the parts all run (the endpoint opens then)."""
            try:
                return {f.name for f in text_string_to_metric_families(scrape_text(endpoint))}
            except OSError:
                assert up.proc.poll() is None, up.tail()
                return set()
        got = wait_until(lambda: (f := families()) >= {"plant_twin_connected"} and f, 90, "the twin's metrics")
        assert {"plant_plc_scans", "plant_opcua_sessions", "plant_opcua_refused_requests", "plant_twin_connected",
                "plant_optimizer_runs", "plant_optimizer_cycle_seconds"} <= got
        wait_until(lambda: any(n == "plant_optimizer_runs_total" for n, _ in samples(endpoint)), 120,
                   "the optimizer's first run counted")
        assert up.stop() == 0, up.tail()


def test_a_busy_metrics_port_is_one_error_line_naming_the_setting(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        r = subprocess.run([PLANT, "plc", "--port", "0", "--data-dir", str(tmp_path)], capture_output=True, text=True,
                           timeout=60, check=False, env={**os.environ, "PLANT_PLC_METRICS_PORT": str(busy)})
    assert r.returncode == 2, r.stderr
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and f"metrics port {busy}" in lines[0] and "PLANT_PLC_METRICS_PORT" in lines[0], r.stderr
