"""One Prometheus endpoint for the parts a command runs (docs/metrics.md): `plant plc` serves
the PLC's and the server's collectors, `plant optimizer` the optimizer's, `plant up` all of
them and the twin's on one port. Each part defines its own collector; this only serves them."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from prometheus_client.registry import Collector

from plantctl.errors import fail

if TYPE_CHECKING:
    from opcua_server.server import PlantServer
    from optimizer_svc.audit import AuditLog
    from plantctl.cmd_up import Up
    from plc_sim.plc.runtime import PlcRuntime
    from twin_core.twin import Twin

log = logging.getLogger(__name__)


def serve_metrics(collectors: Iterable[Collector], host: str, port: int) -> Any:
    """An HTTP server of the collectors' metrics on (host, port), port 0 for any free one;
    returns it (`server.server_address[1]` is its port; `.shutdown()` stops it)."""
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry()
    for c in collectors:
        registry.register(c)
    server, _thread = start_http_server(port, addr=host, registry=registry)
    log.info("metrics at http://%s:%d/metrics", host, server.server_address[1])
    return server


def stop_metrics(server: Any) -> None:
    """Stop a server of `serve_metrics` and release its port."""
    server.shutdown()
    server.server_close()


def check_metrics_port(host: str, port: int, setting: str) -> None:
    """The port free on `host`, or one line naming the `setting` that chose it."""
    try:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as e:
        fail(f"metrics port {port} on {host}: {e.strerror or e} ({setting}; 0 turns the metrics off)")


PLC_SETTING = "[plc] metrics_port or PLANT_PLC_METRICS_PORT"


def plc_collectors(plc: PlcRuntime, server: PlantServer) -> list[Collector]:
    """What `plant plc` serves: the PLC's and its OPC UA server's metrics."""
    from opcua_server.metrics import ServerCollector
    from plc_sim.plc.metrics import PlcCollector

    return [PlcCollector(plc), ServerCollector(server)]


def up_collectors(plc: PlcRuntime, server: PlantServer, twin: Twin | None, audit: AuditLog | None
                  ) -> list[Collector]:
    """What `plant up` serves: every part's metrics (the twin's without its last calibration,
    which its daemon keeps to itself)."""
    from optimizer_svc.metrics import OptimizerCollector
    from twin_core.health import Health, TwinCollector

    parts = plc_collectors(plc, server)
    if twin is not None:
        parts.append(TwinCollector(twin, Health(twin)))
    if audit is not None:
        parts.append(OptimizerCollector(audit))
    return parts


def serve_up(up: Up) -> Any:
    """`plant up`'s one endpoint of every part on the PLC's metrics port, once the parts run;
    None when the port is 0."""
    plc_settings = up.cfg.plc
    if not plc_settings.metrics_port or up.plc is None or up.daemon is None:
        return None
    audit = up.service.audit if up.service is not None else None
    return serve_metrics(up_collectors(up.plc, up.daemon.server, up.twin, audit), plc_settings.metrics_host,
                         plc_settings.metrics_port)
