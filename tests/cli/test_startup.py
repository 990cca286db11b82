"""`plant --help` and the subcommands' `--help` load only typer, rich and the command
modules: the model library's numpy/scipy/pydantic, asyncua and the twin wait for the command
that uses them (bench/startup.py measures the seconds this saves)."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.boundary.test_imports import loaded_after_import, offenders

PLANT = str(Path(sys.executable).parent / "plant")
HEAVY = ("numpy", "scipy", "pydantic", "pydantic_settings", "simpy", "matplotlib", "asyncua", "pymoo", "dask",
         "cryptography", "plc_sim.model.spec", "plc_sim.model.experiment", "twin_core.settings")
BLOCKED = sorted({h for h in HEAVY if "." not in h} - {"pydantic"})
"""Packages made unimportable for `--help` (typer itself loads pydantic to coerce a subcommand's options)."""


def test_the_command_module_loads_nothing_heavy():
    assert offenders(loaded_after_import("plantctl.cli"), HEAVY) == []


@pytest.mark.parametrize("argv", [["--help"], ["simulate", "--help"], ["compare", "--help"], ["up", "--help"],
                                  ["history", "--help"], ["certs", "list", "--help"], ["users", "--help"]])
def test_help_runs_without_the_heavy_modules(argv):
    """The help of each command, with the heavy packages made unimportable: it must not need them."""
    blocker = ("import sys\n"
               "class Block:\n"
               "    def find_spec(self, name, path=None, target=None):\n"
               f"        if name.split('.')[0] in {BLOCKED!r}:\n"
               f"            raise ImportError(f'{{name}} is blocked for --help')\n"
               "sys.meta_path.insert(0, Block())\n"
               f"sys.argv = ['plant', *{argv!r}]\n"
               "from plantctl.cli import app\n"
               "app()\n")
    r = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Usage" in r.stdout


def test_a_subcommand_still_imports_what_it_needs():
    r = subprocess.run([PLANT, "simulate", "--hours", "50", "--warmup", "0", "--reps", "2", "--jobs", "1", "--json"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert '"kpis"' in r.stdout
