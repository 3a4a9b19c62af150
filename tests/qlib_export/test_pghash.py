"""The numpy digest of archived bars is PostgreSQL's own hash, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection

from qlib_export import pghash

pytestmark = pytest.mark.django_db


def test_bar_hashes_are_postgresqls():
    rng = np.random.default_rng(17)
    n = 2000
    ts = np.concatenate([[0, 946_684_800, -86_400, 4_102_444_800], rng.integers(-2e9, 5e9, n - 4)])
    specials = [0.0, -0.0, np.nan, np.inf, -np.inf, 5e-324, 1.7976931348623157e308, 1.0, -1.0]
    columns = []
    for _ in range(5):
        values = rng.standard_normal(n) * 10.0 ** rng.integers(-12, 12, n)
        values[: len(specials)] = rng.permutation(specials)
        columns.append(values)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT hash_record_extended((to_timestamp(t), o, h, l, c, v), 0)"
            " FROM unnest(%s::float8[], %s::float8[], %s::float8[], %s::float8[],"
            " %s::float8[], %s::float8[]) WITH ORDINALITY AS u(t, o, h, l, c, v, i) ORDER BY i",
            [ts.astype(float).tolist(), *[c.tolist() for c in columns]],
        )
        expected = [row[0] for row in cursor.fetchall()]

    hashes = pghash.bar_hashes(ts, columns)
    assert hashes.tolist() == expected
    assert pghash.total(hashes) == sum(expected)
