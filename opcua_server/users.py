"""Users and roles of the OPC UA server: a JSON file of users with scrypt-hashed passwords
and one role each (viewer < operator < engineer), and the rules by which a login becomes an
asyncua user (`user_for`) and a user a role (`role_of`); `_asyncua.users` is the user manager."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from contextvars import ContextVar
from pathlib import Path

from asyncua.crypto.permission_rules import User, UserRole

from plc_sim.model.private_files import write_private
from plc_sim.model.vocab import ROLES

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MAX_PASSWORD_LENGTH = 256
"""The longest password (and user name) by default (`max_password_length`)."""

VERIFIED: ContextVar[tuple[str, str, str | None] | None] = ContextVar("VERIFIED", default=None)
"""(name, password, role or None) already checked off the event loop for the activation being
served: asyncua's synchronous activation then takes the answer instead of hashing again."""


def credential_problem(name: object, password: object, max_length: int | None = MAX_PASSWORD_LENGTH) -> str | None:
    """Why a user name and password are refused as they are given, before any hashing: a
    password must be a non-empty string of at most `max_length` characters without NUL
    (OpenSSL's scrypt stops at the first NUL: `pw\0` would hash as `pw`), and so must the name."""
    for what, text in (("user name", name), ("password", password)):
        if not isinstance(text, str) or not text:
            return f"an empty {what}"
        if max_length is not None and len(text) > max_length:
            return f"a {what} longer than {max_length} characters"
        if "\0" in text:
            return f"a {what} with a NUL character"
    return None


def _hash(password: str, salt: bytes) -> str:
    return hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT).hex()


class UserStore:
    """`users.json` in the data directory: {name: {"role", "salt", "hash"}}."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._users: dict[str, dict[str, str]] = {}
        self._reload()

    def _reload(self) -> None:
        """Re-read the file when it changed (users added or removed by `plant users` while the
        server runs take effect at the next login, no restart needed)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._users, self._stamp = {}, None
            return
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            self._users = json.loads(self.path.read_text())
            self._stamp = stamp

    def add(self, name: str, role: str, password: str) -> None:
        self._reload()
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
        problem = credential_problem(name, password)
        if problem is not None:
            raise ValueError(f"a user needs a name and a password: {problem}")
        salt = secrets.token_bytes(16)
        self._users[name] = {"role": role, "salt": salt.hex(), "hash": _hash(password, salt)}
        self._save()

    def remove(self, name: str) -> None:
        self._reload()
        if self._users.pop(name, None) is None:
            raise KeyError(name)
        self._save()

    def _save(self) -> None:
        write_private(self.path, json.dumps(self._users, indent=1))
        st = self.path.stat()
        self._stamp = (st.st_mtime_ns, st.st_size)

    def verify(self, name: str, password: str) -> str | None:
        """The user's role if the password is right, else None (same time either way)."""
        if credential_problem(name, password, max_length=None) is not None:
            return None
        self._reload()
        u = self._users.get(name)
        salt = bytes.fromhex(u["salt"]) if u else b"\0" * 16
        ok = hmac.compare_digest(_hash(password, salt), u["hash"] if u else "0" * 64)
        return u["role"] if u and ok else None

    def role(self, name: str) -> str | None:
        self._reload()
        u = self._users.get(name)
        return u["role"] if u else None

    def names(self) -> list[str]:
        self._reload()
        return sorted(self._users)


def user_for(store: UserStore, allow_anonymous: bool, username: str | None, password: str | None) -> User | None:
    """Username/password against the store; anonymous (if allowed) is a viewer."""
    if username is None:
        return User(role=UserRole.Anonymous) if allow_anonymous else None
    checked = VERIFIED.get()
    if checked is not None and checked[:2] == (username, password or ""):
        role = checked[2]
    else:
        role = store.verify(username, password or "")
    return User(role=UserRole.User, name=username) if role else None


def role_of(store: UserStore, user: User | None) -> str | None:
    if user is None or user.role == UserRole.Anonymous or user.name is None:
        return None
    if user.role == UserRole.Admin:
        return "engineer"
    return store.role(user.name)
