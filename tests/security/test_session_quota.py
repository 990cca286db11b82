"""One client hoarding sessions (issue 17, item 3): anonymous sessions bounded per client
certificate, per host and in all, sessions per user name bounded, sessions never activated
made room for; each hoarder is refused with BadTooManySessions, and the engineer then still
connects and writes."""

import contextlib

import pytest
import pytest_asyncio
from asyncua import Client, ua

from opcua_server.security import pki_dirs
from opcua_server.settings import ServerSettings
from tests.security.attack import Cert, client_cert, honest_is_served, secure_client
from tests.support.opcua_harness import running_plant, until

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant(tmp_path_factory):
    """A secure server with two trusted client certificates."""
    data = tmp_path_factory.mktemp("quota")
    certs = [client_cert(tmp_path_factory.mktemp("certs"), f"client-{i}") for i in range(2)]
    pki_dirs(data)["trusted"].mkdir(parents=True, exist_ok=True)
    for i, (der, _) in enumerate(certs):
        (pki_dirs(data)["trusted"] / f"client-{i}.der").write_bytes(der.read_bytes())
    async with running_plant(data, allow_none_policy=False, trust_all_clients=False, max_sessions=12,
                             reserved_user_sessions=3, max_sessions_per_certificate=3, max_sessions_per_host=5,
                             max_sessions_per_user=2, activation_timeout_s=30.0) as (_plc, srv):
        yield srv, certs


async def _hoard(url: str, cert: Cert, opened: list[Client], user: str | None = None, most: int = 20) -> int:
    """Open sessions until one is refused; returns the refusal's status code."""
    for _ in range(most):
        c = await secure_client(url, cert, user)
        try:
            await c.connect()
        except ua.UaStatusCodeError as e:
            return e.code
        opened.append(c)
    raise AssertionError(f"{most} sessions and none refused")


@contextlib.asynccontextmanager
async def _closing(opened: list[Client]):
    try:
        yield opened
    finally:
        for c in opened:
            with contextlib.suppress(Exception):
                await c.disconnect()


async def _no_sessions(srv) -> None:
    await until(lambda: not srv.server.iserver.open_sessions, what="every session closed")


async def test_one_certificate_gets_its_share_and_the_engineer_still_writes(plant):
    srv, (first, second) = plant
    async with _closing([]) as opened:
        assert await _hoard(srv.url, first, opened) == ua.StatusCodes.BadTooManySessions
        assert len(opened) == 3, "max_sessions_per_certificate"
        await honest_is_served(srv.url, first, "eve")  # the same certificate, the same host
        assert await _hoard(srv.url, second, opened) == ua.StatusCodes.BadTooManySessions
        assert len(opened) == 5, "max_sessions_per_host: the second certificate gets the host's remaining two"
        await honest_is_served(srv.url, second, "eve")
    await _no_sessions(srv)


async def test_one_password_gets_its_share_and_the_others_still_log_in(plant):
    srv, (first, _) = plant
    async with _closing([]) as opened:
        assert await _hoard(srv.url, first, opened, "olga") == ua.StatusCodes.BadTooManySessions
        assert len(opened) == 2, "max_sessions_per_user"
        await honest_is_served(srv.url, first, "eve")
    await _no_sessions(srv)


async def test_sessions_never_activated_make_room_for_the_engineer(plant):
    """A hoarder creating sessions without activating them fills max_sessions; the engineer's
    CreateSession closes the hoarder's oldest one and the engineer writes."""
    srv, (first, _) = plant
    parked = [await secure_client(srv.url, first) for _ in range(12)]
    try:
        for c in parked:
            await c.connect_socket()
            await c.send_hello()
            await c.open_secure_channel()
            await c.create_session()
        assert len(srv.server.iserver.open_sessions) == 12
        await honest_is_served(srv.url, first, "eve")
        assert len(srv.server.iserver.open_sessions) <= 12
    finally:
        for c in parked:
            c.disconnect_socket()
    await _no_sessions(srv)


async def test_the_reserve_must_leave_anonymous_a_slot():
    with pytest.raises(ValueError, match="reserved_user_sessions"):
        ServerSettings.load(max_sessions=4, reserved_user_sessions=4)
