"""The secure channel of one connection, strict where asyncua is lenient: a security policy
that the server does not offer is refused (asyncua falls back to its initial None policy when
no offered policy matches, so a None channel opened on a secure-only server and served
sessions). The one exception is discovery: a None channel on a server that does not offer
None serves GetEndpoints and FindServers only (`discovery_only`), as Part 4 allows."""

from __future__ import annotations

from asyncua import ua
from asyncua.common.connection import SecureConnection
from asyncua.crypto.security_policies import SecurityPolicyNone


class StrictSecureConnection(SecureConnection):
    discovery_only = False

    def select_policy(self, uri: str, peer_certificate: bytes | None, mode: ua.MessageSecurityMode | None = None) -> None:
        for policy in self._policies:
            if policy.matches(uri, mode):
                self.security_policy = policy.create(peer_certificate)
                self.discovery_only = False
                return
        if uri == SecurityPolicyNone.URI and mode in (None, ua.MessageSecurityMode.None_):
            self.security_policy = SecurityPolicyNone()
            self.discovery_only = True
            return
        raise ua.UaStatusCodeError(ua.StatusCodes.BadSecurityPolicyRejected)

    @property
    def secure(self) -> bool:
        """Signed (and maybe encrypted): the None policy is not."""
        return self.security_policy.Mode != ua.MessageSecurityMode.None_

    @property
    def encrypted(self) -> bool:
        return self.security_policy.Mode == ua.MessageSecurityMode.SignAndEncrypt
