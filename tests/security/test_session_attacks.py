"""Attacks on sessions (issue 9, items 3 and 4): guessed or stolen authentication tokens,
several sessions on one channel, failed and abandoned activations holding slots, password
guessing, orphaned sessions."""

import asyncio
import contextlib
import logging
import threading

import pytest
import pytest_asyncio
from asyncua import Client, ua

from opcua_server.security import pki_dirs
from tests.security.attack import client_cert, honest_is_served, node, secure_client
from tests.support.opcua_harness import NS, USERS, running_plant, until

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _last_write(plc) -> tuple[str, str]:
    """Who made the last write and what the server answered: the scan that applies an accepted
    write adds its own "applied" record, maybe before the test looks, so that one is skipped."""
    rec = next(r for r in reversed(plc.audit) if r.result != "applied")
    return rec.user, rec.result


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant(tmp_path_factory):
    data = tmp_path_factory.mktemp("sessions")
    trusted = client_cert(tmp_path_factory.mktemp("certs"), "trusted-client")
    pki_dirs(data)["trusted"].mkdir(parents=True, exist_ok=True)
    (pki_dirs(data)["trusted"] / "trusted-client.der").write_bytes(trusted[0].read_bytes())
    async with running_plant(data, allow_none_policy=False, trust_all_clients=False, max_sessions=4,
                             reserved_user_sessions=1, activation_timeout_s=6.0, orphan_timeout_s=8.0,
                             max_login_failures=3) as (plc, srv):
        yield plc, srv, trusted


def _token(c: Client) -> ua.NodeId:
    return c.uaclient.session.authentication_token


async def _write_with_token(c: Client, token: ua.NodeId, value: int) -> None:
    """A write whose request header carries `token` instead of the client's own."""
    proto = c.uaclient.protocol
    own, proto.authentication_token = proto.authentication_token, token
    try:
        idx = await c.get_namespace_index(NS)
        await node(c, idx, "GearLine/Control/K2_A").write_value(ua.Variant(value, ua.VariantType.Int32))
    finally:
        proto.authentication_token = own


async def test_tokens_are_random_and_long(plant):
    _, srv, trusted = plant
    async with await secure_client(srv.url, trusted) as a, await secure_client(srv.url, trusted) as b:
        ta, tb = _token(a), _token(b)
        assert ta.NodeIdType == ua.NodeIdType.ByteString and len(ta.Identifier) == 32
        assert ta != tb


async def test_stolen_token_from_another_channel_is_refused(plant, caplog):
    """Item 3: an engineer's live token used on another channel (write, then ActivateSession)
    is refused; the engineer keeps acting as the engineer."""
    plc, srv, trusted = plant
    async with await secure_client(srv.url, trusted, "eve") as eve, await secure_client(srv.url, trusted) as thief:
        with caplog.at_level(logging.WARNING, logger="opcua_server"), pytest.raises(ua.UaStatusCodeError) as e:
            await _write_with_token(thief, _token(eve), 9)
        assert e.value.code == ua.StatusCodes.BadSessionIdInvalid
        assert "names no session of this channel" in caplog.text and "127.0.0.1:" in caplog.text
        thief.uaclient.session.restore_authentication_token(_token(eve))
        with pytest.raises(ua.UaStatusCodeError) as e:
            await thief.activate_session()
        assert e.value.code == ua.StatusCodes.BadSessionIdInvalid
        idx = await eve.get_namespace_index(NS)
        await node(eve, idx, "GearLine/Control/K2_A").write_value(ua.Variant(5, ua.VariantType.Int32))
        assert _last_write(plc) == ("eve", "accepted")


async def test_unknown_token_is_refused(plant):
    """Item 3: a request naming no session of its channel is not served."""
    _, srv, trusted = plant
    async with await secure_client(srv.url, trusted) as c:
        with pytest.raises(ua.UaStatusCodeError) as e:
            await _write_with_token(c, ua.NodeId(b"\0" * 32, 0, ua.NodeIdType.ByteString), 3)
        assert e.value.code == ua.StatusCodes.BadSessionIdInvalid
        idx = await c.get_namespace_index(NS)
        assert await node(c, idx, "GearLine/Control/K2_A").read_value() >= 1


async def test_two_sessions_on_one_channel_act_as_their_own_users(plant):
    """Item 3: a viewer session stays a viewer after an engineer session opens on its channel."""
    plc, srv, trusted = plant
    async with await secure_client(srv.url, trusted, "vic") as c:
        vic = _token(c)
        await c.create_session()
        await c.activate_session("eve", USERS["eve"][1])
        eve = _token(c)
        assert eve != vic
        with pytest.raises(ua.UaStatusCodeError) as e:
            await _write_with_token(c, vic, 8)
        assert e.value.code == ua.StatusCodes.BadUserAccessDenied
        assert _last_write(plc)[0] == "vic" and _last_write(plc)[1] != "accepted"
        await _write_with_token(c, eve, 8)
        assert _last_write(plc) == ("eve", "accepted")


async def test_failed_activations_free_their_slots(plant):
    """Item 4: more wrong passwords than there are session slots lock nobody out."""
    _, srv, trusted = plant
    for i in range(6):
        c = await secure_client(srv.url, trusted, f"mallory{i}", "wrong")
        with pytest.raises(ua.UaStatusCodeError) as e:
            async with c:
                pass
        assert e.value.code == ua.StatusCodes.BadUserAccessDenied
    assert not srv.server.iserver.open_sessions
    await honest_is_served(srv.url, trusted)


async def test_failed_activation_frees_its_slot_while_the_connection_stays(plant):
    """Item 4: the slot goes at the failure itself, not when the client hangs up."""
    _, srv, trusted = plant
    c = await secure_client(srv.url, trusted, "eve", "wrong")
    await c.connect_socket()
    try:
        await c.send_hello()
        await c.open_secure_channel()
        await c.create_session()
        assert len(srv.server.iserver.open_sessions) == 1
        with pytest.raises(ua.UaStatusCodeError) as e:
            await c.activate_session("eve", "wrong")
        assert e.value.code == ua.StatusCodes.BadUserAccessDenied
        assert not srv.server.iserver.open_sessions
    finally:
        c.disconnect_socket()
    srv.server.iserver.logins._failures.clear()
    await honest_is_served(srv.url, trusted)


async def test_sessions_never_activated_expire(plant):
    """Item 4: CreateSession without ActivateSession holds a slot for activation_timeout_s only."""
    _, srv, trusted = plant
    clients = [await secure_client(srv.url, trusted) for _ in range(4)]
    for c in clients:
        await c.connect_socket()
        await c.send_hello()
        await c.open_secure_channel()
        await c.create_session()
    iserver = srv.server.iserver
    assert len(iserver.open_sessions) == 4
    await until(lambda: not iserver.open_sessions, timeout=60, what="unactivated sessions closed")
    for c in clients:
        c.disconnect_socket()
    await honest_is_served(srv.url, trusted)


async def test_password_guessing_is_throttled_off_the_event_loop(plant, monkeypatch):
    """Item 4: after max_login_failures wrong passwords for eve from this host, even the right
    one is refused without being checked; another user is served; scrypt runs in a thread."""
    _, srv, trusted = plant
    store = srv.users
    threads: list[str] = []
    real_verify = store.verify

    def verify(name, password):
        threads.append(threading.current_thread().name)
        return real_verify(name, password)

    monkeypatch.setattr(store, "verify", verify)
    throttle = srv.server.iserver.logins
    for _ in range(3):
        with pytest.raises(ua.UaStatusCodeError):
            async with await secure_client(srv.url, trusted, "eve", "guess"):
                pass
    checked = len(threads)
    refused = throttle.refused
    with pytest.raises(ua.UaStatusCodeError) as e:
        async with await secure_client(srv.url, trusted, "eve"):
            pass
    assert e.value.code == ua.StatusCodes.BadUserAccessDenied
    assert throttle.refused == refused + 1 and len(threads) == checked, "refused without hashing"
    assert threads and threading.main_thread().name not in threads
    await honest_is_served(srv.url, trusted, user="olga")
    throttle._failures.clear()


async def test_orphaned_session_with_a_subscription_expires(plant):
    """Item 4: a client that vanishes with a subscription leaves its session for orphan_timeout_s only."""
    _, srv, trusted = plant
    c = await secure_client(srv.url, trusted)
    await c.connect()
    sub = await c.create_subscription(100, None)
    idx = await c.get_namespace_index(NS)
    await sub.subscribe_data_change(node(c, idx, "GearLine/KPIs/PlantTime"))
    c.uaclient.protocol.transport.abort()
    iserver = srv.server.iserver
    await until(lambda: not iserver.open_sessions, timeout=60, what="orphaned session closed")
    with contextlib.suppress(Exception):
        await asyncio.wait_for(c.disconnect(), 5)
    await honest_is_served(srv.url, trusted)


async def _orphan(srv, trusted, user: str) -> tuple[Client, ua.NodeId]:
    """A client of `user` with a subscription whose connection is cut; its session lives on."""
    c = await secure_client(srv.url, trusted, user)
    await c.connect()
    sub = await c.create_subscription(100, None)
    idx = await c.get_namespace_index(NS)
    await sub.subscribe_data_change(node(c, idx, "GearLine/KPIs/PlantTime"))
    token = _token(c)
    session = srv.server.iserver.lookup_external_session(token)
    c.uaclient.protocol.transport.abort()
    await until(lambda: session.channel is None, what="the session orphaned")
    return c, token


async def _activate_on_new_channel(srv, trusted, old: Client, token: ua.NodeId, user: str) -> Client:
    c = await secure_client(srv.url, trusted, user)
    await c.connect_socket()
    await c.send_hello()
    await c.open_secure_channel()
    c.uaclient.session.restore_authentication_token(token)
    c._server_nonce = old._server_nonce
    await c.activate_session(user, USERS[user][1])
    return c


async def test_orphaned_session_is_taken_over_only_by_its_own_user(plant):
    """Reconnect (Part 4, 6.7): the same certificate and user may activate an orphaned session on
    a new channel; another user may not."""
    plc, srv, trusted = plant
    old, token = await _orphan(srv, trusted, "eve")
    with pytest.raises(ua.UaStatusCodeError) as e:
        await _activate_on_new_channel(srv, trusted, old, token, "vic")
    assert e.value.code == ua.StatusCodes.BadIdentityChangeNotSupported
    again = await _activate_on_new_channel(srv, trusted, old, token, "eve")
    try:
        await _write_with_token(again, token, 4)
        assert _last_write(plc) == ("eve", "accepted")
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(old.disconnect(), 5)
        await again.close_session()
        again.disconnect_socket()


async def test_subscriptions_belong_to_their_session(plant):
    """Item 3, subscriptions too: another session (ids are guessable) can neither delete, pause,
    acknowledge nor take over an engineer's subscription; the engineer keeps receiving."""
    _, srv, trusted = plant
    received = asyncio.Event()

    class Handler:
        def datachange_notification(self, node, val, data):
            received.set()

    async with await secure_client(srv.url, trusted, "eve") as eve, await secure_client(srv.url, trusted) as thief:
        idx = await eve.get_namespace_index(NS)
        sub = await eve.create_subscription(50, Handler())
        await sub.subscribe_data_change(node(eve, idx, "GearLine/KPIs/PlantTime"))
        sid = sub.subscription_id
        invalid = ua.StatusCodes.BadSubscriptionIdInvalid
        assert [r.value for r in await thief.uaclient.delete_subscriptions([sid])] == [invalid]
        pause = ua.SetPublishingModeParameters(PublishingEnabled=False, SubscriptionIds=[sid])
        assert [r.value for r in await thief.uaclient.set_publishing_mode(pause)] == [invalid]
        with pytest.raises(ua.UaStatusCodeError) as e:
            await thief.uaclient.delete_monitored_items(ua.DeleteMonitoredItemsParameters(SubscriptionId=sid,
                                                                                           MonitoredItemIds=[1]))
        assert e.value.code == invalid
        moved = await thief.uaclient.transfer_subscriptions(ua.TransferSubscriptionsParameters(SubscriptionIds=[sid]))
        assert moved[0].StatusCode.value == ua.StatusCodes.BadUserAccessDenied
        received.clear()
        await asyncio.wait_for(received.wait(), 20)
