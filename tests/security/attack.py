"""Tools of the attacks on the OPC UA server: client certificates (trusted, untrusted,
expired), secure asyncua clients, raw OPC UA TCP framing, and the honest client that must
keep being served."""

from __future__ import annotations

import asyncio
import datetime as dt
import struct
from pathlib import Path

from asyncua import Client, ua
from asyncua.crypto import security_policies as sp
from asyncua.crypto.cert_gen import dump_private_key_as_pem, generate_private_key, generate_self_signed_app_certificate
from asyncua.ua.ua_binary import uatcp_to_binary
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.opcua_harness import NS, USERS

APP_URI = "urn:plant-twin:test-client"
Cert = tuple[Path, Path]


def client_cert(folder: Path, name: str) -> Cert:
    key = generate_private_key()
    cert = generate_self_signed_app_certificate(
        key, name, {"organizationName": "tests"},
        [x509.UniformResourceIdentifier(APP_URI), x509.DNSName("localhost")], [ExtendedKeyUsageOID.CLIENT_AUTH])
    return _save(folder, name, cert, key)


def expired_cert(folder: Path, name: str) -> Cert:
    """A client certificate that expired yesterday (otherwise like `client_cert`)."""
    key = generate_private_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=30)).not_valid_after(now - dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(APP_URI)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=True,
                                         data_encipherment=True, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    return _save(folder, name, cert, key)


def _save(folder: Path, name: str, cert: x509.Certificate, key) -> Cert:
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / f"{name}.der", folder / f"{name}.pem"
    cert_path.write_bytes(cert.public_bytes(Encoding.DER))
    key_path.write_bytes(dump_private_key_as_pem(key))
    return cert_path, key_path


async def secure_client(url: str, cert: Cert, user: str | None = None, password: str | None = None,
                        policy=sp.SecurityPolicyBasic256Sha256,
                        mode: ua.MessageSecurityMode = ua.MessageSecurityMode.SignAndEncrypt) -> Client:
    c = Client(url, timeout=10)
    c.application_uri = APP_URI
    if user:
        c.set_user(user)
        c.set_password(password if password is not None else USERS[user][1])
    await c.set_security(policy, str(cert[0]), str(cert[1]), mode=mode)
    return c


def node(c: Client, idx: int, path: str):
    return c.get_node(ua.NodeId(f"Plant/{path}", idx))


async def honest_is_served(url: str, cert: Cert | None, user: str = "eve") -> None:
    """A second, honest client connects, reads and (an engineer) writes a setpoint."""
    c = await secure_client(url, cert, user) if cert else Client(url, timeout=10)
    if cert is None:
        c.set_user(user)
        c.set_password(USERS[user][1])
    async with c:
        idx = await c.get_namespace_index(NS)
        k2 = node(c, idx, "GearLine/Control/K2_A")
        assert await k2.read_value() >= 1
        if USERS[user][0] == "engineer":
            await k2.write_value(ua.Variant(6, ua.VariantType.Int32))


def hello(url: str, buffer: int = 65535) -> bytes:
    msg = ua.Hello()
    msg.ReceiveBufferSize = msg.SendBufferSize = buffer
    msg.MaxMessageSize, msg.MaxChunkCount, msg.EndpointUrl = 0, 0, url
    return uatcp_to_binary(ua.MessageType.Hello, msg)


async def read_reply(reader: asyncio.StreamReader, timeout: float = 20.0) -> tuple[bytes, int | None]:
    """The next message's type and, for an Error message, its status code; (b"", None) on EOF."""
    head = await asyncio.wait_for(reader.read(8), timeout)
    if len(head) < 8:
        return b"", None
    kind, size = head[:3], struct.unpack_from("<I", head, 4)[0]
    body = await asyncio.wait_for(reader.readexactly(size - 8), timeout)
    return kind, struct.unpack_from("<I", body)[0] if kind == b"ERR" else None


async def closed_by_server(reader: asyncio.StreamReader, timeout: float = 20.0) -> bool:
    """True once the server closes the connection (everything before that is read and dropped)."""
    async def drain() -> None:
        while await reader.read(65536):
            pass
    await asyncio.wait_for(drain(), timeout)
    return True
