"""Lower layers never import higher ones, so a change to the top cannot break the bottom.

Every ``import`` counts, a lazy one inside a function too. A failure names the module, the
line and the layer it reached into; docs/architecture.md draws the layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# collectors/, lowest first: a module may import its own layer and those before it.
COLLECTOR_LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("data", ("collectors.models", "collectors.schedules")),
    ("API door", ("collectors.gecko",)),
    ("fleet coordination", ("collectors.fleet",)),
    ("planner", ("collectors.planner",)),
    ("collection services", ("collectors.services",)),
    ("run records", ("collectors.runs",)),
    ("task wrappers", ("collectors.tasks", "collectors.inprocess")),
    (
        "interfaces",
        (
            "collectors.admin",
            "collectors.api",
            "collectors.overview",
            "collectors.management",
            "collectors.templatetags",
            "collectors.apps",
        ),
    ),
]

# Apps that must not import the named ones: the store knows nothing of who fills or reads it,
# and the simulator stands for the outside API.
APP_FORBIDS = {
    "marketdata": ("collectors", "watchlist", "qlib_export", "alerts", "simulator"),
    "watchlist": ("collectors", "qlib_export", "alerts", "simulator"),
    "qlib_export": ("collectors", "alerts", "simulator"),
    "collectors": ("qlib_export", "alerts", "simulator"),
    "simulator": ("collectors", "watchlist", "marketdata", "qlib_export", "alerts", "geckoproject"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in ``path``, relative ones resolved; ``from x import
    y`` also yields ``x.y``, which is a module when y is a submodule."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    return found


def sources(app: str) -> list[Path]:
    return [p for p in sorted((ROOT / app).rglob("*.py")) if "migrations" not in p.parts]


def layer_of(module: str) -> int | None:
    for index, (_, prefixes) in enumerate(COLLECTOR_LAYERS):
        if any(module == p or module.startswith(f"{p}.") for p in prefixes):
            return index
    return None


def collector_violations() -> list[str]:
    found = []
    for path in sources("collectors"):
        own = layer_of(module_name(path))
        if own is None:
            continue
        seen = set()
        for line, target in imports(path):
            reached = layer_of(target)
            if reached is not None and reached > own and line not in seen:
                seen.add(line)
                found.append(
                    f"{path.relative_to(ROOT)}:{line} ({COLLECTOR_LAYERS[own][0]}) imports "
                    f"{target} ({COLLECTOR_LAYERS[reached][0]})"
                )
    return found


def app_violations() -> list[str]:
    found = []
    for app, forbidden in APP_FORBIDS.items():
        for path in sources(app):
            seen = set()
            for line, target in imports(path):
                if target.split(".")[0] in forbidden and line not in seen:
                    seen.add(line)
                    found.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    return found


def test_every_collectors_module_has_a_layer():
    unplaced = [
        module_name(p)
        for p in sources("collectors")
        if module_name(p) != "collectors" and layer_of(module_name(p)) is None
    ]
    assert unplaced == [], f"place these in COLLECTOR_LAYERS: {unplaced}"


def test_collectors_layers_import_only_downwards():
    assert collector_violations() == []


def test_apps_import_only_what_they_build_on():
    assert app_violations() == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from collectors.tasks import fetch_ohlcv\n", "(API door) imports collectors.tasks"),
        ("from ..planner import service\n", "(API door) imports collectors.planner"),
    ],
)
def test_a_door_module_reaching_up_is_named(tmp_path, monkeypatch, source, expected):
    """The check itself: a module of the door importing the tasks or the planner is caught."""
    fake_root = tmp_path
    door = fake_root / "collectors" / "gecko"
    door.mkdir(parents=True)
    (fake_root / "collectors" / "__init__.py").write_text("")
    (door / "__init__.py").write_text("")
    (door / "client.py").write_text(source)
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", fake_root)
    found = collector_violations()
    assert len(found) == 1 and expected in found[0], found
    assert found[0].startswith("collectors/gecko/client.py:1 ")
