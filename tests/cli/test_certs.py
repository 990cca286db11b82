"""`plant certs` over a data directory, and users added while the server runs: what an
administrator does without restarting the server."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from opcua_server.users import UserStore

PLANT = [str(Path(sys.executable).parent / "plant")]


def plant(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(PLANT + list(args), capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "200"})


def der_certificate(cn: str) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


def test_a_rejected_certificate_is_trusted_and_rejected_again(tmp_path: Path) -> None:
    rejected = tmp_path / "pki" / "rejected"
    rejected.mkdir(parents=True)
    (rejected / "hmi_abc123.der").write_bytes(der_certificate("hmi"))
    listed = plant("certs", "list", "--data-dir", str(tmp_path))
    assert listed.returncode == 0 and "rejected\thmi_abc123.der\tCN=hmi" in listed.stdout
    assert plant("certs", "trust", "hmi", "--data-dir", str(tmp_path)).returncode == 0
    assert (tmp_path / "pki" / "trusted" / "hmi_abc123.der").exists() and not any(rejected.iterdir())
    again = plant("certs", "trust", "hmi", "--data-dir", str(tmp_path))
    assert again.returncode == 2 and "no certificate" in again.stderr
    assert plant("certs", "reject", "hmi_abc", "--data-dir", str(tmp_path)).returncode == 0
    assert (rejected / "hmi_abc123.der").exists()


def test_users_added_by_another_process_are_seen_without_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    server_side = UserStore(path)
    assert server_side.verify("alice", "alice-secret-1") is None
    UserStore(path).add("alice", "engineer", "alice-secret-1")
    assert server_side.verify("alice", "alice-secret-1") == "engineer"
    UserStore(path).remove("alice")
    assert server_side.role("alice") is None
