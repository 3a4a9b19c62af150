"""Raw SQL passes values as parameters: a scan of every tracked Python file, and of the scan."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.ops.sqlscan import scan_source

ROOT = Path(__file__).resolve().parents[2]


def tracked_python() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [p for p in out.splitlines() if not p.startswith("tests/") and (ROOT / p).exists()]


def test_no_raw_sql_is_built_from_values():
    findings = [f for p in tracked_python() for f in scan_source(p, (ROOT / p).read_text())]
    assert findings == [], "\n".join(map(str, findings))


@pytest.mark.parametrize(
    "code",
    [
        "cursor.execute(f\"SELECT * FROM t WHERE name = '{name}'\")",
        'cursor.execute("SELECT * FROM t WHERE id = %s" % pk)',
        'cursor.execute("SELECT * FROM t WHERE id = {}".format(pk))',
        'cursor.execute("SELECT * FROM t WHERE id = " + pk)',
        'q = f"DELETE FROM t WHERE id = {pk}"\ncursor.execute(q)',
        'Model.objects.raw(f"SELECT * FROM t WHERE id = {pk}")',
        'RawSQL("x = %s" % value, [])',
        "conn.execute(f'CREATE DATABASE \"{name}\"')",
        "cursor.execute(query)",
        'def run(q):\n    cursor.execute(q)\nrun(f"SELECT {pk}")',
    ],
)
def test_the_scan_catches_interpolated_sql(code):
    source = "def f(cursor, conn, Model, pk, name, value, query):\n" + textwrap.indent(code, "    ")
    assert scan_source("example.py", source), code


@pytest.mark.parametrize(
    "code",
    [
        'cursor.execute("SELECT * FROM t WHERE id = %s", [pk])',
        'q = "SELECT 1"\ncursor.execute(q)',
        'cursor.execute(sql.SQL("SELECT {} WHERE id = %s").format(sql.Identifier(n)), [pk])',
        'q = sql.SQL("SELECT {t}")\ncursor.execute(q.format(t=sql.Identifier(name)))',
        'q = f"SELECT * FROM {table} WHERE id = %s"  # noqa: S608\ncursor.execute(q, [pk])',
        "block.active.copy()",
        'def run(q):\n    cursor.execute(q)\nrun("SELECT 1")\nrun(q=f"SELECT {t}")  # noqa: S608',
    ],
)
def test_the_scan_accepts_parameters_and_psycopg_composition(code):
    source = "def f(cursor, pk, name, table, block):\n" + textwrap.indent(code, "    ")
    assert scan_source("example.py", source) == [], code


def test_the_scan_follows_a_name_to_its_module_level_assignment():
    safe = 'QUERY = "SELECT * FROM t WHERE id = %(pk)s"\n\ndef f(cursor, pk):\n'
    safe += '    cursor.execute(QUERY, {"pk": pk})\n'
    unsafe = 'QUERY = f"SELECT * FROM t WHERE id = {PK}"\n\ndef f(cursor):\n'
    unsafe += "    cursor.execute(QUERY)\n"
    assert scan_source("example.py", safe) == []
    assert scan_source("example.py", unsafe)
