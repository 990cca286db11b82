"""Mistakes on the command line get one clear line naming the file, setting or port, and a
non-zero exit; never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PLANT = [str(Path(sys.executable).parent / "plant")]


def plant(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(PLANT + list(args), capture_output=True, text=True, timeout=60, input=stdin,
                          env={**os.environ, "COLUMNS": "200", **(env or {})})


def one_error_line(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    return lines[0]


@pytest.fixture()
def busy_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_port_in_use_names_the_port(busy_port: int, tmp_path: Path) -> None:
    line = one_error_line(plant("plc", "--port", str(busy_port), "--data-dir", str(tmp_path)))
    assert f"port {busy_port}" in line and "in use" in line and "--port" in line


@pytest.mark.parametrize(("args", "named"), [
    (["--time-factor", "-5"], "time_factor"),
    (["--port", "99999"], "port"),
    (["--host", "no-such-host.invalid"], "no-such-host.invalid"),
])
def test_bad_server_options_name_the_setting(args: list[str], named: str, tmp_path: Path) -> None:
    assert named in one_error_line(plant("plc", *args, "--data-dir", str(tmp_path)))


def test_missing_and_malformed_config_files_are_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert str(missing) in one_error_line(plant("plc", "--config", str(missing)))
    bad = tmp_path / "bad.toml"
    bad.write_text("[plc\nseed = 1\n")
    line = one_error_line(plant("plc", "--config", str(bad)))
    assert str(bad) in line and "TOML" in line
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[plc]\nscan_s = -1\n")
    assert "scan_s" in one_error_line(plant("plc", "--config", str(wrong)))


def test_unusable_data_directory_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    bad_dir = blocker / "data"
    assert str(bad_dir) in one_error_line(plant("plc", "--data-dir", str(bad_dir)))
    assert "PLANT_DATA_DIR" in one_error_line(plant("users", "list", env={"PLANT_DATA_DIR": str(tmp_path / "none")}))
    (tmp_path / "users.json").write_text("{broken")
    assert "users.json" in one_error_line(plant("users", "--data-dir", str(tmp_path), "list"))


def test_users_get_prompted_passwords_and_weak_ones_are_refused(tmp_path: Path) -> None:
    base = ("users", "--data-dir", str(tmp_path), "add")
    assert "8 characters" in one_error_line(plant(*base, "bob", "--role", "viewer", "--password-stdin", stdin="short\n"))
    assert "user name" in one_error_line(plant(*base, "bobbybobby", "--role", "viewer", "--password-stdin",
                                               stdin="BobbyBobby\n"))
    ok = plant(*base, "bob", "--role", "operator", "--password-stdin", stdin="a-long-secret\n")
    assert ok.returncode == 0, ok.stderr
    listed = plant("users", "--data-dir", str(tmp_path), "list")
    assert listed.stdout.split() == ["bob", "operator"]


def test_help_names_the_data_directory() -> None:
    out = plant("plc", "--help").stdout
    assert "--data-dir" in out and "PLANT_DATA_DIR" in out
