"""Secrets and history private whatever the umask (issue 17, item 4): `plant up` (server,
twin and optimizer) run under umask 0o022 and 0o000 leaves every file of its data
directories 0600 and every folder 0700, the private keys of all three included."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from asyncua.crypto import uacrypto

from opcua_server.pki import TrustList
from opcua_server.users import UserStore
from plc_sim.model.private_files import private_dir, private_file, write_private
from tests.cli.test_up import audit_entries, plant_up, poll, stop
from tests.security.attack import client_cert

EXPECTED = ["pki/own/server_key.pem", "pki/own/server_cert.der", "users.json", "history.sqlite",
            "twin/pki/own/twin_key.pem", "twin/pki/own/twin_cert.der", "twin/history.sqlite", "twin/spool.sqlite",
            "twin/snapshot.json", "twin/health.json", "optimizer/pki/own/optimizer_key.pem", "optimizer/audit.jsonl",
            "optimizer/password"]
"""Files that must be there (the listing checks every file, these and the others)."""


def _modes(root: Path, skip: set[str]) -> dict[str, int]:
    """Every file and folder below `root` (and root) -> its permission bits."""
    out = {".": stat.S_IMODE(root.stat().st_mode)}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            if rel not in skip:
                out[rel + ("/" if path.is_dir() else "")] = stat.S_IMODE(path.lstat().st_mode)
    return out


def _wrong(modes: dict[str, int]) -> dict[str, str]:
    return {p: oct(m) for p, m in modes.items() if m != (0o700 if p.endswith("/") or p == "." else 0o600)}


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_plant_up_writes_private_files_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)  # an existing data directory is made private too
    old = os.umask(umask)
    try:
        with plant_up(data, "--no-ui", "--time-factor", "max", "--optimize-every", "5") as (proc, log, _url):
            os.umask(old)
            poll(lambda: [e for e in audit_entries(data / "optimizer" / "audit.jsonl")
                          if e.get("outcome") not in (None, "skipped")], 120, "an audited optimisation run", proc, log)
            poll(lambda: all((data / p).exists() for p in EXPECTED), 60, "every expected file", proc, log)
            stop(proc, log)
    finally:
        os.umask(old)
    modes = _modes(data, skip={"up.log", "up.out"})
    assert set(EXPECTED) <= set(modes), sorted(modes)
    assert not _wrong(modes), _wrong(modes)


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_rejected_certificates_users_and_the_helpers_are_private(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        cert = client_cert(tmp_path / "certs", "stranger")
        pki = tmp_path / "data" / "pki"
        trust = TrustList(pki / "trusted", pki / "rejected")
        trust.reject(uacrypto.x509_from_der(cert[0].read_bytes()))
        UserStore(tmp_path / "data" / "users.json").add("ann", "viewer", "pw")
        write_private(tmp_path / "data" / "a" / "b" / "secret", "s")
        private_file(tmp_path / "data" / "c" / "db.sqlite")
        private_dir(tmp_path / "data" / "d")
    finally:
        os.umask(old)
    modes = _modes(tmp_path / "data", skip=set())
    assert "pki/rejected/" in modes and any(p.startswith("pki/rejected/stranger_") for p in modes)
    assert not _wrong(modes), _wrong(modes)
