"""The packages stay in their lanes: imports point one way (docs/ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"cli", "data", "engine", "reports", "strategies"}
ALLOWED = {
    "data": set(),
    "engine": set(),
    "strategies": set(),
    "reports": {"engine"},
    "cli": {"data", "engine", "reports", "strategies"},
}


def imported_packages(path: Path) -> set[str]:
    """Top-level packages of ours that a module imports (at any level of the file)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_it_may(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) - ALLOWED[package] - {package})
        for path in (ROOT / package).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_check_sees_a_forbidden_import(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text("import numpy\nfrom engine.backtest import backtest\n\ndef f():\n    import strategies\n")
    assert imported_packages(module) == {"engine", "strategies"}
