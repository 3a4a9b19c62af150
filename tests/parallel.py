"""Each test runner's share of the shared services when pytest-xdist runs the suite in parallel.

``make test`` runs ``pytest -n $(TEST_RUNNERS)``; runner ``gwN`` (pytest-xdist's
``PYTEST_XDIST_WORKER``) gets:

- its own PostgreSQL database: pytest-django appends ``_gwN`` to the test database's name
  (``TEST_DATABASE_NAME``, default ``test_geckoproject``);
- its own Redis database: ``REDIS_URL``'s number minus N (15, 14, 13 … by default), since the
  tests flush theirs. A runner whose number would fall below 0 is refused with the reason;
- its own ports: every server a test starts (simulator, private PostgreSQL and Redis, Flower)
  binds a free port, and the private servers run one test at a time (tests/marks.py).

tests/settings.py calls :func:`use_runners_redis` before the project's settings read REDIS_URL.
A process a test starts inherits the runner's REDIS_URL (or is handed another, a private Redis)
and must keep it: ``RUNNER_REDIS_SET`` tells its tests.settings that the count-down is done.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from urllib.parse import urlsplit, urlunsplit

RUNNER = "PYTEST_XDIST_WORKER"
RUNNER_REDIS_SET = "GECKO_TEST_RUNNER_REDIS"


class RunnerError(RuntimeError):
    """The runners cannot each have a Redis database of their own."""


def runner_number(worker: str | None) -> int:
    """``gw0`` → 0, ``gw2`` → 2; no runner (a plain ``pytest``) → 0."""
    if not worker:
        return 0
    match = re.fullmatch(r"gw(\d+)", worker)
    if match is None:
        raise RunnerError(f"unexpected pytest-xdist runner name {RUNNER}={worker!r}")
    return int(match[1])


def redis_database(url: str) -> int:
    path = urlsplit(url).path.strip("/")
    if not path:
        return 0
    if not path.isdigit():
        raise RunnerError(f"REDIS_URL={url!r} does not end in a database number (e.g. /15)")
    return int(path)


def redis_url(url: str, runner: int) -> str:
    """``url`` with its database number lowered by ``runner``; refused below 0."""
    db = redis_database(url)
    if db - runner < 0:
        raise RunnerError(
            f"test runner gw{runner} would use Redis database {db - runner}: each runner takes "
            f"REDIS_URL's database ({url}) minus its number, so at most {db + 1} runners fit. "
            f"Run fewer (TEST_RUNNERS={db + 1}) or give REDIS_URL a higher database "
            "(Redis has 0 to 15)."
        )
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db - runner}"))


def check_runners(url: str, runners: int) -> None:
    """Refuse, before any runner starts, a count whose last runner would go below database 0."""
    if runners > 1:
        redis_url(url, runners - 1)


def use_runners_redis(environ: MutableMapping[str, str]) -> str:
    """Point ``environ["REDIS_URL"]`` at this runner's database, once; returns the URL."""
    if environ.get(RUNNER_REDIS_SET) or not environ.get(RUNNER):
        return environ["REDIS_URL"]
    url = redis_url(environ["REDIS_URL"], runner_number(environ[RUNNER]))
    environ["REDIS_URL"] = url
    environ[RUNNER_REDIS_SET] = environ[RUNNER]
    return url
