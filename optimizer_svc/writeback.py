"""Write-back over OPC UA: an asyncua session as the optimizer's engineer user on a
Basic256Sha256 SignAndEncrypt channel with the optimizer's own certificate (generated on
first run in its data directory; None security only when the settings allow it). Every
write's status code is checked and every value is read back after the PLC's next scan; when
the server refuses one write, the values already written in that run are restored and the
refusal is reported, never retried blindly."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.node import Node
from asyncua.crypto import security_policies
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.ua.uaerrors import UaStatusCodeError
from cryptography.x509.oid import ExtendedKeyUsageOID

import plant_tags as tags
from plc_sim.model.private_files import private_dir, private_file
from plc_sim.model.spec import PlantSpec

from .holds import same_value
from .settings import OptimizerSettings
from .space import Value
from .tags import TagRef, tag_refs

log = logging.getLogger(__name__)


async def ensure_certificate(settings: OptimizerSettings) -> tuple[Path, Path]:
    """The optimizer's certificate and key (pki/own), made on first run."""
    own = private_dir(settings.data_dir / "pki" / "own")
    cert, key = own / "optimizer_cert.der", own / "optimizer_key.pem"
    await setup_self_signed_certificate(
        key, cert, settings.application_uri, socket.gethostname(), [ExtendedKeyUsageOID.CLIENT_AUTH],
        {"countryName": "EU", "organizationName": "plant-twin", "commonName": "plant-twin optimizer"})
    return private_file(cert), private_file(key)  # asyncua writes them with the umask's mode


@dataclass
class TagWrite:
    key: str
    path: str
    value: Value
    status: str = ""
    readback: Value | None = None


@dataclass
class WriteReport:
    outcome: str = "written"
    """written | refused | readback_mismatch"""
    writes: list[TagWrite] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "detail": self.detail, "restored": self.restored,
                "writes": [vars(w) for w in self.writes]}


def _variant(value: Value, dtype: str) -> ua.Variant:
    py = {"Double": float, "Int32": int, "String": str, "Boolean": bool}[dtype]
    return ua.Variant(py(value), getattr(ua.VariantType, dtype))


class PlantLink:
    """One session with the plant's server; `async with PlantLink(settings, spec) as link`."""

    def __init__(self, settings: OptimizerSettings, spec: PlantSpec) -> None:
        self.settings = settings
        self.spec = spec
        self.client: Client | None = None
        self.security = "None"
        self._ns = 0

    async def __aenter__(self) -> PlantLink:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.client is not None:
            await self.client.disconnect()
            self.client = None

    def _client(self) -> Client:
        s = self.settings
        c = Client(s.server_url, timeout=s.timeout_s)
        c.application_uri = s.application_uri
        c.set_user(s.username)
        c.set_password(s.password.get_secret_value())
        return c

    async def connect(self) -> None:
        s = self.settings
        if s.security == "SignAndEncrypt":
            cert, key = await ensure_certificate(s)
            client = self._client()
            await client.set_security(security_policies.SecurityPolicyBasic256Sha256, str(cert), str(key),
                                      mode=ua.MessageSecurityMode.SignAndEncrypt)
            try:
                await client.connect()
                self.client, self.security = client, "Basic256Sha256/SignAndEncrypt"
            except Exception as e:
                if not s.allow_none_fallback:
                    raise
                log.warning("secure channel failed (%s); falling back to None as the settings allow", e)
        if self.client is None:
            client = self._client()
            await client.connect()
            self.client = client
        self._ns = await self.client.get_namespace_index(s.namespace_uri)

    async def node(self, ref: TagRef) -> Node:
        assert self.client is not None
        names = [f"{self._ns}:{tags.PLANT}", *(f"{self._ns}:{p}" for p in ref.path)]
        return await self.client.nodes.objects.get_child(names)

    async def plant_time(self) -> float:
        node = await self.node(TagRef(tags.ClockTag.PLANT_TIME, tags.kpi(self.spec.line, tags.ClockTag.PLANT_TIME), "Double"))
        return float(await node.read_value())

    async def read(self, keys: list[str]) -> dict[str, Value]:
        """Current values of decisions (the first tag of a key that spans several)."""
        out: dict[str, Value] = {}
        for key in keys:
            ref = tag_refs(self.spec, key)[0]
            out[key] = await (await self.node(ref)).read_value()
        return out

    async def recommend(self, changes: Mapping[str, Value], summary: str) -> WriteReport:
        """Advisory mode: publish the changes as one recommendation (the server's
        Recommendations/Recommend method checks every one) for an operator to apply."""
        assert self.client is not None
        report = WriteReport(outcome="recommended")
        doc: dict[str, Value] = {}
        for key, value in changes.items():
            for ref in tag_refs(self.spec, key):
                doc[tags.key(ref.path)] = _variant(value, ref.dtype).Value
                report.writes.append(TagWrite(key, tags.browse_path(ref.path), value, "Recommended"))
        folder = await self.client.nodes.objects.get_child([f"{self._ns}:{tags.PLANT}", f"{self._ns}:{self.spec.line}",
                                                            f"{self._ns}:{tags.Folder.RECOMMENDATIONS}"])
        try:
            report.detail = str(await folder.call_method(f"{self._ns}:Recommend", json.dumps(doc), summary))
        except UaStatusCodeError as e:
            report.outcome, report.detail = "refused", f"Recommend refused: {ua.StatusCode(e.code).name}"
            for w in report.writes:
                w.status = ua.StatusCode(e.code).name
            log.warning("%s", report.detail)
        return report

    async def write(self, changes: Mapping[str, Value]) -> WriteReport:
        """Writes each change, stopping at the first refusal (and restoring what this run had
        written), then reads every written value back until it shows or the deadline passes."""
        report = WriteReport()
        done: list[tuple[TagRef, Value]] = []
        for key, value in changes.items():
            for ref in tag_refs(self.spec, key):
                node = await self.node(ref)
                old = await node.read_value()
                w = TagWrite(key, tags.browse_path(ref.path), value)
                report.writes.append(w)
                w.status = await self._write(node, value, ref.dtype)
                if w.status != "Good":
                    report.outcome = "refused"
                    report.detail = f"{w.path} = {value!r} refused: {w.status}"
                    log.warning("write refused: %s", report.detail)
                    report.restored = await self._restore(done)
                    return report
                done.append((ref, old))
        await self._read_back(report)
        return report

    async def _write(self, node: Node, value: Value, dtype: str) -> str:
        try:
            await node.write_value(ua.DataValue(_variant(value, dtype)))
        except UaStatusCodeError as e:
            return ua.StatusCode(e.code).name
        return "Good"

    async def _restore(self, done: list[tuple[TagRef, Value]]) -> list[str]:
        restored = []
        for ref, old in reversed(done):
            status = await self._write(await self.node(ref), old, ref.dtype)
            restored.append(f"{'/'.join(ref.path)}={old!r}: {status}")
        return restored

    async def _read_back(self, report: WriteReport) -> None:
        """The server shows a commanded value at once and the PLC takes it at its next scan,
        so the values are read back after the plant time has moved on (a scan has run since
        the writes): a value the PLC could not apply would then show the plant's value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.readback_timeout_s
        written_at = await self.plant_time()
        while await self.plant_time() <= written_at:
            if loop.time() > deadline:
                report.outcome = "readback_mismatch"
                report.detail = "the PLC's plant time did not move on after the writes (no scan)"
                return
            await asyncio.sleep(0.05)
        bad = []
        for w in report.writes:
            ref = TagRef(w.key, tuple(w.path.split("/")[2:]), "")
            w.readback = await (await self.node(ref)).read_value()
            if not same_value(w.readback, _variant(w.value, _dtype(self.spec, w.key)).Value):
                bad.append(w)
        if bad:
            report.outcome = "readback_mismatch"
            report.detail = "; ".join(f"{w.path} reads {w.readback!r}, wrote {w.value!r}" for w in bad)


def _dtype(spec: PlantSpec, key: str) -> str:
    return tag_refs(spec, key)[0].dtype
