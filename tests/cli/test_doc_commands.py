"""Every shell command in README.md and docs/*.md, run as a reader would type it: each `plant`
command of a fenced `sh` block runs in a temporary folder (with a short horizon for the
simulations and the optimizer); the servers are started on port 0 and stopped by PID; the few
that cannot run here are checked in their dry form (`--help` after the documented options:
every option name must exist) and listed in EXCLUDED with the reason."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.test_certs import der_certificate
from tests.support.daemons import run_daemon

ROOT = Path(__file__).resolve().parents[2]
PLANT = str(Path(sys.executable).parent / "plant")
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

SHORT = {
    "simulate": ["--hours", "24", "--warmup", "8", "--reps", "2", "--jobs", "1"],
    "compare": ["--hours", "24", "--warmup", "8", "--reps", "2", "--jobs", "1"],
    "optimize": ["--hours", "24", "--warmup", "8", "--reps", "2", "--verify-reps", "2", "--generations", "1",
                 "--pop-size", "4", "--budget", "5", "--jobs", "1"],
}
"""Options appended to a documented command so that it runs in seconds (the last value of an
option wins): the horizon, not the command, is what the docs' figures are about."""

SERVERS = {"up": ["--port", "0", "--no-ui"], "plc": ["--port", "0"]}
"""Daemons started on port 0 in the temporary folder, then stopped with SIGTERM (exit 0)."""

EXCLUDED = {
    ("twin", "--endpoint"): "mirrors a server at 127.0.0.1:4840, a fixed port the tests never take "
                            "(tests/twin runs the twin against a real server on port 0)",
    ("optimizer",): "the scheduled service needs a plant.toml with a server and its password "
                    "(tests/optimizer runs it against a real server)",
    ("optimize", "--dask"): "needs a Dask cluster at the documented address (tests/optimizer/test_dask_cluster.py "
                            "runs replications on `dask scheduler` and `dask worker` processes on loopback)",
    ("experiment",): "the --quick designs take minutes each (tests/experiments runs them and checks their tables "
                     "against scipy and their resume)",
    ("sim",): "drives a running server at 127.0.0.1:4840 (tests/cli/test_sim_cli.py runs every `plant sim` "
              "command against a real server on port 0)",
}
"""Documented commands checked in their dry form only, and why."""

NOT_PLANT = {
    "make": "`make run` is the install (tests/cli/test_packaging.py) and `plant up` (run below); "
            "`make test` is this suite",
    "mv": "a file move of a certificate, what `plant certs trust` does (run below)",
    "curl": "the Prometheus endpoints (tests/twin and tests/metrics read them)",
    "dask": "a Dask scheduler and workers, started on loopback by tests/optimizer/test_dask_cluster.py",
}
"""Shell commands that are not `plant`, with where they are covered."""


@dataclass(frozen=True)
class DocCommand:
    where: str
    text: str

    @property
    def argv(self) -> list[str]:
        """The words after `plant`, without a leading environment assignment or a trailing `&`."""
        words = [w for w in shlex.split(self.text, comments=True) if w != "&"]
        while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
            words.pop(0)
        return words[1:]

    @property
    def program(self) -> str:
        words = [w for w in shlex.split(self.text, comments=True) if not re.fullmatch(r"[A-Z_]+=\S*", w)]
        return Path(words[0]).name


def doc_commands() -> list[DocCommand]:
    """The commands of every fenced `sh` block, continuation lines joined."""
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for block in re.finditer(r"^```sh\n(.*?)^```", text, re.S | re.M):
            first = text.count("\n", 0, block.start()) + 2
            pending, start = "", first
            for i, raw in enumerate(block.group(1).splitlines()):
                start = start if pending else first + i
                if raw.endswith("\\"):
                    pending += raw[:-1] + " "
                    continue
                line, pending = (pending + raw).strip(), ""
                if shlex.split(line, comments=True):
                    found.append(DocCommand(f"{doc.relative_to(ROOT)}:{start}", line))
    return found


COMMANDS = doc_commands()
UNIQUE = list({tuple(c.argv): c for c in reversed(COMMANDS) if c.program == "plant"}.values())[::-1]
"""Each distinct `plant` command once (the first place it is documented names it)."""


def _excluded(argv: list[str]) -> str | None:
    for key, reason in EXCLUDED.items():
        if argv[:1] == [key[0]] and all(k in argv for k in key[1:]):
            return reason
    return None


def _run(argv: list[str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PLANT, *argv], capture_output=True, text=True, timeout=600, cwd=cwd, input=stdin,
                          env={**os.environ, "COLUMNS": "200", "PLANT_TWIN_PASSWORD": "vic-pw"})


@pytest.fixture
def reader(tmp_path: Path) -> Path:
    """A reader's folder: a data directory where a refused client `scada-hmi` waits to be trusted."""
    rejected = tmp_path / "data" / "pki" / "rejected"
    rejected.mkdir(parents=True)
    (rejected / "scada-hmi_3f2a.der").write_bytes(der_certificate("scada-hmi"))
    return tmp_path


def test_the_docs_have_commands_and_every_one_is_classified() -> None:
    assert len([c for c in COMMANDS if c.program == "plant"]) >= 25
    assert {c.program for c in COMMANDS} <= {"plant", *NOT_PLANT}, "a new kind of command needs a line here"


@pytest.mark.parametrize("cmd", UNIQUE, ids=lambda c: c.where)
def test_documented_command_runs(cmd: DocCommand, reader: Path) -> None:
    argv = cmd.argv
    reason = _excluded(argv)
    if reason is not None:
        dry = _run([*argv, "--help"], reader)
        assert dry.returncode == 0 and "Usage" in dry.stdout, f"{cmd.where}: {cmd.text}\n{dry.stderr}"
        return
    if argv[0] in SERVERS:
        with run_daemon([*argv, *SERVERS[argv[0]]], reader / "daemon.log", cwd=reader,
                        start_new_session=True) as daemon:
            daemon.url()
            assert daemon.stop() == 0, f"{cmd.where}: {cmd.text}\n{daemon.tail()}"
        return
    stdin = "alice-engineer-pw\nalice-engineer-pw\n" if argv[:2] == ["users", "add"] else None
    r = _run([*argv, *SHORT.get(argv[0], [])], reader, stdin)
    if argv[0] in ("history", "twin"):  # a reader's first look: no twin has run in this folder yet
        assert r.returncode == 1 and "no " in r.stderr and "Traceback" not in r.stderr, f"{cmd.where}\n{r.stderr}"
        return
    assert r.returncode == 0, f"{cmd.where}: {cmd.text}\n{r.stderr[-3000:]}"
