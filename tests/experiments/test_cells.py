"""The experiments' cache of finished cells and their report header."""

from pathlib import Path

from experiments.cells import CellCache
from experiments.header import report_header


def test_a_finished_cell_is_not_computed_again(tmp_path: Path):
    calls: list[int] = []
    cache = CellCache(tmp_path)

    def compute() -> dict[str, float]:
        calls.append(1)
        return {"zmax": 1.5}

    params = {"model": "BSOP", "seed": 3, "method": "GA"}
    assert cache.run(params, compute) == {"zmax": 1.5}
    again = CellCache(tmp_path)  # a resumed run: a new process, the same folder
    assert again.run(dict(reversed(params.items())), compute) == {"zmax": 1.5}
    assert calls == [1] and again.hits == 1
    assert not list(tmp_path.glob("*.tmp"))


def test_the_header_names_the_command_versions_and_seeds():
    text = report_header("Seed 004", [1, 2, 3], ["/x/bin/plant", "experiment", "seed004", "--quick"])
    assert text.startswith("# Seed 004")
    assert "`plant experiment seed004 --quick`" in text
    assert "pymoo" in text and "seeds: 1, 2, 3" in text
