"""Security and resource limits of the OPC UA server, on the secure profile (no None
policy, trust list enforced), with real encrypted asyncua sessions."""

from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import Client, ua
from asyncua.crypto import security_policies as sp
from asyncua.crypto.cert_gen import dump_private_key_as_pem, generate_private_key, generate_self_signed_app_certificate
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from opcua_server.security import pki_dirs
from tests.support.opcua_harness import NS, USERS, running_plant

pytestmark = pytest.mark.asyncio(loop_scope="module")
APP_URI = "urn:plant-twin:test-client"


def _client_cert(folder: Path, name: str) -> tuple[Path, Path]:
    key = generate_private_key()
    cert = generate_self_signed_app_certificate(
        key, name, {"organizationName": "tests"},
        [x509.UniformResourceIdentifier(APP_URI), x509.DNSName("localhost")], [ExtendedKeyUsageOID.CLIENT_AUTH])
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / f"{name}.der", folder / f"{name}.pem"
    cert_path.write_bytes(cert.public_bytes(Encoding.DER))
    key_path.write_bytes(dump_private_key_as_pem(key))
    return cert_path, key_path


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def secure(tmp_path_factory):
    data = tmp_path_factory.mktemp("secure")
    trusted = _client_cert(tmp_path_factory.mktemp("certs"), "trusted-client")
    stranger = _client_cert(tmp_path_factory.mktemp("certs"), "untrusted-client")
    pki_dirs(data)["trusted"].mkdir(parents=True, exist_ok=True)
    (pki_dirs(data)["trusted"] / "trusted-client.der").write_bytes(trusted[0].read_bytes())
    async with running_plant(data, allow_none_policy=False, trust_all_clients=False, max_sessions=4,
                             reserved_user_sessions=1, max_subscriptions=6, max_monitored_items=5, max_message_size=65536,
                             session_timeout_s=30.0) as (plc, srv):
        yield plc, srv, trusted, stranger


async def _secure_client(srv, cert, user=None, policy=sp.SecurityPolicyBasic256Sha256,
                         mode=ua.MessageSecurityMode.SignAndEncrypt) -> Client:
    c = Client(srv.url, timeout=10)
    c.application_uri = APP_URI
    if user:
        c.set_user(user)
        c.set_password(USERS[user][1] if user in USERS else "wrong")
    await c.set_security(policy, str(cert[0]), str(cert[1]), mode=mode)
    return c


async def test_endpoints_offer_only_secure_policies(secure):
    _, srv, _, _ = secure
    endpoints = await Client(srv.url).connect_and_get_server_endpoints()
    offered = {(e.SecurityPolicyUri.split("#")[-1], e.SecurityMode) for e in endpoints}
    assert ("None", ua.MessageSecurityMode.None_) not in offered
    for policy in ("Basic256Sha256", "Aes256_Sha256_RsaPss"):
        for mode in (ua.MessageSecurityMode.Sign, ua.MessageSecurityMode.SignAndEncrypt):
            assert (policy, mode) in offered


@pytest.mark.parametrize("policy,mode", [
    (sp.SecurityPolicyBasic256Sha256, ua.MessageSecurityMode.SignAndEncrypt),
    (sp.SecurityPolicyAes256Sha256RsaPss, ua.MessageSecurityMode.SignAndEncrypt),
    (sp.SecurityPolicyBasic256Sha256, ua.MessageSecurityMode.Sign),
])
async def test_encrypted_session_with_a_username_works(secure, policy, mode):
    plc, srv, trusted, _ = secure
    c = await _secure_client(srv, trusted, "eve", policy, mode)
    async with c:
        idx = await c.get_namespace_index(NS)
        k2 = c.get_node(ua.NodeId("Plant/GearLine/Control/K2_A", idx))
        await k2.write_value(ua.Variant(7, ua.VariantType.Int32))
        assert plc.audit[-1].user == "eve"


async def test_wrong_password_fails(secure):
    _, srv, trusted, _ = secure
    c = await _secure_client(srv, trusted, "mallory")
    with pytest.raises(ua.UaStatusCodeError) as e:
        async with c:
            pass
    assert e.value.code in (ua.StatusCodes.BadUserAccessDenied, ua.StatusCodes.BadIdentityTokenRejected,
                            ua.StatusCodes.BadIdentityTokenInvalid)


async def test_anonymous_reads_but_cannot_write(secure):
    _, srv, trusted, _ = secure
    async with await _secure_client(srv, trusted) as c:
        idx = await c.get_namespace_index(NS)
        k2 = c.get_node(ua.NodeId("Plant/GearLine/Control/K2_A", idx))
        assert await k2.read_value() >= 1
        with pytest.raises(ua.UaStatusCodeError) as e:
            await k2.write_value(ua.Variant(3, ua.VariantType.Int32))
        assert e.value.code == ua.StatusCodes.BadUserAccessDenied


async def test_untrusted_client_certificate_is_refused(secure):
    _, srv, _, stranger = secure
    c = await _secure_client(srv, stranger, "eve")
    with pytest.raises(ua.UaStatusCodeError) as e:
        async with c:
            pass
    assert e.value.code == ua.StatusCodes.BadCertificateUntrusted


async def test_limit_sessions(secure):
    """max_sessions guards against a client opening sessions until the server runs out; the
    slot kept for users lets the engineer in while anonymous sessions hold the others."""
    _, srv, trusted, _ = secure
    clients = [await _secure_client(srv, trusted) for _ in range(3)]
    try:
        for c in clients:
            await c.connect()
        extra = await _secure_client(srv, trusted)
        with pytest.raises(ua.UaStatusCodeError) as e:
            await extra.connect()
        assert e.value.code == ua.StatusCodes.BadTooManySessions
        async with await _secure_client(srv, trusted, "eve"):
            pass
    finally:
        for c in clients:
            await c.disconnect()
    async with await _secure_client(srv, trusted):
        pass


async def test_limit_monitored_items(secure):
    """max_monitored_items guards against one subscription's sampling slots and
    notification queues growing without bound."""
    _, srv, trusted, _ = secure
    async with await _secure_client(srv, trusted) as c:
        idx = await c.get_namespace_index(NS)
        sub = await c.create_subscription(100, None)
        nodes = [c.get_node(ua.NodeId(f"Plant/GearLine/{m}/{m}/{t}", idx)) for m in ("MP1", "MP2") for t in
                 ("PartsDone", "GoodParts", "PowerKW")]
        results = await sub.subscribe_data_change(nodes, queuesize=1)
        refused = [r for r in results if isinstance(r, ua.StatusCode)]
        assert len(results) - len(refused) == 5 and len(refused) == 1
        assert refused[0].value == ua.StatusCodes.BadTooManyMonitoredItems


async def test_limit_subscriptions(secure):
    """max_subscriptions guards against unbounded publish loops, one per subscription."""
    _, srv, trusted, _ = secure
    async with await _secure_client(srv, trusted) as c:
        subs = []
        with pytest.raises(ua.UaStatusCodeError) as e:
            for _ in range(10):
                subs.append(await c.create_subscription(100, None))
        assert e.value.code == ua.StatusCodes.BadTooManySubscriptions
        assert len(subs) == 6


async def test_limit_message_size(secure):
    """max_message_size guards against one huge request exhausting memory."""
    plc, srv, trusted, _ = secure
    c = await _secure_client(srv, trusted, "eve")
    huge = ua.Variant("A" * 200_000, ua.VariantType.String)
    with pytest.raises(Exception) as e:
        async with c:
            idx = await c.get_namespace_index(NS)
            control = c.get_node(ua.NodeId("Plant/GearLine/Control", idx))
            await control.call_method(ua.QualifiedName("SetConwip", idx), huge, ua.Variant(12, ua.VariantType.Int32))
    assert not isinstance(e.value, ua.UaStatusCodeError) or e.value.code in (
        ua.StatusCodes.BadRequestTooLarge, ua.StatusCodes.BadTcpMessageTooLarge, ua.StatusCodes.BadEncodingLimitsExceeded)
    assert not any(len(r.action) > 1000 for r in plc.audit), "the oversized call never reached the PLC"
    async with await _secure_client(srv, trusted, "eve") as again:
        assert await again.get_namespace_index(NS) > 0, "the server survives an oversized request"


async def test_limit_session_timeout(secure):
    """The session timeout cap guards against abandoned sessions holding subscriptions and
    sockets for hours: a client asking for an hour gets at most the setting (30 s here)."""
    _, srv, trusted, _ = secure
    c = await _secure_client(srv, trusted, "eve")
    c.session_timeout = 3_600_000
    async with c:
        assert c.session_timeout <= 30_000


async def test_secure_profile_starts_with_an_empty_trust_list_and_trusts_nobody(tmp_path):
    """A fresh data directory: the server starts, and no client certificate is trusted yet."""
    cert = _client_cert(tmp_path / "certs", "new-client")
    async with running_plant(tmp_path / "data", allow_none_policy=False, trust_all_clients=False) as (_, srv):
        c = await _secure_client(srv, cert, "eve")
        with pytest.raises(ua.UaStatusCodeError) as e:
            async with c:
                pass
        assert e.value.code == ua.StatusCodes.BadCertificateUntrusted
