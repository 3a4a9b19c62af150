"""The simulator stands apart: it imports none of the project's apps, and only ``server`` and the
package itself import ``app`` (the composition root), so handlers cannot reach around it."""

from __future__ import annotations

import ast
from pathlib import Path

import simulator

ROOT = Path(simulator.__file__).parent
PROJECT_APPS = {"collectors", "marketdata", "watchlist", "qlib_export", "geckoproject"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
    return names


def test_the_simulator_imports_no_other_app():
    for path in ROOT.rglob("*.py"):
        tops = {name.split(".")[0] for name in _imports(path)}
        assert not tops & PROJECT_APPS, path


def test_only_the_server_and_the_package_import_the_composition_root():
    importers = {
        path.name for path in ROOT.glob("*.py") if {".app", "simulator.app"} & _imports(path)
    }
    assert importers == {"server.py", "__init__.py"}
