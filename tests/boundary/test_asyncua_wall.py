"""asyncua behind one wall (issue 17, item 8): outside `opcua_server/_asyncua/` no project
module subclasses an asyncua class, reads or writes an asyncua private member (`._x`),
imports a private asyncua name or replaces an asyncua method; inside it, every copied or
overridden asyncua method is the one it was written against (`_asyncua.drift`)."""

from __future__ import annotations

import ast
import inspect
from functools import cache
from pathlib import Path

import asyncua
import pytest

from opcua_server._asyncua import drift

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("plc_sim", "opcua_server", "twin_core", "optimizer_svc", "plantctl")
WALL = ROOT / "opcua_server" / "_asyncua"


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


@cache
def asyncua_names() -> tuple[frozenset[str], frozenset[str]]:
    """(private member names, names of methods that are not also data attributes) defined
    anywhere in the installed asyncua."""
    private: set[str] = set()
    methods: set[str] = set()
    data: set[str] = set()
    for path in Path(asyncua.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                methods |= {b.name for b in node.body if isinstance(b, ast.FunctionDef | ast.AsyncFunctionDef)}
                fields = {t.id for b in node.body if isinstance(b, ast.Assign | ast.AnnAssign)
                          for t in (b.targets if isinstance(b, ast.Assign) else [b.target]) if isinstance(t, ast.Name)}
                data |= fields
                private |= {f for f in fields if _private(f)}
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _private(node.name):
                private.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                data.add(node.attr)
                if _private(node.attr):
                    private.add(node.attr)
    return frozenset(private), frozenset(methods - data)


def _asyncua_imports(tree: ast.Module) -> set[str]:
    """Local names bound to asyncua modules, classes or functions."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "asyncua":
            names |= {a.asname or a.name for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name.split(".")[0] == "asyncua"}
    return names


def _root_name(expr: ast.expr) -> str | None:
    while isinstance(expr, ast.Attribute):
        expr = expr.value
    return expr.id if isinstance(expr, ast.Name) else None


def breaches(path: Path) -> list[str]:
    """Every place in one source file that reaches into asyncua's internals."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    private, methods = asyncua_names()
    from_asyncua = _asyncua_imports(tree)
    found: list[str] = []
    if not from_asyncua and not any(isinstance(n, ast.ImportFrom) and "_asyncua" in (n.module or "")
                                    for n in ast.walk(tree)):
        return found  # no asyncua object comes near this module (other libraries have `._x` too)

    def at(node: ast.AST, what: str) -> None:
        where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
        found.append(f"{where}:{getattr(node, 'lineno', 0)}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "asyncua":
            for a in node.names:
                if _private(a.name) or any(_private(p) for p in (node.module or "").split(".")):
                    at(node, f"imports asyncua's private {node.module}.{a.name}")
        elif isinstance(node, ast.ClassDef):
            for base in node.bases:
                if _root_name(base) in from_asyncua:
                    at(node, f"class {node.name} subclasses asyncua's {ast.unparse(base)}")
        elif isinstance(node, ast.Attribute) and node.attr in private and _root_name(node.value) not in ("self", "cls"):
            at(node, f"{ast.unparse(node)}: asyncua's private member {node.attr}")
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if not isinstance(t, ast.Attribute) or _root_name(t.value) in ("self", "cls"):
                    continue
                if _root_name(t.value) in from_asyncua or t.attr in methods:
                    at(node, f"{ast.unparse(t)} = ...: replaces an asyncua attribute or method")
    return found


def project_sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if WALL not in p.parents)


def test_the_scan_finds_what_it_looks_for(tmp_path):
    """The scanner itself: each kind of breach in a sample file outside the wall is reported."""
    sample = tmp_path / "sample.py"
    text = ("from asyncua import ua\nfrom asyncua.server.uaprocessor import UaProcessor\n"
            "from asyncua.server.history import HistoryManager\n"
            "class P(UaProcessor):\n    pass\n"
            "def f(manager, proc, read):\n    manager._sub = None\n    return proc._connection\n"
            "def g(manager, read):\n    manager.read_history = read\n    HistoryManager.stop = read\n")
    sample.write_text(text)
    found = breaches(sample)
    assert sorted(f.split(": ", 1)[1] for f in found) == sorted([
        "class P subclasses asyncua's UaProcessor",
        "manager._sub: asyncua's private member _sub",
        "proc._connection: asyncua's private member _connection",
        "manager.read_history = ...: replaces an asyncua attribute or method",
        "HistoryManager.stop = ...: replaces an asyncua attribute or method",
    ])


def test_no_module_outside_the_wall_reaches_into_asyncua():
    found = [b for path in project_sources() for b in breaches(path)]
    assert found == [], "asyncua's internals outside opcua_server/_asyncua/ (move them behind the wall):\n" \
        + "\n".join(found)


@pytest.mark.parametrize("name", sorted(drift.WRITTEN_AGAINST))
def test_asyncua_method_is_the_one_the_wall_was_written_against(name):
    """A changed asyncua method may break the override (or the copy) that stands on it:
    read the new source, adapt the wall, then record the new hash in `_asyncua.drift`."""
    try:
        method = drift.resolve(name)
    except AttributeError:
        pytest.fail(f"asyncua drift: asyncua no longer has {name}, which the wall overrides or relies on")
    got = drift.source_hash(method)
    assert got == drift.WRITTEN_AGAINST[name], (
        f"asyncua drift: {name} is not the asyncua {drift.ASYNCUA_VERSION} source the wall was written against "
        f"(recorded {drift.WRITTEN_AGAINST[name][:12]}, installed {got[:12]}): review opcua_server/_asyncua "
        "against the new source, then update drift.WRITTEN_AGAINST")


def test_the_hash_sees_code_not_layout():
    """The drift test fails on a changed statement, not on a changed comment or indentation."""
    same = drift.tree_hash("def f(x):\n    return x + 1\n")
    assert drift.tree_hash("    def f(x):  # a comment\n\n        return (x\n                + 1)\n") == same
    assert drift.tree_hash("def f(x):\n    return x + 2\n") != same


def test_every_override_is_recorded():
    """Each method a wall class overrides, fastpath replaces or the wall relies on has a
    recorded hash, and nothing else has."""
    assert set(drift.recorded()) == set(drift.WRITTEN_AGAINST)


@pytest.mark.parametrize("name", sorted(n for n in drift.overrides() if not n.endswith(".__init__")))
def test_override_still_fits_its_base(name):
    """The base method still exists and every argument asyncua passes it, ours accepts
    (constructors aside: the project builds these objects itself, with its own arguments)."""
    ours, base = drift.overrides()[name]
    assert base is not None, f"asyncua no longer has {name}: the override is dead"
    problems = drift.signature_problems(base, ours)
    assert problems == [], f"{name}: {problems}"


@pytest.mark.parametrize("owner, member", sorted(drift.PRIVATE_MEMBERS))
def test_private_member_still_exists(owner, member):
    """The private members the wall reads are still set or defined by their asyncua class."""
    cls = drift.resolve(owner)
    source = "".join(inspect.getsource(c) for c in cls.__mro__ if c.__module__.startswith("asyncua"))
    assert f"self.{member}" in source or f"def {member}(" in source or f"{member}:" in source, \
        f"asyncua's {owner} no longer has {member}"
