"""Security of the OPC UA server: a server certificate generated on first run and kept in the
data directory (its key readable by the owner only), the Basic256Sha256 and
Aes256_Sha256_RsaPss policies in Sign and SignAndEncrypt (None only when switched on),
anonymous and username tokens, and a trust list of client certificates
(<data_dir>/pki/trusted, see `pki.TrustList`) unless `trust_all_clients` is set."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asyncua import Server, ua
from asyncua.crypto.cert_gen import dump_private_key_as_pem, generate_private_key, generate_self_signed_app_certificate
from asyncua.crypto.permission_rules import PermissionRuleset
from asyncua.crypto.uacrypto import load_certificate, load_private_key
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import (
    ExtendedKeyUsageOID,
    NameOID,
)

from plc_sim.model.private_files import private_dir, private_file, write_private

from .pki import AcceptedLog, TrustList
from .settings import ServerSettings

SECURE_POLICIES = [
    ua.SecurityPolicyType.Basic256Sha256_Sign,
    ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
    ua.SecurityPolicyType.Aes256Sha256RsaPss_Sign,
    ua.SecurityPolicyType.Aes256Sha256RsaPss_SignAndEncrypt,
]


def pki_dirs(data_dir: Path) -> dict[str, Path]:
    pki = data_dir / "pki"
    return {"own": pki / "own", "trusted": pki / "trusted", "rejected": pki / "rejected", "accepted": pki / "accepted"}


async def configure_security(server: Server, settings: ServerSettings, ruleset: PermissionRuleset) -> None:
    dirs = pki_dirs(settings.data_dir)
    for d in dirs.values():
        private_dir(d)
    key, cert = dirs["own"] / "server_key.pem", dirs["own"] / "server_cert.der"
    await own_certificate(key, cert, settings.application_uri, settings.host)
    for path in (key, cert, *dirs["trusted"].iterdir(), *dirs["rejected"].iterdir(), *dirs["accepted"].iterdir()):
        if path.is_file():
            private_file(path)  # also those an administrator copied in, or an older version wrote
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
    if settings.trust_all_clients:
        server.set_certificate_validator(AcceptedLog(dirs["accepted"], settings.max_accepted_certificates))
    else:
        server.set_certificate_validator(TrustList(dirs["trusted"], dirs["rejected"]))


log = logging.getLogger(__name__)
COMMON_NAME = "plant-twin OPC UA server"


def host_names(host: str) -> tuple[list[str], list[str]]:
    """DNS names and IP addresses clients may reach this host by: its name (and fully
    qualified name), localhost, the listening address and the host's own addresses."""
    hostname = socket.gethostname()
    dns = list(dict.fromkeys([hostname, socket.getfqdn(), "localhost"]))
    ips = ["127.0.0.1", "::1"]
    for name in (hostname, host):
        with contextlib.suppress(OSError):
            ips += [str(info[4][0]) for info in socket.getaddrinfo(name, None)]
    try:
        ipaddress.ip_address(host)
        ips.append(host)
    except ValueError:
        if host and host not in dns:
            dns.append(host)
    return dns, [ip for ip in dict.fromkeys(ips) if _plain_ip(ip) and ip not in ("0.0.0.0", "::")]


def _plain_ip(text: str) -> bool:
    """An address a certificate can name (not a scoped IPv6 one such as fe80::1%eth0)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _fits(cert: x509.Certificate, app_uri: str, dns: list[str], ips: list[str]) -> bool:
    now = datetime.now(UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc - timedelta(days=7):
        return False
    if len(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)) != 1:
        return False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have_ips = {str(a) for a in san.get_values_for_type(x509.IPAddress)}
    return (app_uri in san.get_values_for_type(x509.UniformResourceIdentifier)
            and set(dns) <= set(san.get_values_for_type(x509.DNSName)) and set(ips) <= have_ips)


async def own_certificate(key_path: Path, cert_path: Path, app_uri: str, host: str) -> None:
    """The server's key (kept) and self-signed certificate: one CN, the application URI and
    the host's names and addresses as SubjectAltNames. A certificate that lacks one of them,
    has several CNs or expires within a week is replaced."""
    dns, ips = host_names(host)
    if key_path.is_file():
        key = await load_private_key(key_path)
    else:
        key = generate_private_key()
        write_private(key_path, dump_private_key_as_pem(key))
    if cert_path.is_file() and _fits(await load_certificate(cert_path), app_uri, dns, ips):
        return
    sans: list[x509.GeneralName] = [x509.UniformResourceIdentifier(app_uri), *map(x509.DNSName, dns),
                                    *(x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips)]
    cert = generate_self_signed_app_certificate(key, COMMON_NAME, {"countryName": "EU", "organizationName": "plant-twin"},
                                                sans, extended=[ExtendedKeyUsageOID.SERVER_AUTH], days=365)
    write_private(cert_path, cert.public_bytes(Encoding.DER))
    log.info("server certificate %s: CN=%s, DNS %s, IP %s", cert_path, COMMON_NAME, ", ".join(dns), ", ".join(ips))
