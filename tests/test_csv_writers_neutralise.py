"""Every module that writes CSV makes its text cells formula-safe with geckoproject.csv_cells.

A static check, so a CSV writer added later (an admin action, an API renderer) cannot forget
it: it must call ``neutralise`` or be listed below with the reason it needs no escaping.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_DIRS = {".venv", ".venv-qlib", "tests", "bench", "node_modules", ".git"}
WRITERS = ("csv.writer", "csv.DictWriter", ".to_csv(", "CSVWriter", "text/csv")
EXEMPT = {
    # QLib's own input (dump_bin / dump_update read the symbol column), so it cannot be quoted;
    # its only text cell is the symbol, which symbols.symbol_for keeps free of formula starts.
    "qlib_export/tabular.py": "symbol column is QLib's instrument name",
}


def project_modules() -> list[Path]:
    return [
        path for path in ROOT.rglob("*.py") if not SKIPPED_DIRS & set(path.relative_to(ROOT).parts)
    ]


def calls_neutralise(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "neutralise":
                return True
    return False


def test_every_csv_writer_neutralises_its_text_cells():
    writers = [p for p in project_modules() if any(w in p.read_text() for w in WRITERS)]
    missing = [
        str(p.relative_to(ROOT))
        for p in writers
        if str(p.relative_to(ROOT)) not in EXEMPT and not calls_neutralise(p)
    ]
    assert writers, "the check found no CSV writer at all: its patterns are stale"
    assert not missing, f"CSV written without geckoproject.csv_cells.neutralise: {missing}"
