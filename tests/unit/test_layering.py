"""The packages stay in their lanes: imports point one way (docs/ARCHITECTURE.md).

``cli -> {studies, reports}``; ``studies -> {data, strategies, engine}``; ``reports -> {engine, studies}``
(results only); ``engine``, ``strategies``, ``data`` -> nothing of ours; every lane may import
``theses.util``, which imports nothing of ours. Only ``theses.*`` imports are allowed: a bare ``import
engine`` would load a second copy of the package from the source tree.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LANES = {"cli", "data", "engine", "reports", "strategies", "studies"}
ALLOWED = {
    "data": set(),
    "engine": set(),
    "strategies": set(),
    "studies": {"data", "engine", "strategies"},
    "reports": {"engine", "studies"},
    "cli": {"studies", "reports"},
}
#: Modules of the tiny top-level package: the API facade may reach every lane, util none.
TOP_ALLOWED = {"__init__": {"studies", "strategies", "data"}, "_api": {"studies", "reports"}, "util": set()}


def imported_lanes(path: Path) -> tuple[set[str], set[str]]:
    """(lanes of ours a module imports as ``theses.<lane>``, bare top-level imports of a lane name)."""
    lanes: set[str] = set()
    bare: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + ([f"{node.module}.{a.name}" for a in node.names] if node.module == "theses" else [])
        for name in names:
            parts = name.split(".")
            if parts[0] == "theses" and len(parts) > 1 and parts[1] in LANES:
                lanes.add(parts[1])
            elif parts[0] in LANES:
                bare.add(parts[0])
    return lanes, bare


@pytest.mark.parametrize("lane", sorted(ALLOWED))
def test_lane_imports_only_what_it_may(lane):
    offenders = {}
    for path in (ROOT / lane).rglob("*.py"):
        lanes, bare = imported_lanes(path)
        bad = sorted((lanes - ALLOWED[lane] - {lane}) | {f"bare {b}" for b in bare})
        if bad:
            offenders[str(path.relative_to(ROOT))] = bad
    assert offenders == {}


@pytest.mark.parametrize("module", sorted(TOP_ALLOWED))
def test_top_package_modules(module):
    lanes, bare = imported_lanes(ROOT / "theses" / f"{module}.py")
    assert lanes <= TOP_ALLOWED[module] and not bare


def test_util_imports_nothing_of_ours():
    tree = ast.parse((ROOT / "theses" / "util.py").read_text(encoding="utf-8"))
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(m.split(".")[0] in LANES | {"theses"} for m in modules)


def test_the_check_sees_forbidden_imports(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text("import numpy\nfrom theses.engine.backtest import backtest\n\ndef f():\n    import strategies\n"
                      "    from theses import studies\n")
    assert imported_lanes(module) == ({"engine", "studies"}, {"strategies"})
