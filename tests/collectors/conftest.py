"""Fixtures for collector tests: a client per test with its own Redis keys."""

from __future__ import annotations

import uuid

import pytest

from tests.marketdata.factories import pool as make_pool

from .clients import make_client

DAY = 86_400


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
    world = simulator.world()
    chosen = max(
        (p for p in world["pools"]["pumpswap"] if p["pool_created_at"] < world["now"] - 30 * DAY),
        key=lambda p: p["trades_per_day"],
    )
    return make_pool(address=chosen["address"])
