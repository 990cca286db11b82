"""The model's public surface is what its readers use: nothing outside the model core reads a
private member of a model object, and KPIs, observation and the tag map read only what
`plc_sim/model/view.py` offers (plus the commands the tag map and observation call)."""

import ast
from pathlib import Path

from plc_sim.model.line import LineModel
from plc_sim.model.machine import Machine
from plc_sim.model.view import LINE_VIEW_NAMES, MACHINE_VIEW_NAMES

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "plc_sim" / "model"
READERS = [MODEL / "kpi.py", MODEL / "observe.py", ROOT / "plc_sim" / "plc" / "tagmap.py"]
"""Modules that read a running model (they live beside it but are not its core)."""
OUTSIDE = ["plc_sim", "twin_core", "optimizer_svc", "plantctl", "opcua_server"]
LINE_NAMES = ("m", "model", "line", "fresh")
MACHINE_NAMES = ("mach", "machine")
COMMANDS = {
    "set_shift", "set_kanbans", "set_conwip", "set_speed", "set_standby_timeout", "set_off_shift_mode",
    "set_maintenance", "checked_maintenance", "set_dispatch_weight", "dispatch_weight_problem",
    "require_up", "settle", "failure_wear", "machine", "join", "request", "tokens", "interleaved",
    "free_cards_by_product", "bk", "pools", "n_products", "policy", "model_name", "wear_mode",
    "failure_spec", "carded", "snapshot", "proc_dists", "cycle_factor", "flow",
}
"""Public members the readers call or read beyond the view: the tag map's setpoints and
observation's rebuilding of a model from what the plant shows (it issues requests through
the line's card flow)."""


def _model_private_names() -> set[str]:
    """Private members of every class of the model core (`self._x`, `def _x`)."""
    names: set[str] = set()
    for path in MODEL.glob("*.py"):
        for cls in (n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.ClassDef)):
            for node in ast.walk(cls):
                if isinstance(node, ast.Attribute) and _is_self(node.value) and _private(node.attr):
                    names.add(node.attr)
                elif isinstance(node, ast.FunctionDef) and _private(node.name):
                    names.add(node.name)
    return names


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _is_self(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id in ("self", "cls")


def _outside_modules() -> list[Path]:
    paths = [p for d in OUTSIDE for p in (ROOT / d).rglob("*.py") if MODEL not in p.parents]
    return paths + READERS


def _attributes(path: Path) -> list[ast.Attribute]:
    return [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Attribute)]


def test_no_module_outside_the_model_reads_its_private_members():
    private = _model_private_names()
    assert {"_changed", "_wake", "_stage1_free"} <= private, "the scan finds the model's private members"
    hits = [f"{p.relative_to(ROOT)}:{a.lineno} {ast.unparse(a)}" for p in _outside_modules()
            for a in _attributes(p) if a.attr in private and not _is_self(a.value)]
    assert not hits, "private model access from outside:\n" + "\n".join(hits)


def test_readers_touch_no_private_attribute_at_all():
    hits = [f"{p.relative_to(ROOT)}:{a.lineno} {ast.unparse(a)}" for p in READERS
            for a in _attributes(p) if _private(a.attr) and not _is_self(a.value)]
    assert not hits, "\n".join(hits)


def test_readers_read_only_the_view():
    allowed_line, allowed_machine = LINE_VIEW_NAMES | COMMANDS, MACHINE_VIEW_NAMES | COMMANDS
    hits = []
    for path in READERS:
        for a in _attributes(path):
            if not isinstance(a.value, ast.Name):
                continue
            if a.value.id in LINE_NAMES and a.attr not in allowed_line:
                hits.append(f"{path.relative_to(ROOT)}:{a.lineno} {ast.unparse(a)}")
            if a.value.id in MACHINE_NAMES and a.attr not in allowed_machine:
                hits.append(f"{path.relative_to(ROOT)}:{a.lineno} {ast.unparse(a)}")
    assert not hits, "reads past the view (add them to plc_sim/model/view.py in the open):\n" + "\n".join(hits)


def test_the_view_names_exist_on_the_model(gear_line):
    m = LineModel(gear_line, 1)
    assert all(hasattr(m, n) for n in LINE_VIEW_NAMES)
    mach = m.machines[0][0]
    assert isinstance(mach, Machine)
    assert all(hasattr(mach, n) for n in MACHINE_VIEW_NAMES)


def test_the_scan_catches_a_private_read(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(mach):\n    return mach._wake\n")
    assert [a.attr for a in _attributes(bad) if a.attr in _model_private_names()] == ["_wake"]
