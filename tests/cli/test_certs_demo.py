"""`plant certs list` in the demo profile (any client certificate accepted): the clients
that connected are listed from pki/accepted, which holds at most `max_accepted_certificates`;
an empty folder says so instead of printing nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from opcua_server.security import pki_dirs
from tests.security.test_opcua_security import _client_cert, _secure_client
from tests.support.opcua_harness import NS, running_plant

PLANT = [str(Path(sys.executable).parent / "plant")]


def plant(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PLANT, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "200"})


def test_empty_lists_say_so(tmp_path: Path) -> None:
    (tmp_path / "pki").mkdir()
    r = plant("certs", "list", "--data-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert f"trusted\t-\tno trusted certificates (a client's DER certificate copied into {tmp_path / 'pki' / 'trusted'}" \
        in r.stdout
    assert "rejected\t-\tno refused certificates" in r.stdout
    assert "accepted\t-\tno client has connected in the demo profile" in r.stdout


async def _read_cards(srv, cert) -> int:
    async with await _secure_client(srv, cert) as c:
        idx = await c.get_namespace_index(NS)
        return int(await c.get_node(f"ns={idx};s=Plant/GearLine/Control/C_A").read_value())


@pytest.mark.asyncio
async def test_demo_clients_are_listed_bounded_and_can_be_trusted(tmp_path: Path) -> None:
    certs = [_client_cert(tmp_path / "certs", f"hmi-{i}") for i in range(3)]
    async with running_plant(tmp_path / "data", max_accepted_certificates=2) as (_plc, srv):
        for cert in certs:
            assert await _read_cards(srv, cert) >= 1
        accepted = pki_dirs(tmp_path / "data")["accepted"]
        kept = sorted(p.name.split("_")[0] for p in accepted.iterdir())
        assert kept == ["hmi-1", "hmi-2"], "the oldest goes beyond the limit"
        listed = plant("certs", "list", "--data-dir", str(tmp_path / "data"))
        assert listed.returncode == 0, listed.stderr
        assert "accepted\thmi-2_" in listed.stdout and "CN=hmi-2" in listed.stdout
        assert "trusted\t-\tno trusted certificates" in listed.stdout
        assert await _read_cards(srv, certs[0]) >= 1, "a client whose copy was dropped is still served"
        trusted = plant("certs", "trust", "hmi-2", "--data-dir", str(tmp_path / "data"))
        assert trusted.returncode == 0, trusted.stderr
        assert [p.name.split("_")[0] for p in pki_dirs(tmp_path / "data")["trusted"].iterdir()] == ["hmi-2"]
