"""The secure channel of one connection, strict where asyncua is lenient: the policy is
chosen by `connections.select_policy` (only offered policies; None for discovery only)."""

from __future__ import annotations

from asyncua import ua
from asyncua.common.connection import SecureConnection

from ..connections import select_policy


class StrictSecureConnection(SecureConnection):
    discovery_only = False

    def select_policy(self, uri: str, peer_certificate: bytes | None, mode: ua.MessageSecurityMode | None = None) -> None:
        self.security_policy, self.discovery_only = select_policy(self._policies, uri, peer_certificate, mode)

    @property
    def secure(self) -> bool:
        """Signed (and maybe encrypted): the None policy is not."""
        return self.security_policy.Mode != ua.MessageSecurityMode.None_

    @property
    def encrypted(self) -> bool:
        return self.security_policy.Mode == ua.MessageSecurityMode.SignAndEncrypt
