"""deploy/install.sh on this machine, then the installed systemd unit's command line, run as
the service user (not root) with the example config: it starts, serves, and stops on SIGTERM.

The install creates a fresh virtual environment and installs the project with its
dependencies into it (a minute or two). As root (CI) the service user is `nobody` and the
interpreter Debian's /usr/bin/python3, which every user may run."""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.daemons import run_daemon

REPO = Path(__file__).parents[2]
ROOT = os.geteuid() == 0


@pytest.fixture(scope="module")
def installed() -> Iterator[dict[str, Path | str]]:
    top = Path(tempfile.mkdtemp(prefix="plant-install-", dir="/tmp"))
    top.chmod(0o755)
    layout: dict[str, Path | str] = {
        "PREFIX": top / "opt", "CONF_DIR": top / "etc", "DATA_DIR": top / "var",
        "SYSTEMD_DIR": top / "units", "SERVICE_USER": "nobody" if ROOT else os.environ.get("USER", "root"),
        "PYTHON": "/usr/bin/python3" if ROOT and Path("/usr/bin/python3").exists() else sys.executable,
    }
    env = {**os.environ, **{k: str(v) for k, v in layout.items()}}
    r = subprocess.run([str(REPO / "deploy" / "install.sh")], env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "users --data-dir" in r.stdout
    yield layout
    shutil.rmtree(top, ignore_errors=True)


def unit_command(unit: Path) -> tuple[list[str], dict[str, str], str]:
    """ExecStart, Environment and User of a systemd unit."""
    argv: list[str] = []
    env: dict[str, str] = {}
    user = ""
    for line in unit.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == "ExecStart":
            argv = shlex.split(value)
        elif key == "Environment":
            name, _, val = value.partition("=")
            env[name] = val
        elif key == "User":
            user = value
    return argv, env, user


def as_user(user: str, argv: list[str]) -> list[str]:
    if not ROOT:
        return argv
    return ["setpriv", f"--reuid={user}", f"--regid={user if user != 'nobody' else 'nogroup'}", "--clear-groups",
            *argv]


def test_installed_unit_runs_as_the_service_user(installed: dict[str, Path | str]) -> None:
    unit = Path(installed["SYSTEMD_DIR"]) / "plant-plc.service"
    argv, unit_env, user = unit_command(unit)
    assert user == installed["SERVICE_USER"] and unit_env["PLANT_DATA_DIR"] == str(installed["DATA_DIR"])
    plant = str(Path(installed["PREFIX"]) / ".venv" / "bin" / "plant")
    assert argv[0] == plant and Path(argv[argv.index("--config") + 1]).exists()
    data = Path(unit_env["PLANT_DATA_DIR"])
    if ROOT:
        assert data.stat().st_mode & 0o777 == 0o750
    add = subprocess.run(as_user(user, [plant, "users", "--data-dir", str(data), "add", "alice", "--role", "engineer",
                                        "--password-stdin"]), input="alice-secret\n", capture_output=True, text=True,
                         timeout=120, env={**os.environ, "HOME": str(data)})
    assert add.returncode == 0, add.stderr
    env = {**unit_env, "PLANT_OPCUA_PORT": "0", "HOME": str(data)}
    log = Path(tempfile.mkdtemp()) / "plc.log"
    with run_daemon(as_user(user, argv), log, env, executable=()) as plc:
        port = urlsplit(plc.url()).port
        assert port
        socket.create_connection(("127.0.0.1", port), 5).close()
        assert plc.stop() == 0, plc.tail()
    assert (data / "users.json").exists() and (data / "pki").is_dir()
