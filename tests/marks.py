"""Which tests are slow, which share the private servers, and in what order they run.

``make test-fast`` (``-m "not slow and not chaos"``) must leave out every test that starts a
Celery worker or beat, or a private PostgreSQL or Redis server, and ``make test`` (pytest-xdist,
``--dist loadgroup``) must never run two tests with private servers at once. At collection,
each test's code is read (the test function, its fixtures and the helpers of this package they
call, as far as they go) and:

- a test that starts a worker or beat through tests/celery_worker.py's ``celery_worker`` /
  ``celery_beat`` / ``celery_process``, or private servers through tests/private_servers.py
  (its classes or the ``private_postgres`` / ``private_redis`` / ``private_stack`` fixtures),
  is marked ``slow``;
- a test with private servers also joins the xdist group ``private-servers``: one runner runs
  them one after another;
- a test that starts one itself (a ``redis-server``, ``pg_ctl``, ``pg_ctlcluster`` or
  ``initdb`` command, or ``celery … worker|beat``) must be marked ``slow`` by hand: collection
  fails, naming it, until it is;
- slow tests are sorted first, and the longest (by their own timeout mark) first within
  slow and fast, so the long ones start early and do not finish alone at the end.

While a test runs, :func:`must_be_slow` (called by the helpers) fails a test that got one of
them past the reading (say through ``request.getfixturevalue``) without the mark.
"""

from __future__ import annotations

import inspect
import sys
import types
from collections.abc import Callable, Iterator

import pytest

GROUP = "private-servers"
PACKAGE = "tests"

# What a helper or fixture of this package starts: a worker or beat, or private servers.
WORKER, BEAT, SERVERS = "a Celery worker", "Celery beat", "private servers"
HELPERS = {
    "tests.celery_worker.celery_worker": WORKER,
    "tests.celery_worker.celery_beat": BEAT,
    "tests.celery_worker.celery_process": WORKER,
    "tests.private_servers.PrivateServer": SERVERS,
    "tests.private_servers.PrivatePostgres": SERVERS,
    "tests.private_servers.PrivateRedis": SERVERS,
}
SERVER_FIXTURES = {"private_postgres", "private_redis", "private_stack"}
# Commands that start a server or a Celery process when code runs them itself.
SERVER_COMMANDS = ("redis-server", "pg_ctl", "pg_ctlcluster", "initdb")


class Found:
    """What one test starts: ``auto`` through the helpers, ``raw`` by itself (kind: how)."""

    def __init__(self) -> None:
        self.auto: set[str] = set()
        self.raw: dict[str, str] = {}

    @property
    def servers(self) -> bool:
        return SERVERS in self.auto or SERVERS in self.raw


def _qualname(obj: object) -> str:
    return f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}"


def _in_package(module: str) -> bool:
    return module == PACKAGE or module.startswith(PACKAGE + ".")


def _ours(obj: object) -> bool:
    """Code of the tests package to read (not this module: it names the commands it seeks)."""
    module = getattr(obj, "__module__", None) or ""
    return _in_package(module) and module != __name__


def _code_objects(code: types.CodeType) -> Iterator[types.CodeType]:
    """``code`` and the functions, lambdas and comprehensions defined inside it."""
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _raw_starts(code: types.CodeType) -> tuple[str, str] | None:
    """(kind, command) when a function's own string constants spell such a command."""
    strings: set[str] = set()
    todo = list(code.co_consts)
    while todo:  # a list of constants is one tuple constant: ["celery", "-A", "x", "beat"]
        const = todo.pop()
        if isinstance(const, str):
            strings.add(const)
        elif isinstance(const, tuple | frozenset):
            todo.extend(const)
    for command in SERVER_COMMANDS:
        if any(s == command or s.endswith("/" + command) for s in strings):
            return SERVERS, command
    for role, kind in (("worker", WORKER), ("beat", BEAT)):
        if {"celery", role} <= strings:
            return kind, f"celery {role}"
    return None


def _referenced(function: types.FunctionType, code: types.CodeType) -> Iterator[object]:
    """The objects a code object names: globals, and attributes of this package's modules
    (``private_servers.PrivateRedis``, ``from .celery_worker import celery_beat`` inside)."""
    spaces: list[dict] = [function.__globals__]
    package = (function.__module__ or "").rpartition(".")[0]
    modules = [
        sys.modules.get(name) or sys.modules.get(f"{package}.{name}") for name in code.co_names
    ]
    modules += [v for v in function.__globals__.values() if isinstance(v, types.ModuleType)]
    spaces += [vars(m) for m in modules if m is not None and _in_package(m.__name__)]
    for name in code.co_names:
        for space in spaces:
            if name in space:
                yield space[name]
                break


def _functions_of(obj: object) -> list[types.FunctionType]:
    """The Python functions behind ``obj``: itself (unwrapped) or a class's methods."""
    if not _ours(obj):
        return []
    if isinstance(obj, type):
        found = []
        for attr in vars(obj).values():
            attr = getattr(attr, "__func__", attr)  # staticmethod, classmethod
            if isinstance(attr, property):
                found += [f for f in (attr.fget, attr.fset) if f is not None]
            elif callable(attr):
                found += _functions_of(attr)
        return found
    if hasattr(obj, "_get_wrapped_function"):
        obj = obj._get_wrapped_function()  # a fixture named as a global
    try:
        function = inspect.unwrap(obj)  # contextmanager, functools.wraps
    except ValueError:
        return []
    return [function] if isinstance(function, types.FunctionType) else []


def scan(roots: list[Callable], found: Found | None = None) -> Found:
    """Follow ``roots`` through this package's functions and classes; note what they start."""
    found = found or Found()
    seen: set[int] = set()
    todo: list[object] = list(roots)
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if (what := HELPERS.get(_qualname(obj))) is not None:
            found.auto.add(what)
            continue
        if isinstance(obj, type) and any(HELPERS.get(_qualname(b)) for b in obj.__mro__[1:]):
            found.auto.add(SERVERS)
            continue
        for function in _functions_of(obj):
            if not _ours(function):
                continue
            for code in _code_objects(function.__code__):
                if (raw := _raw_starts(code)) is not None:
                    where = f"{function.__module__}.{function.__qualname__}"
                    found.raw.setdefault(raw[0], f"{raw[1]} in {where}")
                todo.extend(o for o in _referenced(function, code) if id(o) not in seen)
    return found


def what_it_starts(item: pytest.Item) -> Found:
    found = Found()
    if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
        found.auto.add(SERVERS)
    roots: list[Callable] = []
    if isinstance(item, pytest.Function):
        roots.append(item.obj)
        info = item._fixtureinfo  # the fixtures the test uses, transitively
        for name in info.names_closure:
            for fixturedef in info.name2fixturedefs.get(name, ()):
                roots.append(fixturedef.func)
    return scan(roots, found)


def _slow(item: pytest.Item) -> bool:
    return item.get_closest_marker("slow") is not None


# nodeid: (slow, in the servers' group), for every test collected, before -m deselects any.
decided: dict[str, tuple[bool, bool]] = {}


@pytest.hookimpl(tryfirst=True)  # before -m deselects and before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    refused = []
    for item in items:
        found = what_it_starts(item)
        if found.raw and not _slow(item):
            # A collection error, as for a module that fails to import: pytest stops before
            # running anything; under xdist the others run, the test does not, the run fails.
            refused.append(item)
            starts = ", ".join(f"{kind} ({how})" for kind, how in sorted(found.raw.items()))
            config.hook.pytest_collectreport(
                report=pytest.CollectReport(
                    item.nodeid,
                    "failed",
                    f"{item.nodeid} starts {starts} but is not marked slow. Mark it "
                    "@pytest.mark.slow (or start it through tests/celery_worker.py or "
                    "tests/private_servers.py, whose tests are marked slow by tests/marks.py): "
                    "make test-fast must leave it out.",
                    [],
                )
            )
        if found.auto or found.raw:
            if not _slow(item):
                item.add_marker(pytest.mark.slow)
            if found.servers:
                item.add_marker(pytest.mark.xdist_group(GROUP))
        decided[item.nodeid] = (_slow(item), found.servers)
    items[:] = [item for item in items if item not in refused]


class SlowFirst:
    """The order, set after every other plugin's (pytest-django sorts by database use)."""

    @pytest.hookimpl(wrapper=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]):
        yield
        items.sort(key=_order)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(SlowFirst(), "gecko-slow-first")


def _order(item: pytest.Item) -> tuple[int, float]:
    """Slow tests first, then the others; within each, the longer a test's own timeout mark
    (the planner's 10 min, the chaos run's 7, a short replay's 20) the earlier, so the long ones
    do not start last and finish alone; in pytest-django's order otherwise (a stable sort).
    pytest-xdist's loadgroup hands out the servers' group before all of them."""
    timeout = item.get_closest_marker("timeout")
    given = (timeout.args[:1] or [timeout.kwargs.get("timeout")]) if timeout is not None else [None]
    seconds = float(given[0] or 0)
    return (0 if _slow(item) else 1, -seconds)


_running: pytest.Item | None = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    global _running
    _running = item
    try:
        return (yield)
    finally:
        _running = None


def must_be_slow(what: str) -> None:
    """Fail the running test if it starts ``what`` without the slow mark (tests/marks.py)."""
    if _running is not None and not _slow(_running):
        pytest.fail(
            f"{_running.nodeid} starts {what} but is not marked slow: mark it "
            "@pytest.mark.slow (make test-fast must leave it out)",
            pytrace=False,
        )
