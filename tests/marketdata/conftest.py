"""Fixtures for market-data tests."""

from __future__ import annotations

import pytest
from django.db import connection
from psycopg import sql

from marketdata import partitions


def _month_partitions() -> set[str]:
    return {name for table in partitions.PARTITIONED for name in partitions.partitions(table)}


@pytest.fixture
def leaves_no_partitions():
    """A test that commits (``transaction=True``) drops the month partitions it made, so a later
    test still finds its months in the default partition."""
    before = _month_partitions()
    yield
    with connection.cursor() as cursor:
        for name in sorted(_month_partitions() - before):
            cursor.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
