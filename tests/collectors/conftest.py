"""Fixtures for collector tests: a client per test with its own Redis keys."""

from __future__ import annotations

import uuid

import pytest

from .busy_pools import busiest_pool
from .clients import make_client


@pytest.fixture
def key_prefix() -> str:
    return f"test:{uuid.uuid4().hex[:8]}"


@pytest.fixture
def gecko(simulator, key_prefix):
    client = make_client(simulator.base_url, prefix=key_prefix)
    yield client
    client.close()


@pytest.fixture
def busy_pool(simulator, redis_client):
    """The busiest pumpswap pool with a month of history, stored (not on the watchlist)."""
    return busiest_pool(simulator, 30)
