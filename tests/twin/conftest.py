"""Fixtures of the twin's tests: twin settings pointing at a loopback plant, and a real
InfluxDB-protocol server (Debian's victoria-metrics) on a free loopback port."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.polling import wait_until
from tests.support.ports import PortTaken, on_free_port
from twin_core.settings import TwinSettings

VM_BINARY = shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics"


def twin_settings(url: str, data_dir: Path, **kw: object) -> TwinSettings:
    opts: dict[str, object] = {"endpoint": url, "data_dir": data_dir, "username": "vic", "password": "vic-pw",
                               "publishing_ms": 50.0, "sampling_ms": 0.0, "reconnect_min_s": 0.1,
                               "reconnect_max_s": 0.5, "metrics_port": 0, "flush_interval_s": 0.05}
    opts.update(kw)
    return TwinSettings.load(**opts)


class VictoriaMetrics:
    """One victoria-metrics process with its own storage; stopped and started by its handle."""

    def __init__(self, storage: Path) -> None:
        self.storage = storage
        self.port = 0
        """Chosen at the first start (victoria-metrics cannot bind port 0 and report it); kept
        over restarts, so the twin's sink sees the same server come back."""
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self.port:
            self._start(self.port)
        else:
            self.port = on_free_port(self._start)

    def _start(self, port: int) -> int:
        log_path = self.storage.parent / f"vm-{port}.log"
        with open(log_path, "ab") as log:
            proc = self.proc = subprocess.Popen(
                [VM_BINARY, f"-httpListenAddr=127.0.0.1:{port}", f"-storageDataPath={self.storage}",
                 "-retentionPeriod=100y", "-dedup.minScrapeInterval=1ms", "-search.latencyOffset=0s",
                 "-search.disableCache"], stdout=log, stderr=subprocess.STDOUT)

        def healthy() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                    return r.status == 200
            except OSError:
                if proc.poll() is None:
                    return False
            self.proc = None
            if "address already in use" in log_path.read_text(errors="replace"):
                raise PortTaken(port) from None
            raise RuntimeError(f"victoria-metrics exited with {proc.returncode} (log: {log_path})") from None

        wait_until(healthy, 60, "victoria-metrics healthy", interval=0.05)
        return port

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def export(self, match: str) -> list[dict]:
        """Every stored series matching `match`, as /api/v1/export gives them."""
        urllib.request.urlopen(f"{self.url}/internal/force_flush", timeout=10).read()
        q = urllib.parse.urlencode({"match[]": match, "start": "0"})
        with urllib.request.urlopen(f"{self.url}/api/v1/export?{q}", timeout=10) as r:
            return [json.loads(line) for line in r.read().decode().splitlines() if line.strip()]


@pytest.fixture
def vm(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    if not Path(VM_BINARY).exists():
        pytest.skip("victoria-metrics is not installed: `sudo apt-get install victoria-metrics` (or `make test` "
                    "as root) to run the InfluxDB-protocol tests")
    server = VictoriaMetrics(tmp_path / "vm-data")
    server.start()
    try:
        yield server
    finally:
        server.stop()
