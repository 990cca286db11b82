"""asyncua's user manager over the plant's user store (the rules: `users.user_for`, `users.role_of`)."""

from __future__ import annotations

from typing import Any

from asyncua.crypto.permission_rules import User
from asyncua.server.user_managers import UserManager

from ..users import UserStore, role_of, user_for


class PlantUserManager(UserManager):
    """Username/password against the store; anonymous (if allowed) is a viewer."""

    def __init__(self, store: UserStore, allow_anonymous: bool) -> None:
        self.store = store
        self.allow_anonymous = allow_anonymous

    def get_user(self, iserver: Any, username: str | None = None, password: str | None = None,
                 certificate: Any = None) -> User | None:
        return user_for(self.store, self.allow_anonymous, username, password)

    def role_of(self, user: User | None) -> str | None:
        return role_of(self.store, user)
