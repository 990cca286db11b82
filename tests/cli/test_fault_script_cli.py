"""`plant plc --faults FILE` and `plant up --faults FILE` refuse a bad fault script before
anything starts, naming the file, line, field and reason of every problem; no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli_errors import plant

BAD = """[[fault]]
at_h = 10.0
kind = "break_machine"
machine = "NOPE"
duration_h = 1.0

[[fault]]
at_h = 12.0
kind = "noise"
tag = "GearLine/MP2/MP2/PowerKW"
duration_h = 1.0
"""


@pytest.mark.parametrize("command", ["plc", "up"])
def test_a_bad_fault_script_is_refused_with_file_line_field_and_reason(command: str, tmp_path: Path) -> None:
    script = tmp_path / "faults.toml"
    script.write_text(BAD)
    r = plant(command, "--faults", str(script), "--port", "0", "--data-dir", str(tmp_path / "data"),
              *(["--no-ui"] if command == "up" else []))
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    assert f"{script}: invalid fault script" in r.stderr
    assert "faults.toml, line 4, field fault[0].machine: no machine NOPE" in r.stderr
    assert "faults.toml, line 7, field fault[1].sd: a noise fault needs sd"  # the entry's line in r.stderr
