"""The twin's side of OPC UA security: its own application certificate, generated on first
run in `<data dir>/pki/own`; the choice of endpoint: the configured policy and mode
(Basic256Sha256 SignAndEncrypt by default), None only when the server offers nothing else
and the settings allow it; and the server's certificate, trusted on first use and pinned."""

from __future__ import annotations

import logging
import re
import socket
from pathlib import Path

from asyncua import Client, ua
from asyncua.crypto import security_policies as sp
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from cryptography.x509.oid import ExtendedKeyUsageOID

from plc_sim.model.private_files import private_dir, private_file, write_private

from .settings import TwinSettings

log = logging.getLogger(__name__)

POLICIES = {"Basic256Sha256": sp.SecurityPolicyBasic256Sha256,
            "Aes256_Sha256_RsaPss": sp.SecurityPolicyAes256Sha256RsaPss}


class SecurityRefusedError(Exception):
    """The server offers no endpoint the settings accept."""


async def own_certificate(settings: TwinSettings) -> tuple[Path, Path]:
    own = private_dir(settings.data_dir / "pki" / "own")
    cert, key = own / "twin_cert.der", own / "twin_key.pem"
    await setup_self_signed_certificate(key, cert, settings.application_uri, socket.gethostname(),
                                        [ExtendedKeyUsageOID.CLIENT_AUTH],
                                        {"countryName": "EU", "organizationName": "plant-twin",
                                         "commonName": "plant-twin twin"})
    return private_file(cert), private_file(key)  # asyncua writes them with the umask's mode


def pinned_path(settings: TwinSettings) -> Path:
    name = re.sub(r"[^A-Za-z0-9.-]+", "_", settings.endpoint.split("://", 1)[-1]).strip("_")
    return settings.data_dir / "pki" / "servers" / f"{name}.der"


def check_pinned(settings: TwinSettings, der: bytes) -> None:
    """Keep the server's certificate at first sight; refuse a different one afterwards."""
    path = pinned_path(settings)
    if not path.exists():
        write_private(path, der)
        log.info("trusting the server certificate of %s on first use (%s)", settings.endpoint, path)
        return
    if path.read_bytes() != der:
        raise SecurityRefusedError(f"the server certificate of {settings.endpoint} changed since it was pinned in "
                                   f"{path}; remove that file to trust the new one")


async def secure_client(settings: TwinSettings) -> Client:
    """A client set up for the best endpoint the settings allow (not yet connected)."""
    endpoints = await Client(settings.endpoint, timeout=settings.request_timeout_s).connect_and_get_server_endpoints()
    policy_uri = POLICIES[settings.security_policy].URI
    mode = getattr(ua.MessageSecurityMode, settings.security_mode)
    client = Client(settings.endpoint, timeout=settings.request_timeout_s)
    client.application_uri = settings.application_uri
    client.name = client.description = "plant-twin twin"
    if settings.username:
        client.set_user(settings.username)
        client.set_password(settings.password or "")
    chosen = [e for e in endpoints if e.SecurityPolicyUri == policy_uri and e.SecurityMode == mode]
    if chosen:
        if settings.pin_server_certificate:
            check_pinned(settings, chosen[0].ServerCertificate or b"")
        cert, key = await own_certificate(settings)
        await client.set_security(POLICIES[settings.security_policy], str(cert), str(key), mode=mode)
        return client
    offered = {(e.SecurityPolicyUri.rsplit("#", 1)[-1], e.SecurityMode.name) for e in endpoints}
    if settings.allow_none and all(e.SecurityMode == ua.MessageSecurityMode.None_ for e in endpoints):
        log.warning("the server offers only the None policy: connecting UNENCRYPTED (allow_none is set)")
        return client
    raise SecurityRefusedError(f"no endpoint with {settings.security_policy} {settings.security_mode}; "
                          f"the server offers {sorted(offered)}")
