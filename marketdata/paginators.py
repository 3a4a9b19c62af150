"""A paginator for tables of tens of millions of rows.

``SELECT COUNT(*)`` over 10M candles takes seconds; the admin needs only "more than a page".
Unfiltered lists read PostgreSQL's planner estimate (pg_class.reltuples, summed over a
partitioned table's partitions); filtered lists count
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
                # A partitioned table's estimate is its leaf partitions' (pg_partition_tree
                # lists a plain table alone, as a leaf).
                cursor.execute(
                    "SELECT COALESCE(sum(GREATEST(c.reltuples, 0)), 0)::bigint"
                    " FROM pg_partition_tree(%s::regclass) t JOIN pg_class c ON c.oid = t.relid"
                    " WHERE t.isleaf",
                    [self.estimate_table],
                )
                row = cursor.fetchone()
            if row and row[0] >= COUNT_CAP:
                return int(row[0])
        return self.object_list[: COUNT_CAP + 1].count()

    @property
    def estimate_table(self) -> str:
        """The table whose estimate counts the rows (a view's model names its table)."""
        model = self.object_list.model
        return getattr(model, "ESTIMATE_TABLE", model._meta.db_table)

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
