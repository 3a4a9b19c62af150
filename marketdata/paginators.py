"""A paginator for tables of tens of millions of rows.

``SELECT COUNT(*)`` over 10M candles takes seconds; the admin needs only "more than a page".
Unfiltered lists read PostgreSQL's planner estimate (pg_class.reltuples); filtered lists count
at most a capped number of rows.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import connection
from django.utils.functional import cached_property

COUNT_CAP = 10_000


class EstimatedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        query = self.object_list.query
        if not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [self.object_list.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] >= COUNT_CAP:
                return int(row[0])
        return self.object_list[: COUNT_CAP + 1].count()
