"""asyncua's permission ruleset and attribute service, applying `access`'s rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asyncua import ua
from asyncua.crypto.permission_rules import PermissionRuleset, User, UserRole
from asyncua.server.address_space import AddressSpace, AttributeService

from ..access import CALLER, UserAttribute, allowed_actions, shape_read


class PlantRuleset(PermissionRuleset):
    """The services each role may use: `access.allowed_actions`."""

    def __init__(self) -> None:
        self._allowed = allowed_actions()

    def check_validity(self, user: User, action_type: ua.NodeId, body: Any) -> bool:
        return action_type in self._allowed[user.role]


class PlantAttributeService(AttributeService):
    """Writes to plant tags go through the PLC (`write_tag`); reads shaped by `access.shape_read`;
    everything else as asyncua does it."""

    def __init__(self, aspace: AddressSpace, write_tag: Callable[[ua.NodeId, ua.Variant, User], ua.StatusCode | None],
                 user_attribute: UserAttribute | None = None) -> None:
        super().__init__(aspace)
        self._write_tag = write_tag
        self._user_attribute = user_attribute

    def read(self, params: ua.ReadParameters) -> list[ua.DataValue]:
        return shape_read(params, super().read(params), self._user_attribute, CALLER.get())

    async def write(self, params: ua.WriteParameters, user: User = User(role=UserRole.Admin)) -> list[ua.StatusCode]:
        results: list[ua.StatusCode] = []
        for wv in params.NodesToWrite:
            res = None
            if wv.AttributeId == ua.AttributeIds.Value:
                res = self._write_tag(wv.NodeId, wv.Value.Value, user)
            if res is None:
                sub = ua.WriteParameters()
                sub.NodesToWrite = [wv]
                res = (await super().write(sub, user))[0]
            results.append(res)
        return results
