"""`plant users`: who exists and their roles, never a password; the demo users' generated
passwords stay in <data dir>/demo-passwords (0600) until they are changed."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from opcua_server.users import UserStore
from plantctl import demo_passwords

PLANT = [str(Path(sys.executable).parent / "plant")]


def plant(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PLANT, *args], capture_output=True, text=True, timeout=60, input=stdin,
                          env={**os.environ, "COLUMNS": "200"})


def test_an_empty_users_file_says_so(tmp_path: Path) -> None:
    r = plant("users", "--data-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert f"no users in {tmp_path / 'users.json'}" in r.stdout


def test_users_lists_names_and_roles_and_where_a_demo_password_is(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.json")
    store.add("operator", "operator", "generated-op-1")
    store.add("engineer", "engineer", "generated-en-1")
    kept = demo_passwords.remember(tmp_path, [("operator", "operator", "generated-op-1"),
                                              ("engineer", "engineer", "generated-en-1")])
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    r = plant("users", "list", "--data-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("engineer\tengineer\tgenerated password in ") and str(kept) in lines[0]
    assert lines[1].startswith("operator\toperator\t")
    assert "generated-" not in r.stdout, "never a password"
    assert plant("users", "--data-dir", str(tmp_path)).stdout == r.stdout, "`plant users` alone lists"

    changed = plant("users", "--data-dir", str(tmp_path), "add", "engineer", "--role", "engineer",
                    "--password-stdin", stdin="a-new-secret-2\n")
    assert changed.returncode == 0, changed.stderr
    assert demo_passwords.read(tmp_path) == {"operator": ("operator", "generated-op-1")}, "a changed one is dropped"
    assert UserStore(tmp_path / "users.json").verify("engineer", "a-new-secret-2") == "engineer"
    assert plant("users", "--data-dir", str(tmp_path), "remove", "operator").returncode == 0
    assert not kept.exists(), "the last one gone, the file too"
    assert plant("users", "--data-dir", str(tmp_path)).stdout == "engineer\tengineer\n"
