"""Scraping a metrics endpoint of the project as Prometheus does, parsed with its own parser."""

from __future__ import annotations

import asyncio
import urllib.request
from typing import Any

from prometheus_client.parser import text_string_to_metric_families


def scrape_text(server: Any) -> str:
    host, port = server.server_address[:2]
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=10) as r:
        return str(r.read().decode())


def samples(server: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample: (name, sorted labels) -> value."""
    out = {}
    for family in text_string_to_metric_families(scrape_text(server)):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def scrape(server: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """`samples` off the event loop (the scrape runs collectors that may wait for the loop)."""
    return await asyncio.to_thread(samples, server)


def value(got: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return got[(name, tuple(sorted(labels.items())))]
