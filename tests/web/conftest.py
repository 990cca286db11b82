"""A real plant for the browser: PLC + OPC UA server on loopback (tests/support harness), the
twin mirroring it into its embedded history, an optimizer audit log, and the web view on a
free port; and Debian's chromium driven by Playwright (the tests skip with the reason when
either is missing: `make test` installs chromium as root)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from optimizer_svc.audit import AuditLog
from plc_sim.plc.runtime import PlcRuntime
from tests.support.opcua_harness import running_plant
from tests.twin.conftest import twin_settings
from twin_core.twin import Twin
from web_view.server import WebServer
from web_view.settings import WebSettings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WAIT_MS = 60_000
"""Playwright's deadline for one wait (a guard against a hang, not a speed requirement)."""

AUDIT_ENTRY: dict[str, Any] = {
    "job": "cards", "problem": "cards", "algorithm": "PSO", "outcome": "written", "reasons": [],
    "written": {"C.A": 12}, "improvement": {"mean": 41.5, "half_width": 12.25, "n": 8}, "p_value": 0.0031,
    "before": {"Zmax": {"mean": -1000.0, "half_width": 20.0, "n": 8}},
    "after": {"Zmax": {"mean": -958.5, "half_width": 19.0, "n": 8}}}
"""An optimizer run as `optimizer_svc.cycle.run_job` audits one (the fields the page shows)."""


@dataclass
class Stack:
    plc: PlcRuntime
    srv: Any
    twin: Twin
    web: WebServer
    url: str


@pytest.fixture
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM}: `sudo apt-get install chromium` (make test does it as root)")
    pytest.importorskip("playwright.async_api", reason="playwright (pip, the test extra) is not installed")
    return CHROMIUM


@pytest_asyncio.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    audit = tmp_path / "optimizer" / "audit.jsonl"
    audit.parent.mkdir()
    AuditLog(audit).record(AUDIT_ENTRY)
    async with running_plant(tmp_path / "plc") as (plc, srv):
        twin = Twin(twin_settings(srv.url, tmp_path / "twin"))
        async with twin:
            web = WebServer(WebSettings(port=0), twin.spec, lambda: twin.state, srv.url,
                            srv.settings.data_dir / "users.json", tmp_path / "twin" / "history.sqlite", audit)
            url = await web.start()
            try:
                yield Stack(plc, srv, twin, web, url)
            finally:
                await web.stop()


@pytest_asyncio.fixture
async def page(chromium: str, tmp_path: Path) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        context = await p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        context.set_default_timeout(WAIT_MS)
        try:
            yield context.pages[0] if context.pages else await context.new_page()
        finally:
            await context.close()
