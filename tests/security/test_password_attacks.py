"""Passwords compared as given (issue 17, item 4): a NUL, an empty password, an over-long
one or one that is not UTF-8 is refused with BadIdentityTokenInvalid (a wrong one with
BadUserAccessDenied), never an internal error; the honest user then logs in."""

import pytest
import pytest_asyncio
from asyncua import Client, ua
from asyncua.crypto import security_policies
from asyncua.ua.ua_binary import Primitives

from opcua_server.users import UserStore
from tests.security.attack import client_cert, secure_client
from tests.support.opcua_harness import USERS, running_plant

pytestmark = pytest.mark.asyncio(loop_scope="module")

INVALID, DENIED = ua.StatusCodes.BadIdentityTokenInvalid, ua.StatusCodes.BadUserAccessDenied


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant(tmp_path_factory):
    cert = client_cert(tmp_path_factory.mktemp("certs"), "password-client")
    async with running_plant(tmp_path_factory.mktemp("passwords"), max_login_failures=1000,
                             max_password_length=64) as (_plc, srv):
        yield srv, cert


def _raw_password(c: Client, raw: bytes, encrypted: bool) -> None:
    """The client sends `raw` as the password bytes, encrypted with the server's nonce as
    Part 4 says, or as they are (allowed on a SignAndEncrypt channel): no UTF-8 check."""
    def add(params: ua.ActivateSessionParameters, username: str | None, password: str | None) -> None:
        policy = c.server_policy(ua.UserTokenType.UserName)
        token = ua.UserNameIdentityToken(UserName=username, PolicyId=policy.PolicyId)
        if encrypted:
            key = security_policies.uacrypto.x509_from_der(c.security_policy.peer_certificate).public_key()
            uri = policy.SecurityPolicyUri or security_policies.SecurityPolicyBasic256Sha256.URI
            token.Password, token.EncryptionAlgorithm = security_policies.encrypt_asymmetric(
                key, Primitives.Bytes.pack(raw + (c._server_nonce or b"")), uri)
        else:
            token.Password, token.EncryptionAlgorithm = raw, None
        params.UserIdentityToken = token
    c._add_user_auth = add  # a client with its checks off


async def _login(srv, cert, password: str | bytes, encrypted: bool = True, user: str = "olga") -> int:
    """The status code of logging in as `user` (0: accepted)."""
    c = await secure_client(srv.url, cert, user, "placeholder")
    if isinstance(password, bytes):
        _raw_password(c, password, encrypted)
    else:
        c.set_password(password)
    try:
        async with c:
            return 0
    except ua.UaStatusCodeError as e:
        return e.code


@pytest.mark.parametrize(("password", "encrypted", "expected"), [
    ("olga-pw\0", True, INVALID),
    ("olga-pw\0anything", True, INVALID),
    (b"olga-pw\0", False, INVALID),
    ("", True, INVALID),
    (b"", False, INVALID),
    (b"olga-pw" + b"x" * 100_000, False, INVALID),
    ("olga-pw" + "x" * 100, True, INVALID),
    (b"olga-pw\xff\xfe", False, INVALID),
    (b"\xc3(", True, INVALID),
    ("olga-pw ", True, DENIED),
    ("OLGA-PW", True, DENIED),
])
async def test_malformed_passwords_are_refused_and_the_honest_user_logs_in(plant, password, encrypted, expected):
    srv, cert = plant
    assert await _login(srv, cert, password, encrypted) == expected
    assert await _login(srv, cert, USERS["olga"][1]) == 0
    assert await _login(srv, cert, USERS["olga"][1].encode(), encrypted=False) == 0


async def test_an_over_long_or_empty_user_name_is_refused(plant):
    srv, cert = plant
    assert await _login(srv, cert, "olga-pw", user="o" * 100) == INVALID
    assert await _login(srv, cert, "olga-pw", user="olga\0") == INVALID


async def test_users_cannot_be_given_such_passwords(tmp_path):
    store = UserStore(tmp_path / "users.json")
    for bad in ("", "pw\0", "x" * 300):
        with pytest.raises(ValueError, match="password"):
            store.add("ann", "viewer", bad)
    store.add("ann", "viewer", "pw")
    assert store.verify("ann", "pw") == "viewer"
    assert store.verify("ann", "pw\0") is None and store.verify("ann", "") is None
