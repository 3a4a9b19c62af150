"""Every environment variable the project reads is a row of docs/configuration.md.

A setting read from the environment but listed nowhere can only be found by reading the code,
so whoever deploys never learns it exists. The code is parsed, not imported: a setting read
only on one branch (SECRET_KEY with DEBUG off) counts as much as any other.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "configuration.md"
# Tests and benchmarks set their own variables; they are not settings of the project.
NOT_PROJECT_CODE = {"tests", "bench", "docs", "staticfiles", "node_modules"}
# django-environ's Env methods that are not reads of one variable.
NOT_READS = {"read_env", "smart_cast", "parse_value", "escape_proxy", "prefix"}
SHELL_READS = re.compile(r"\$\{([A-Z][A-Z0-9_]*)")


def project_python_files() -> list[Path]:
    """manage.py and every package; hidden folders (the virtualenvs) are not the project's."""
    files = sorted(ROOT.glob("*.py"))
    for folder in sorted(ROOT.iterdir()):
        if folder.is_dir() and folder.name[0] != "." and folder.name not in NOT_PROJECT_CODE:
            files.extend(sorted(folder.rglob("*.py")))
    return files


def dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    return ""


def first_string(args: list[ast.expr]) -> str | None:
    if args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
        return args[0].value
    return None


def is_environment_read(name: str) -> bool:
    """env("X"), env.int("X") … (django-environ), os.environ.get("X"), os.getenv("X")."""
    if name == "env":
        return True
    if name.startswith("env.") and name.count(".") == 1:
        return name.split(".")[1] not in NOT_READS
    return name in {"os.environ.get", "os.getenv"}


def variables_read(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and is_environment_read(dotted(node.func)):
            name = first_string(node.args)
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and dotted(node.value) == "os.environ"
        ):
            name = first_string([node.slice])
        else:
            continue
        if name:
            names.add(name)
    return names


def documented() -> set[str]:
    """Names in backquotes on a table row of the page: a mention in passing does not count."""
    rows = [line for line in PAGE.read_text().splitlines() if line.lstrip().startswith("|")]
    return set(re.findall(r"`([A-Z][A-Z0-9_]*)`", "\n".join(rows)))


def test_the_parser_finds_the_settings_it_must():
    """A parser that found nothing would let every setting through."""
    read = variables_read((ROOT / "geckoproject" / "settings.py").read_text())
    assert {"DATABASE_URL", "SECRET_KEY", "DEBUG", "GECKO_HOT_MONTHS", "ALERT_EMAILS"} <= read
    code = 'import os\nos.environ.get("A")\nos.environ["B"]\nos.getenv("C")\nenv.list("D")\n'
    assert variables_read(code) == {"A", "B", "C", "D"}


def test_every_setting_read_by_the_code_is_documented():
    where = {}
    for path in project_python_files():
        for name in variables_read(path.read_text()):
            where.setdefault(name, path.relative_to(ROOT).as_posix())
    missing = sorted(set(where) - documented())
    assert not missing, "not in a table of docs/configuration.md: " + ", ".join(
        f"{name} (read in {where[name]})" for name in missing
    )


def test_every_variable_the_process_and_compose_files_need_is_documented():
    files = [ROOT / "Procfile", *sorted(ROOT.glob("docker-compose*.yml"))]
    where = {}
    for path in files:
        for name in SHELL_READS.findall(path.read_text()):
            where.setdefault(name, path.name)
    assert "POSTGRES_PASSWORD" in where
    missing = sorted(set(where) - documented())
    assert not missing, "not in a table of docs/configuration.md: " + ", ".join(
        f"{name} (used in {where[name]})" for name in missing
    )
