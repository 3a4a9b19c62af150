"""Trades: the most perishable data (the API gives only a pool's last 300 of the past day), so
the planner sends these first; a fetch that may have missed some says so on its run."""

from __future__ import annotations

from collectors.models import CollectorConfig
from collectors.planner.demand import unit_key
from collectors.services import trades
from collectors.tasks.planning import plan_collection
from collectors.tasks.running import FETCH, _in_flight, _run, collector_task


@collector_task()
def plan_trades():
    """Replaced by plan_collection (see plan_ohlcv)."""
    plan_collection.delay()


@collector_task(bind=True, **FETCH)
def fetch_trades(self, pool_id: int):
    def body(tally, client):
        config = CollectorConfig.current()
        report = trades.collect_trades(client, pool_id, min_usd=config.min_trade_usd)
        tally.items_written = report.written
        tally.detail = f"{report.received} received" + (
            "; possible gap" if report.possible_gap else ""
        )

    with _in_flight(self, unit_key("trades", pool_id)):
        return _run(self, body, lane="live", pool_id=pool_id)
