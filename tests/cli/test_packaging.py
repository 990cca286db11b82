"""The first `make run` of a newcomer: building and installing the project prints no
setuptools warnings, and the metadata carries the SPDX licence."""

import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIP = [sys.executable, "-m", "pip"]


def _quiet_lines(out: str) -> list[str]:
    """Warnings in pip's output, without the machine's own pip configuration notices."""
    return [line for line in out.splitlines()
            if "warning" in line.lower() and "Location 'file:" not in line]


def _sources(dest: Path) -> Path:
    """A copy of the project without its build products (a wheel build writes build/ in place)."""
    shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "node_modules", "data", "__pycache__", ".pytest_cache"))
    return dest


def test_wheel_builds_without_warnings_and_names_the_licence(tmp_path):
    src = _sources(tmp_path / "src")
    r = subprocess.run([*PIP, "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(src)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert _quiet_lines(r.stdout + r.stderr) == [], r.stderr
    (wheel,) = tmp_path.glob("plant_twin-*.whl")
    with zipfile.ZipFile(wheel) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        text = z.read(meta).decode()
    assert "License-Expression: MIT" in text
    assert "License: " not in text  # the deprecated free-text field is gone


def test_editable_install_is_quiet(tmp_path):
    target = tmp_path / "v"
    venv.EnvBuilder(with_pip=False).create(target)
    r = subprocess.run([*PIP, "--python", str(target / "bin" / "python"), "install", "--quiet", "--no-deps",
                              "-e", str(ROOT)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert _quiet_lines(r.stdout + r.stderr) == [], r.stderr
    probe = subprocess.run([str(target / "bin" / "python"), "-c", "import plantctl; print(plantctl.__file__)"],
                           capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert probe.stdout.strip() == str(ROOT / "plantctl" / "__init__.py")
