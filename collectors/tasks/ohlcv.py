"""Live candles: the planner sends one fetch per (pool, timeframe) that is due, sized to what
is missing since the last candle. Older history is not fetched here but by the backfill tasks
(collectors.tasks.history), on their own lane of the API budget."""

from __future__ import annotations

from collectors.models import CollectorConfig
from collectors.planner.demand import unit_key
from collectors.services import ohlcv
from collectors.tasks.planning import plan_collection
from collectors.tasks.running import FETCH, _in_flight, _run, collector_task


@collector_task()
def plan_ohlcv(timeframe: str | None = None):
    """Replaced by plan_collection; kept so a schedule row or message left from before the
    planner runs the planner instead of queueing a full set."""
    plan_collection.delay()


@collector_task(bind=True, **FETCH)
def fetch_ohlcv(
    self, pool_id: int, timeframe: str, limit: int | None = None, pages: int | None = None
):
    """``limit`` and ``pages`` come from the planner: what is missing, and the calls it budgeted
    (a first fetch reads ohlcv_pages_per_fetch pages; older history is the backfill's)."""

    def body(tally, client):
        config = CollectorConfig.current()
        report = ohlcv.collect_ohlcv(
            client,
            pool_id,
            timeframe,
            max_pages=min(pages or config.ohlcv_pages_per_fetch, config.ohlcv_pages_per_fetch),
            include_empty=config.include_empty_intervals,
            limit=limit,
        )
        tally.items_written = report.written
        if report.rejected:
            tally.detail = f"{report.rejected} implausible candle(s) rejected (named in the log)"

    with _in_flight(self, unit_key("ohlcv", pool_id, timeframe)):
        return _run(self, body, lane="live", pool_id=pool_id, timeframe=timeframe)
