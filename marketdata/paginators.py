"""A paginator for tables of tens of millions of rows.

``SELECT COUNT(*)`` over 10M candles takes seconds; the admin needs only "more than a page".
Unfiltered lists read PostgreSQL's planner estimate (pg_class.reltuples); filtered lists count
at most a capped number of rows, and the admin prints such a count as "10,000+" (``capped``),
not as an exact "10001".
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

    @property
    def capped(self) -> bool:
        """The count stopped at the cap: there are more rows than it says."""
        return self.count == COUNT_CAP + 1

    @property
    def count_label(self) -> str:
        """``10,000+`` when capped, ``~12,345,678`` for a planner estimate, else exact."""
        if self.capped:
            return f"{COUNT_CAP:,}+"
        if self.count > COUNT_CAP:
            return f"~{self.count:,}"
        return f"{self.count:,}"
