"""One plant under test: the PLC and its OPC UA server on 127.0.0.1 (a free port), run by an
asyncio loop in a thread of its own so that a test, synchronous or async, talks to it as any
client does. Faults and simulation control go over OPC UA too, as an engineer, so a test
exercises the same methods, checks and audit as an HMI would."""

from __future__ import annotations

import asyncio
import concurrent.futures
import secrets
import shutil
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import plant_tags as tags

if TYPE_CHECKING:
    from asyncua import Client

    from opcua_server.server import PlantServer
    from plc_sim.plc.runtime import PlcRuntime

T = TypeVar("T")
Profile = Literal["demo", "secure"]
"""`demo`: the None policy offered, any client certificate accepted, anonymous viewers (what
`plant up` serves). `secure`: Basic256Sha256 only, a trust list holding the client certificate
made for the test (`PlantUnderTest.client_certificate`), users with passwords."""

START_TIMEOUT_S = 60.0
"""How long the plant may take to start (a guard against a hang on a loaded machine)."""
CALL_TIMEOUT_S = 30.0
"""How long one call into the plant's loop may take."""
NS = "urn:plant-twin:plant"
CLIENT_URI = "urn:plant-twin:test-client"
"""The application URI in the test's client certificate: a client presenting it says so
(asyncua: `client.application_uri = plant.client_application_uri`)."""
ROLES = ("engineer", "operator", "viewer")


@dataclass(frozen=True)
class User:
    """A user of the plant's server, made for this test with a fresh password."""

    name: str
    role: str
    password: str


class PlantUnderTest:
    """`start()` serves the plant and returns it; `url`, `users` and, in the secure profile,
    `client_certificate` and `client_key` say how to connect; `stop()` ends it cleanly.
    A context manager too."""

    def __init__(self, data_dir: Path, plant: str = "gear_line", seed: int = 1,
                 time_factor: float | None = 3600.0, profile: Profile = "demo", faults: Path | None = None,
                 model: str | None = None, scenario: int | None = None, start_h: float | None = None,
                 scan_s: float = 0.1) -> None:
        if profile not in ("demo", "secure"):
            raise ValueError(f"profile: 'demo' or 'secure', not {profile!r}")
        self.data_dir, self.plant, self.seed, self.profile = data_dir, plant, seed, profile
        self.time_factor, self.faults, self.model, self.scenario = time_factor, faults, model, scenario
        self.start_h, self.scan_s = start_h, scan_s
        self.users = {role: User(role, role, secrets.token_urlsafe(12)) for role in ROLES}
        """One user per role, named after it: `users["engineer"].password`."""
        self.url = ""
        self.client_certificate: Path | None = None
        self.client_key: Path | None = None
        self.client_application_uri = CLIENT_URI
        self.line = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._plc: PlcRuntime | None = None
        self._server: PlantServer | None = None
        self._engineer: Client | None = None

    # --- starting and stopping ----------------------------------------------------------------

    def start(self) -> PlantUnderTest:
        ready: concurrent.futures.Future[str] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._main, args=(ready,), name="plant-under-test", daemon=True)
        self._thread.start()
        self.url = ready.result(START_TIMEOUT_S)
        return self

    def stop(self) -> None:
        """End the engineer session, the scan and the server; wait for the thread."""
        loop, stop, thread = self._loop, self._stop, self._thread
        if loop is None or stop is None or thread is None:
            return
        loop.call_soon_threadsafe(stop.set)
        thread.join(START_TIMEOUT_S)
        self._loop = None

    def __enter__(self) -> PlantUnderTest:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _main(self, ready: concurrent.futures.Future[str]) -> None:
        try:
            asyncio.run(self._serve(ready))
        except BaseException as e:  # the test sees why the plant could not start
            if not ready.done():
                ready.set_exception(e)
            else:
                raise

    async def _serve(self, ready: concurrent.futures.Future[str]) -> None:
        from opcua_server import daemon
        from opcua_server._asyncua.server import endpoint_port
        from opcua_server.server import PlantServer
        from plantctl.cmd_plc import schedule_faults, start_hour
        from plc_sim.model.spec import load_plant
        from plc_sim.model.variants import build_variant
        from plc_sim.plc.runtime import PlcRuntime

        daemon.install()
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        spec = build_variant(load_plant(self.plant), model=self.model, scenario=self.scenario, sets=[])
        plc = PlcRuntime(spec, seed=self.seed, time_factor=self.time_factor, scan_s=self.scan_s,
                         start_h=start_hour(spec, self.seed, self.start_h))
        problem = schedule_faults(plc, self.faults)
        if problem:
            raise ValueError(problem)
        if self.profile == "secure":
            await self._make_client_certificate()
        server = PlantServer(plc, self._server_settings())
        for user in self.users.values():
            server.users.add(user.name, user.role, user.password)
        self._plc, self._server, self.line = plc, server, spec.line
        async with server:
            url = server.url.replace(f":{server.settings.port}/", f":{endpoint_port(server)}/", 1)
            scans = asyncio.create_task(plc.run(self._stop), name="plant-under-test-scans")
            try:
                self._engineer = await self._connect(url, self.users["engineer"])
                ready.set_result(url)
                await self._stop.wait()
            finally:
                self._stop.set()
                if self._engineer is not None:
                    await self._engineer.disconnect()
                await scans

    def _server_settings(self) -> Any:
        from opcua_server.settings import ServerSettings

        demo = self.profile == "demo"
        return ServerSettings.load(None, port=0, host="127.0.0.1", data_dir=self.data_dir,
                                   allow_none_policy=demo, trust_all_clients=demo)

    async def _make_client_certificate(self) -> None:
        """A client certificate for the test, copied into the server's trust list."""
        import socket

        from asyncua.crypto.cert_gen import setup_self_signed_certificate
        from cryptography.x509.oid import ExtendedKeyUsageOID

        own = self.data_dir / "test-client"
        own.mkdir(parents=True, exist_ok=True)
        cert, key = own / "client_cert.der", own / "client_key.pem"
        await setup_self_signed_certificate(key, cert, CLIENT_URI, socket.gethostname(),
                                            [ExtendedKeyUsageOID.CLIENT_AUTH], {"commonName": "plant test client"})
        trusted = self.data_dir / "pki" / "trusted"
        trusted.mkdir(parents=True, exist_ok=True)
        shutil.copy(cert, trusted / cert.name)
        self.client_certificate, self.client_key = cert, key

    async def _connect(self, url: str, user: User) -> Client:
        """The plugin's own engineer session, for faults and simulation control."""
        from asyncua import Client

        client = Client(url, timeout=CALL_TIMEOUT_S)
        client.application_uri = CLIENT_URI
        client.set_user(user.name)
        client.set_password(user.password)
        if self.client_certificate is not None:
            await client.set_security_string(
                f"Basic256Sha256,SignAndEncrypt,{self.client_certificate},{self.client_key}")
        await client.connect()
        return client

    # --- talking to it ------------------------------------------------------------------------

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            coro.close()
            raise RuntimeError("the plant is not running: start() it first")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(CALL_TIMEOUT_S)

    def call(self, method: str, **args: Any) -> str:
        """Call one of the line's methods (Faults, Simulation, Control: `BreakMachine`,
        `SetQuality`, `StepTo`, `SetKanbans`, ...) as the engineer, its arguments by name and
        typed from the command table; what the method answered. A refusal raises asyncua's
        `UaStatusCodeError` with the server's StatusCode."""
        return self._run(self._call(method, args))

    async def _call(self, method: str, args: dict[str, Any]) -> str:
        from asyncua import ua

        spec = _line_command(method)
        names = [a.name for a in spec.args]
        if set(args) != set(names):
            raise TypeError(f"{method} takes {', '.join(names) or 'no arguments'}; got {', '.join(args) or 'none'}")
        assert self._engineer is not None
        idx = await self._engineer.get_namespace_index(NS)
        obj = self._engineer.get_node(ua.NodeId(tags.key((tags.PLANT, self.line, spec.folder)), idx))
        variants = [ua.Variant(args[a.name], getattr(ua.VariantType, a.dtype)) for a in spec.args]
        return str(await obj.call_method(ua.QualifiedName(spec.method, idx), *variants))

    def break_machine(self, machine: str, hours: float) -> str:
        return self.call("BreakMachine", machine=machine, duration_h=float(hours))

    def set_quality(self, tag: str, quality: str, hours: float) -> str:
        """`tag` is a path below Objects/Plant joined by / (e.g. `GearLine/MP1/MP1/PowerKW`)."""
        return self.call("SetQuality", tag=tag, quality=quality, duration_h=float(hours))

    def clear_fault(self, fault_id: int) -> str:
        return self.call("ClearFault", id=int(fault_id))

    def pause(self) -> str:
        return self.call("Pause")

    def resume(self) -> str:
        return self.call("Resume")

    def step_to(self, hour: float) -> str:
        """Run to plant hour `hour` and pause there; returns once the plant has arrived."""
        answer = self.call("StepTo", hour=float(hour))
        self._run(self._until(lambda: self.plant_hour() >= hour))  # StepTo answers before the scan gets there
        return answer

    def plant_hour(self) -> float:
        """The plant's calendar hour now (the hour `StepTo` takes and PlantClock shows)."""
        if self._plc is None:
            raise RuntimeError("the plant is not running: start() it first")
        return float(self._plc.calendar_h)

    async def _until(self, done: Any) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CALL_TIMEOUT_S
        while not done():
            if loop.time() > deadline:
                raise TimeoutError(f"the plant did not get there within {CALL_TIMEOUT_S:g} s")
            await asyncio.sleep(0.02)


def _line_command(method: str) -> Any:
    from plc_sim.plc.commands import COMMANDS

    for spec in COMMANDS.values():
        if spec.method == method and spec.target == "line":
            return spec
    known = sorted(s.method for s in COMMANDS.values() if s.target == "line")
    raise ValueError(f"no line method {method!r}; one of {', '.join(known)}")
