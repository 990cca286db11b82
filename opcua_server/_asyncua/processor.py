"""One connection's OPC UA protocol, with the checks asyncua's UaProcessor leaves out (the
rules are in `connections`, `logins` and `session_rules`; this class applies them).

* Hello first and once (`connections.hello_refusal`).
* The secure channel: only offered policies (`channel.StrictSecureConnection`), and the
  certificate that opens it is checked against the trust list (asyncua checks only the one
  sent in CreateSession, which a client may leave empty); CreateSession must carry the
  channel's certificate.
* Sessions belong to the channel that created them: every request is served by the session
  its authentication token names *on this channel*, as that session's user; a token of no
  session of this channel is refused (BadSessionIdInvalid). A session moves to a new channel
  only after its own channel is gone, with the same client certificate and the same user.
* Sessions not activated within `activation_timeout_s`, or whose activation fails, are closed
  at once (no slot kept); passwords are checked off the event loop, with a throttle.
* On connection loss, sessions without subscriptions close; the others live on for at most
  `orphan_timeout_s` to be taken over by a new connection.

Refusals are logged with the peer address.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from asyncua import ua
from asyncua.common.utils import ServiceError
from asyncua.crypto import uacrypto
from asyncua.crypto.security_policies import SecurityPolicyNone
from asyncua.server.uaprocessor import UaProcessor
from asyncua.ua.ua_binary import struct_from_binary, uatcp_to_binary
from cryptography import x509

from .. import refusals
from ..connections import PEER, hello_refusal, peer_text
from ..logins import check_login, refuse_clear_password, refuse_malformed
from ..request_limits import TOO_MANY, oversized
from ..session_quota import check_activation
from ..session_rules import closes_with_connection, may_take_over
from ..users import VERIFIED
from .channel import StrictSecureConnection
from .peek import counts
from .sessions import PlantInternalServer, PlantSession
from .users import PlantUserManager

log = logging.getLogger(__name__)

_ID = ua.ObjectIds
_CREATE = ua.NodeId(_ID.CreateSessionRequest_Encoding_DefaultBinary)
_ACTIVATE = ua.NodeId(_ID.ActivateSessionRequest_Encoding_DefaultBinary)
_CLOSE = ua.NodeId(_ID.CloseSessionRequest_Encoding_DefaultBinary)
_BROWSE_NEXT = ua.NodeId(_ID.BrowseNextRequest_Encoding_DefaultBinary)
_SESSIONLESS = {ua.NodeId(i) for i in (_ID.GetEndpointsRequest_Encoding_DefaultBinary,
                                        _ID.FindServersRequest_Encoding_DefaultBinary,
                                        _ID.CloseSecureChannelRequest_Encoding_DefaultBinary)}
_REFUSED_SERVICES = {ua.NodeId(i) for i in (_ID.RegisterServerRequest_Encoding_DefaultBinary,
                                             _ID.RegisterServer2Request_Encoding_DefaultBinary)}
"""Anyone could add servers to the discovery list: not offered."""


class PlantProcessor(UaProcessor):
    iserver: PlantInternalServer

    def __init__(self, iserver: PlantInternalServer, transport: Any, limits: Any) -> None:
        super().__init__(iserver, transport, limits)
        self._connection: StrictSecureConnection = StrictSecureConnection(SecurityPolicyNone(), self._limits)
        self.peer = peer_text(self.name)
        self.host = self.name[0] if isinstance(self.name, tuple) else str(self.name)
        self.hello_done = False
        self.sessions: dict[ua.NodeId, PlantSession] = {}
        self._deadlines: set[asyncio.Task] = set()
        self.serving: ua.NodeId | None = None
        """The type id of the request being processed (what a ServiceFault answers, for `traffic`)."""

    def has_activated_session(self) -> bool:
        return any(s.is_activated() for s in self.sessions.values())

    # --- transport messages -----------------------------------------------------------

    def refuse(self, code: int, reason: str) -> bool:
        """Log, send an Error message and tell the caller to close the connection (False)."""
        refusals.warn(log, "refused connection from %s: %s (%s)", self.peer, reason, ua.StatusCode(code).name)
        self.iserver.traffic.refused("Connection", code)
        self._transport.write(uatcp_to_binary(ua.MessageType.Error, ua.ErrorMessage(ua.StatusCode(code), reason)))
        return False

    def send_response(self, requesthandle: Any, seqhdr: Any, response: Any,
                      msgtype: bytes = ua.MessageType.SecureMessage) -> None:
        """asyncua's, counting the response first (`traffic`: refusals, notifications)."""
        self.iserver.traffic.response(response, self.serving)
        super().send_response(requesthandle, seqhdr, response, msgtype)

    async def process(self, header: Any, body: Any) -> bool:
        if (header.MessageType == ua.MessageType.Hello) == self.hello_done:
            return self.refuse(ua.StatusCodes.BadTcpMessageTypeInvalid,
                               "second Hello" if self.hello_done else "no Hello first")
        try:
            msg = self._connection.receive_from_header_and_body(header, body)
        except ua.UaStatusCodeError as e:
            return self.refuse(e.code, f"{header.MessageType!r}: {e}")
        except Exception as e:
            return self.refuse(ua.StatusCodes.BadSecurityChecksFailed, f"{header.MessageType!r}: {e}")
        if isinstance(msg, ua.Hello):
            return self._hello(msg)
        if isinstance(msg, ua.Message):
            if header.MessageType == ua.MessageType.SecureOpen:
                return await self._open(msg)
            if header.MessageType == ua.MessageType.SecureClose:
                self._connection.close()
                return False
            if header.MessageType == ua.MessageType.SecureMessage:
                if not self._connection.is_open():
                    return self.refuse(ua.StatusCodes.BadSecureChannelIdInvalid, "message before OpenSecureChannel")
                token = PEER.set(self.peer)
                try:
                    return await self.process_message(msg.SequenceHeader(), msg.body())
                finally:
                    PEER.reset(token)
        if msg is None or isinstance(msg, ua.ErrorMessage):
            return True
        return self.refuse(ua.StatusCodes.BadTcpMessageTypeInvalid, f"unexpected {header.MessageType!r}")

    def _hello(self, msg: ua.Hello) -> bool:
        refusal = hello_refusal(msg.ReceiveBufferSize, msg.SendBufferSize)
        if refusal is not None:
            return self.refuse(ua.StatusCodes.BadTcpInternalError, refusal)
        self.hello_done = True
        ack = self._limits.create_acknowledge_and_set_limits(msg)
        self._transport.write(uatcp_to_binary(ua.MessageType.Acknowledge, ack))
        return True

    async def _open(self, msg: ua.Message) -> bool:
        header = msg.SecurityHeader()
        if not self._connection.is_open():
            code = await self._check_channel_certificate(header.SenderCertificate)
            if code is not None:
                return self.refuse(code, "client certificate of the secure channel")
        try:
            self.open_secure_channel(header, msg.SequenceHeader(), msg.body())
        except ua.UaStatusCodeError as e:
            return self.refuse(e.code, f"OpenSecureChannel with {header.SecurityPolicyURI}")
        return True

    async def _check_channel_certificate(self, der: bytes | None) -> int | None:
        """The status code refusing the channel's certificate, or None when it may pass."""
        validator = self.iserver.certificate_validator
        if validator is None or not self._connection.secure:
            return None
        try:
            cert = uacrypto.x509_from_der(der)
        except ValueError:
            cert = None
        if cert is None:
            return ua.StatusCodes.BadCertificateInvalid
        uris = _uris(cert)
        description = ua.ApplicationDescription(ApplicationUri=uris[0] if uris else "",
                                                ApplicationType=ua.ApplicationType.Client)
        try:
            await validator(cert, description)
        except ServiceError as e:
            refusals.warn(log, "refused client certificate %r from %s (%s)", cert.subject.rfc4514_string(), self.peer,
                          ua.StatusCode(e.code).name)
            return e.code
        return None

    # --- sessions -----------------------------------------------------------------------

    async def _process_message(self, typeid: ua.NodeId, requesthdr: Any, seqhdr: Any, body: Any) -> Any:
        self.serving = typeid
        if typeid in _REFUSED_SERVICES:
            raise ServiceError(ua.StatusCodes.BadServiceUnsupported)
        if typeid in _SESSIONLESS:
            self.session = None
            return await super()._process_message(typeid, requesthdr, seqhdr, body)
        if self._connection.discovery_only:
            refusals.warn(log, "refused request from %s: a None channel serves discovery only on this server", self.peer)
            raise ServiceError(ua.StatusCodes.BadSecurityPolicyRejected)
        if typeid == _CREATE:
            return await self._create_session(typeid, requesthdr, seqhdr, body)
        if typeid == _ACTIVATE:
            return await self._activate_session(typeid, requesthdr, seqhdr, body)
        session = self.sessions.get(requesthdr.AuthenticationToken)
        if session is None:
            refusals.warn(log, "refused request from %s: its authentication token names no session of this channel",
                          self.peer)
            raise ServiceError(ua.StatusCodes.BadSessionIdInvalid)
        self._check_size(typeid, body)
        self.session = session
        if typeid == _BROWSE_NEXT:
            return await self._browse_next(session, requesthdr, seqhdr, body)
        try:
            return await super()._process_message(typeid, requesthdr, seqhdr, body)
        finally:
            if typeid == _CLOSE:
                self.sessions.pop(session.auth_token, None)
                self.session = None

    async def _browse_next(self, session: PlantSession, requesthdr: Any, seqhdr: Any, body: Any) -> bool:
        """BrowseNext, which asyncua 2.1's processor does not dispatch (BadServiceUnsupported):
        the role check and the session's activity as asyncua's processor does them for every
        service, then the session's continuation points (`browse_points`). Upstream."""
        permissions = self._connection.security_policy.permissions
        if permissions is not None and permissions.check_validity(session.user, _BROWSE_NEXT, body) is False:
            raise ServiceError(ua.StatusCodes.BadUserAccessDenied)
        session.touch()
        params = struct_from_binary(ua.BrowseNextParameters, body)
        response = ua.BrowseNextResponse()
        response.Parameters.Results = await session.browse_next(params)
        self.send_response(requesthdr.RequestHandle, seqhdr, response)
        return True

    def _check_size(self, typeid: ua.NodeId, body: Any) -> None:
        """A request larger than its limit is refused before it is decoded (BadTooManyOperations)."""
        found = counts(typeid, body, self.iserver.limits)
        if found is not None and oversized(self.iserver.limits, *found):
            refusals.warn(log, "refused request from %s: %s over %s", self.peer, found[1], found[0])
            raise ServiceError(TOO_MANY)

    async def _create_session(self, typeid: ua.NodeId, requesthdr: Any, seqhdr: Any, body: Any) -> Any:
        params = struct_from_binary(ua.CreateSessionParameters, body.copy())
        policy = self._connection.security_policy
        if self._connection.secure and _leaf(params.ClientCertificate) != policy.peer_certificate:
            refusals.warn(log, "refused CreateSession from %s: its client certificate is not the secure channel's", self.peer)
            raise ServiceError(ua.StatusCodes.BadCertificateInvalid)
        self.session = None
        try:
            result = await super()._process_message(typeid, requesthdr, seqhdr, body)
        except Exception as e:
            created = self.session
            if isinstance(created, PlantSession):
                await created.close_session(True)
            refusals.warn(log, "refused CreateSession from %s: %s", self.peer, _reason(e))
            raise
        session = self.session
        assert isinstance(session, PlantSession)
        session.channel = self
        session.peer_certificate = policy.peer_certificate
        session.host = self.host
        self.sessions[session.auth_token] = session
        task = asyncio.create_task(self._expire_unless_activated(session))
        self._deadlines.add(task)
        task.add_done_callback(self._deadlines.discard)
        return result

    async def _expire_unless_activated(self, session: PlantSession) -> None:
        await asyncio.sleep(self.iserver.limits.activation_timeout_s)
        if not session.is_activated():
            refusals.warn(log, "closing session from %s: not activated within %.0f s", self.peer,
                          self.iserver.limits.activation_timeout_s)
            self.sessions.pop(session.auth_token, None)
            await session.close_session(True)

    async def _activate_session(self, typeid: ua.NodeId, requesthdr: Any, seqhdr: Any, body: Any) -> Any:
        token = requesthdr.AuthenticationToken
        session = self.sessions.get(token)
        takeover: PlantSession | None = None
        if session is None:
            found = self.iserver.lookup_external_session(token)
            if not isinstance(found, PlantSession) or not self._may_take_over(found):
                refusals.warn(log, "refused ActivateSession from %s: its token names no session it may activate", self.peer)
                raise ServiceError(ua.StatusCodes.BadSessionIdInvalid)
            takeover = found
        target = session or takeover
        assert target is not None
        verified = None
        try:
            params = struct_from_binary(ua.ActivateSessionParameters, body.copy())
            checked = await self._check_login(target, params.UserIdentityToken)
            if takeover is not None and (checked[0] if checked else None) != takeover.user.name:
                refusals.warn(log, "refused ActivateSession from %s: taking over a session needs its own user", self.peer)
                raise ServiceError(ua.StatusCodes.BadIdentityChangeNotSupported)
            check_activation(self.iserver.quota, self.iserver.open_sessions, target, checked[0] if checked else None,
                             self.host, self._connection.security_policy.peer_certificate)
            self.session = None if takeover is not None else session
            verified = VERIFIED.set(checked)
            result = await super()._process_message(typeid, requesthdr, seqhdr, body)
        except Exception as e:
            refusals.warn(log, "refused ActivateSession from %s: %s", self.peer, _reason(e))
            if not target.is_activated():  # no slot kept for a failed first activation
                self.sessions.pop(target.auth_token, None)
                await target.close_session(True)
            raise
        finally:
            if verified is not None:
                VERIFIED.reset(verified)
        if takeover is not None:
            if takeover.channel is not None:
                takeover.channel.sessions.pop(takeover.auth_token, None)
            takeover.channel = self
            self.sessions[takeover.auth_token] = takeover
        return result

    def _may_take_over(self, session: PlantSession) -> bool:
        """A session's own connection is gone, and the client holds the same certificate."""
        return may_take_over(session.is_activated(), session.channel is None,
                             session.peer_certificate == self._connection.security_policy.peer_certificate)

    async def _check_login(self, session: PlantSession, id_token: Any) -> tuple[str, str, str | None] | None:
        """A user name and password, checked off the event loop and throttled; None for other tokens.
        Raises BadUserAccessDenied (wrong or throttled) or BadIdentityTokenInvalid."""
        if not isinstance(id_token, ua.UserNameIdentityToken):
            return None
        refuse_clear_password(id_token.UserName, bool(id_token.EncryptionAlgorithm), self._connection.encrypted,
                              self.peer)
        try:
            name, password = self.iserver.decrypt_user_token(session, id_token)
        except Exception:
            raise ServiceError(ua.StatusCodes.BadIdentityTokenInvalid) from None
        refuse_malformed(name, password, self.iserver.limits.max_password_length, self.peer)
        manager = self.iserver.user_manager
        assert isinstance(manager, PlantUserManager)
        return await check_login(self.iserver.logins, manager.store.verify, self.host, self.peer, name, password)

    async def _session_watchdog_loop(self) -> None:
        """Not used: sessions time out by themselves (InternalSession's timeout loop)."""

    async def close(self) -> None:
        """Connection lost: sessions without subscriptions close now, the others in at most
        `orphan_timeout_s` unless a new connection takes them over."""
        self._closing = True
        for task in list(self._deadlines):
            task.cancel()
        orphan_s = self.iserver.limits.orphan_timeout_s
        for session in list(self.sessions.values()):
            session.channel = None
            if closes_with_connection(session.is_activated(), session.external, session.has_subscriptions()):
                await session.close_session(True)
            else:
                session.shorten_timeout(orphan_s)
        self.sessions.clear()
        self.session = None


def _leaf(der: bytes | None) -> bytes | None:
    """The first certificate of a DER certificate or chain, re-encoded (as asyncua keeps the peer's)."""
    try:
        return uacrypto.der_from_x509(uacrypto.x509_from_der(der)) if der else None
    except ValueError:
        return None


def _uris(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return san.get_values_for_type(x509.UniformResourceIdentifier)


def _reason(e: BaseException) -> str:
    code = getattr(e, "code", None)
    return ua.StatusCode(code).name if isinstance(code, int) else type(e).__name__
