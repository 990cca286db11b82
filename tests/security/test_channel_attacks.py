"""Attacks on the secure channel of the secure profile (issue 9, items 1, 2 and 9): a None
channel, untrusted and expired certificates, a CreateSession without the channel's
certificate, plain-text passwords, and the server key's permissions."""

import logging
import shutil
import stat

import pytest
import pytest_asyncio
from asyncua import Client, ua
from asyncua.client.client import Client as ClientClass

from opcua_server.security import pki_dirs
from tests.security.attack import client_cert, expired_cert, honest_is_served, node, secure_client
from tests.support.opcua_harness import NS, USERS, running_plant

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def secure(tmp_path_factory):
    data = tmp_path_factory.mktemp("secure")
    certs = tmp_path_factory.mktemp("certs")
    trusted, stranger, expired = client_cert(certs, "trusted-client"), client_cert(certs, "stranger"), \
        expired_cert(certs, "expired-client")
    pki_dirs(data)["trusted"].mkdir(parents=True, exist_ok=True)
    for cert in (trusted, expired):
        shutil.copy(cert[0], pki_dirs(data)["trusted"] / cert[0].name)
    async with running_plant(data, allow_none_policy=False, trust_all_clients=False) as (plc, srv):
        yield plc, srv, data, {"trusted": trusted, "stranger": stranger, "expired": expired}


async def _refused(c: Client) -> ua.UaStatusCodeError:
    with pytest.raises(ua.UaStatusCodeError) as e:
        async with c:
            pass
    return e.value


async def test_none_channel_serves_discovery_only(secure, caplog):
    """Item 1: GetEndpoints over None works; CreateSession over None is refused."""
    _, srv, _, certs = secure
    c = Client(srv.url, timeout=10)
    c.set_user("eve")
    c.set_password(USERS["eve"][1])
    assert await Client(srv.url, timeout=10).connect_and_get_server_endpoints()
    with caplog.at_level(logging.WARNING, logger="opcua_server"):
        err = await _refused(c)
    assert err.code == ua.StatusCodes.BadSecurityPolicyRejected
    assert "None channel serves discovery only" in caplog.text and "127.0.0.1:" in caplog.text
    await honest_is_served(srv.url, certs["trusted"])


async def test_a_policy_not_offered_is_refused_at_open(secure):
    """Item 1: a policy the server does not offer (Basic256Sha256 with mode None) never opens."""
    _, srv, _, certs = secure
    c = await secure_client(srv.url, certs["trusted"])
    c.security_policy.Mode = ua.MessageSecurityMode.None_
    err = await _refused(c)
    assert err.code in (ua.StatusCodes.BadSecurityChecksFailed, ua.StatusCodes.BadSecurityPolicyRejected)
    await honest_is_served(srv.url, certs["trusted"])


def _session_without_certificate(monkeypatch) -> None:
    """Clients send CreateSession with an empty ClientCertificate (the channel keeps its own)."""
    real = ClientClass.create_session

    async def without_certificate(self):
        self.security_policy.host_certificate, saved = None, self.security_policy.host_certificate
        try:
            return await real(self)
        finally:
            self.security_policy.host_certificate = saved

    monkeypatch.setattr(ClientClass, "create_session", without_certificate)


async def test_untrusted_channel_certificate_is_refused_even_with_empty_create_session(secure, monkeypatch, caplog):
    """Item 2: the certificate that opens the channel is checked (asyncua checked only the
    one in CreateSession); the refusal names the peer and the certificate lands in pki/rejected."""
    _, srv, data, certs = secure
    _session_without_certificate(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="opcua_server"):
        err = await _refused(await secure_client(srv.url, certs["stranger"], "eve"))
    assert err.code == ua.StatusCodes.BadCertificateUntrusted
    assert "refused client certificate" in caplog.text and "127.0.0.1:" in caplog.text
    rejected = list(pki_dirs(data)["rejected"].glob("stranger_*.der"))
    assert len(rejected) == 1 and rejected[0].read_bytes() == certs["stranger"][0].read_bytes()
    monkeypatch.undo()
    await honest_is_served(srv.url, certs["trusted"])


async def test_create_session_must_carry_the_channel_certificate(secure, monkeypatch):
    """Item 2: a trusted channel with an empty ClientCertificate in CreateSession is refused."""
    _, srv, _, certs = secure
    _session_without_certificate(monkeypatch)
    err = await _refused(await secure_client(srv.url, certs["trusted"], "eve"))
    assert err.code == ua.StatusCodes.BadCertificateInvalid
    monkeypatch.undo()
    await honest_is_served(srv.url, certs["trusted"])


async def test_expired_certificate_is_refused_even_when_trusted(secure):
    _, srv, data, certs = secure
    err = await _refused(await secure_client(srv.url, certs["expired"], "eve"))
    assert err.code == ua.StatusCodes.BadCertificateTimeInvalid
    assert list(pki_dirs(data)["rejected"].glob("expired-client_*.der"))
    await honest_is_served(srv.url, certs["trusted"])


async def test_administrator_trusts_a_rejected_certificate_by_moving_it(tmp_path):
    """The documented step: move the file from pki/rejected to pki/trusted; no restart."""
    cert = client_cert(tmp_path / "certs", "newcomer")
    async with running_plant(tmp_path / "data", allow_none_policy=False, trust_all_clients=False) as (_, srv):
        await _refused(await secure_client(srv.url, cert, "eve"))
        dirs = pki_dirs(tmp_path / "data")
        (rejected,) = dirs["rejected"].glob("newcomer_*.der")
        rejected.rename(dirs["trusted"] / rejected.name)
        await honest_is_served(srv.url, cert)


async def test_plain_text_password_on_an_unencrypted_channel_is_refused(tmp_path, monkeypatch):
    """Item 1, demo profile (None offered): a password sent in clear over a None channel is
    refused before it is checked; the same user with an encrypted token is served."""
    async with running_plant(tmp_path, allow_none_policy=True, trust_all_clients=True) as (plc, srv):
        c = Client(srv.url, timeout=10)
        c.set_user("eve")
        c.set_password(USERS["eve"][1])
        real = ClientClass.server_policy

        def plain(self, token_type):
            policy = real(self, token_type)
            policy.SecurityPolicyUri = None
            return policy

        monkeypatch.setattr(ClientClass, "server_policy", plain)
        err = await _refused(c)
        assert err.code == ua.StatusCodes.BadIdentityTokenInvalid
        monkeypatch.undo()
        await honest_is_served(srv.url, None)
        assert plc.audit[-1].user == "eve"


async def test_server_key_is_readable_by_its_owner_only(secure):
    """Item 9."""
    _, _, data, _ = secure
    own = pki_dirs(data)["own"]
    assert stat.S_IMODE((own / "server_key.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE(own.stat().st_mode) & 0o077 == 0


async def test_anonymous_reads_over_a_trusted_channel(secure):
    _, srv, _, certs = secure
    async with await secure_client(srv.url, certs["trusted"]) as c:
        idx = await c.get_namespace_index(NS)
        assert await node(c, idx, "GearLine/Control/K2_A").read_value() >= 1
