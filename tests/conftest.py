"""Shared fixtures: a clean Redis test database for every test that asks for one.

tests.marks marks slow tests and the private servers' group and fails collection on a test
that starts a worker, beat or server unmarked; tests.parallel gives each pytest-xdist runner
its own Redis database (and refuses a runner count that would go below database 0).
"""

from __future__ import annotations

import os

import pytest
import redis
from django.conf import settings

from tests import parallel

pytest_plugins = ["tests.marks", "tests.simulator_fixture", "tests.private_servers"]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_setupnodes(config, specs):
    """Before any runner starts: ``-n N`` must leave each runner a Redis database."""
    try:
        parallel.check_runners(os.environ["REDIS_URL"], len(specs))
    except parallel.RunnerError as refused:
        raise pytest.UsageError(str(refused)) from None


@pytest.fixture
def redis_client():
    """The test Redis database, flushed before and after the test."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()
