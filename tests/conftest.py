"""Shared fixtures: a clean Redis test database for every test that asks for one."""

from __future__ import annotations

import pytest
import redis
from django.conf import settings

pytest_plugins = ["tests.simulator_fixture", "tests.private_servers"]


@pytest.fixture
def redis_client():
    """The test Redis database, flushed before and after the test."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()
