"""The trust list of client certificates: `<data_dir>/pki/trusted`, re-read when its files
change, and `<data_dir>/pki/rejected`, where every refused certificate is copied so that an
administrator can trust it by moving the file into `trusted`. In the demo profile (any
certificate accepted) `<data_dir>/pki/accepted` keeps the certificates of the clients that
connected, so that `plant certs list` shows them."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from asyncua import ua
from asyncua.common.utils import ServiceError
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from plc_sim.model.private_files import write_private

log = logging.getLogger(__name__)

_OPTIONS = CertificateValidatorOptions.TRUSTED_VALIDATION | CertificateValidatorOptions.PEER_CLIENT


def file_name(cert: x509.Certificate) -> str:
    """`<common name>_<SHA-1 thumbprint>.der`, safe as a file name."""
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(cn[0].value) if cn else "certificate")[:64]
    return f"{name}_{cert.fingerprint(hashes.SHA1()).hex()}.der"


class TrustList:
    """An asyncua certificate validator over a trust folder, reloaded when the folder changes.
    Refused certificates are written to the rejected folder."""

    def __init__(self, trusted: Path, rejected: Path) -> None:
        self.trusted = trusted
        self.rejected = rejected
        self._seen: tuple[tuple[str, int], ...] | None = None
        self._validator: CertificateValidator | None = None

    async def _current(self) -> CertificateValidator | None:
        files = tuple(sorted((p.name, p.stat().st_mtime_ns) for p in self.trusted.iterdir() if p.is_file()))
        if files != self._seen:
            self._seen = files
            self._validator = None
            if files:
                store = TrustStore([self.trusted], [])
                await store.load()
                self._validator = CertificateValidator(_OPTIONS, store)
        return self._validator

    async def __call__(self, cert: x509.Certificate, app_description: ua.ApplicationDescription) -> None:
        try:
            validator = await self._current()
            if validator is None:  # an enforced, empty trust list: nobody is trusted yet
                raise ServiceError(ua.StatusCodes.BadCertificateUntrusted)
            await validator.validate(cert, app_description)
        except ServiceError:
            self.reject(cert)
            raise

    def reject(self, cert: x509.Certificate) -> Path:
        path = self.rejected / file_name(cert)
        if not path.exists():
            write_private(path, cert.public_bytes(Encoding.DER))
        return path


class AcceptedLog:
    """The demo profile's validator: every certificate is accepted, and a copy kept in the
    accepted folder; at most `limit` files there (a client making a new certificate for every
    connection would otherwise fill the disk), the oldest removed first."""

    def __init__(self, accepted: Path, limit: int) -> None:
        self.accepted = accepted
        self.limit = limit

    async def __call__(self, cert: x509.Certificate, app_description: ua.ApplicationDescription) -> None:
        path = self.accepted / file_name(cert)
        if path.exists():
            return
        kept = sorted((p for p in self.accepted.iterdir() if p.is_file()), key=lambda p: p.stat().st_mtime_ns)
        for old in kept[:max(0, len(kept) - self.limit + 1)]:
            old.unlink(missing_ok=True)
        write_private(path, cert.public_bytes(Encoding.DER))
