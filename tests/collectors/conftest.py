"""Fixtures for collector tests: a client per test with its own Redis keys."""

from __future__ import annotations

import uuid

import pytest

from .clients import make_client


@pytest.fixture
def key_prefix() -> str:
    return f"test:{uuid.uuid4().hex[:8]}"


@pytest.fixture
def gecko(simulator, key_prefix):
    client = make_client(simulator.base_url, prefix=key_prefix)
    yield client
    client.close()
