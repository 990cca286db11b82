"""One clear line and a non-zero exit for every mistake a user can make on the command line:
a bad setting, a missing or malformed config file, an unusable data directory, a port in
use. No tracebacks for the user's mistakes; bugs still get theirs."""

from __future__ import annotations

import errno
import socket
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer

from plc_sim.model.private_files import private_dir

if TYPE_CHECKING:
    from plc_sim.model.config import PartSettings

S = TypeVar("S", bound="PartSettings")
EXIT_USAGE = 2


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


def load_settings(cls: type[S], config: Path | None, overrides: dict[str, object]) -> S:
    """A part's settings from the command line, the environment and the config file, or one
    line naming the file or the setting that is wrong."""
    from pydantic import ValidationError

    if config is not None:
        check_config_file(config)
    try:
        return cls.load(config, **{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as e:
        fail("; ".join(_setting_problem(cls, err) for err in e.errors()))


def check_config_file(path: Path) -> None:
    try:
        tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"config file {path}: no such file")
    except OSError as e:
        fail(f"config file {path}: cannot read it ({e.strerror})")
    except tomllib.TOMLDecodeError as e:
        fail(f"config file {path}: not valid TOML ({e})")


def _setting_problem(cls: type[PartSettings], err: object) -> str:
    d = err if isinstance(err, dict) else {}
    name = ".".join(str(p) for p in d.get("loc", ())) or "?"
    prefix = cls.model_config.get("env_prefix", "")
    where = f"[{cls.toml_table}] {name} (or --{name.replace('_', '-')}, {prefix}{name.upper()})"
    got = f" (got {d['input']!r})" if "input" in d and d.get("type") != "missing" else ""
    return f"setting {where}: {d.get('msg', 'invalid')}{got}"


def check_data_dir(path: Path) -> Path:
    """The data directory, created if needed and proved writable."""
    try:
        private_dir(path)
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        fail(f"data directory {path} (PLANT_DATA_DIR or --data-dir) is not usable: {e.strerror or e}")
    return path


def port_in_use_message(e: OSError, host: str, port: int, option: str = "--port") -> str | None:
    """The one line for a listening socket that could not be opened, or None for other errors;
    `option` is the command-line option that sets the port."""
    if e.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is in use (another server? choose another with {option})"
    if e.errno in (errno.EACCES, errno.EPERM):
        return f"port {port} on {host}: permission denied (ports below 1024 need privileges)"
    if e.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {host}: no such address on this machine (--host)"
    return None


def check_port(host: str, port: int, option: str = "--port") -> None:
    """Fail with one line when the server could not listen on host:port (checked before
    anything starts, so the user sees the reason and not a server's traceback)."""
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        fail(f"cannot listen on {host}: {e.strerror} (--host)")
    for family, kind, proto, _name, addr in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(addr)
            except OSError as e:
                fail(port_in_use_message(e, host, port, option) or f"cannot listen on {host}:{port}: {e.strerror or e}")
