"""Security of the OPC UA server: a server certificate generated on first run and kept in the
data directory (its key readable by the owner only), the Basic256Sha256 and
Aes256_Sha256_RsaPss policies in Sign and SignAndEncrypt (None only when switched on),
anonymous and username tokens, and a trust list of client certificates
(<data_dir>/pki/trusted, see `pki.TrustList`) unless `trust_all_clients` is set."""

from __future__ import annotations

import socket
from pathlib import Path

from asyncua import Server, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import PermissionRuleset
from cryptography.x509.oid import ExtendedKeyUsageOID

from .pki import TrustList
from .settings import ServerSettings

SECURE_POLICIES = [
    ua.SecurityPolicyType.Basic256Sha256_Sign,
    ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
    ua.SecurityPolicyType.Aes256Sha256RsaPss_Sign,
    ua.SecurityPolicyType.Aes256Sha256RsaPss_SignAndEncrypt,
]


def pki_dirs(data_dir: Path) -> dict[str, Path]:
    pki = data_dir / "pki"
    return {"own": pki / "own", "trusted": pki / "trusted", "rejected": pki / "rejected"}


async def configure_security(server: Server, settings: ServerSettings, ruleset: PermissionRuleset) -> None:
    dirs = pki_dirs(settings.data_dir)
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    dirs["own"].chmod(0o700)
    key, cert = dirs["own"] / "server_key.pem", dirs["own"] / "server_cert.der"
    await setup_self_signed_certificate(
        key, cert, settings.application_uri, socket.gethostname(), [ExtendedKeyUsageOID.SERVER_AUTH],
        {"countryName": "EU", "organizationName": "plant-twin", "commonName": "plant-twin OPC UA server"})
    key.chmod(0o600)
    await server.load_certificate(cert)
    await server.load_private_key(key)
    policies = list(SECURE_POLICIES)
    if settings.allow_none_policy:
        policies.insert(0, ua.SecurityPolicyType.NoSecurity)
    server.set_security_policy(policies, permission_ruleset=ruleset)
    tokens: list[type] = [ua.UserNameIdentityToken]
    if settings.allow_anonymous:
        tokens.insert(0, ua.AnonymousIdentityToken)
    server.set_identity_tokens(tokens)
    if not settings.trust_all_clients:
        server.set_certificate_validator(TrustList(dirs["trusted"], dirs["rejected"]))
