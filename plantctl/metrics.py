"""One Prometheus endpoint for the parts a command runs (docs/metrics.md): `plant plc` serves
the PLC's and the server's collectors, `plant optimizer` the optimizer's, `plant up` all of
them and the twin's on one port. Each part defines its own collector; this only serves them."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterable
from typing import Any

from prometheus_client.registry import Collector

from plantctl.errors import fail

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
