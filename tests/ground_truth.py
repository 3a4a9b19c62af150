"""Ground truth: what the simulator served, against what the database holds.

Shared by the tests that put the collectors through faults, kills and restarts: each ends by
asking the simulator again, its faults off, and comparing.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import httpx
from django.db.models import Min

from collectors.gecko import parse
from collectors.gecko.client import OHLCV_PERIODS
from collectors.models import TradeCursor
from marketdata.models import Candle, CandleCoverage, Gap, Pool, Trade
from marketdata.timeframes import TIMEFRAME_SECONDS
from marketdata.trade_layout import trade_ids

# A trade this much older than a pool's last poll was in that poll's answer (the request went
# out at most one HTTP timeout, plus the store, before the poll was recorded) ...
POLL_MARGIN = timedelta(seconds=15)


def answer_margin(sim) -> timedelta:
    """... plus the CDN's age: like the API's, the simulator's edge serves an answer computed up
    to ``max_age`` seconds before the request (a retry after a corrupted answer gets the one
    computed for it). The collectors allow for it (services.trades: ``answered``); a check that
    did not called trades made after a stale last answer lost, though the next poll takes them.
    Seen in CI: a pool's only poll, a retry after a bad_json answer, was a CDN hit 57 s old."""
    return POLL_MARGIN + timedelta(seconds=sim.simulator.edge.max_age)


def served_candles(sim, pool: str, timeframe: str, start: datetime, end: datetime) -> dict:
    """What the simulator serves for ``[start, end)``, by open time (faults must be off)."""
    period, aggregate = OHLCV_PERIODS[timeframe]
    step = TIMEFRAME_SECONDS[timeframe]
    before, out = int(end.timestamp()) - step, {}
    while before >= start.timestamp():
        resp = httpx.get(
            f"{sim.base_url}/networks/solana/pools/{pool}/ohlcv/{period}",
            params={"aggregate": aggregate, "limit": 1000, "before_timestamp": before},
            timeout=30,
        )
        page = parse.parse_ohlcv(parse.loads(resp.content, "ohlcv"))
        out.update({c.timestamp: c for c in page.candles if c.timestamp >= start})
        # Whichever way the simulator reads ``limit`` (candles or intervals), the 1,000
        # intervals up to ``before`` were all served.
        before -= 1000 * step
    return out


def served_trades(sim, pool: str, min_usd: float) -> list:
    """The trades the simulator serves now for ``pool`` above ``min_usd`` (faults must be off)."""
    resp = httpx.get(
        f"{sim.base_url}/networks/solana/pools/{pool}/trades",
        params={"trade_volume_in_usd_greater_than": str(min_usd)},
        timeout=30,
    )
    return parse.parse_trades(parse.loads(resp.content, "trades"), "solana")


def candle_mismatches(sim) -> list[str]:
    """Every candle served for a covered range is stored with the served values, and nothing
    stored in a covered range was not served."""
    problems = []
    for cov in CandleCoverage.objects.select_related("pool"):
        served = served_candles(sim, cov.pool.address, cov.timeframe, cov.start, cov.end)
        stored = {
            c.ts: c
            for c in Candle.objects.filter(
                pool=cov.pool, timeframe=cov.timeframe, ts__gte=cov.start, ts__lt=cov.end
            )
        }
        where = f"{cov.pool.address} {cov.timeframe}"
        for ts in served.keys() - stored.keys():
            problems.append(f"{where} {ts}: served, not stored")
        for ts in stored.keys() - served.keys():
            problems.append(f"{where} {ts}: stored, never served")
        for ts in served.keys() & stored.keys():
            s, c = served[ts], stored[ts]
            fields = ("open", "high", "low", "close", "volume_usd")
            if not all(math.isclose(getattr(s, f), getattr(c, f), rel_tol=1e-9) for f in fields):
                problems.append(f"{where} {ts}: stored {c.close} vs served {s.close}")
    return problems


def trade_mismatches(
    sim, min_usd: float, poll_margin: timedelta | None = None
) -> tuple[list[str], int]:
    """Every trade the simulator still serves that is older than the pool's last poll is
    stored, unless a trades Gap owns up to its loss; and, where no Gap, the count stored since
    the oldest stored trade equals the simulator's ground truth (``/__sim__/trade_count``)."""
    problems, checked = [], 0
    poll_margin = answer_margin(sim) if poll_margin is None else poll_margin
    for cursor in TradeCursor.objects.select_related("pool").filter(
        last_collected_at__isnull=False
    ):
        pool, polled = cursor.pool, cursor.last_collected_at - poll_margin
        has_gap = Gap.objects.filter(pool=pool, timeframe=Gap.TRADES).exists()
        stored = set(trade_ids(Trade.objects.filter(pool=pool)))
        for trade in served_trades(sim, pool.address, min_usd):
            if trade.block_timestamp < polled:
                checked += 1
                if trade.trade_id not in stored and not has_gap:
                    problems.append(f"{pool.address}: trade {trade.trade_id} not stored")
        oldest = Trade.objects.filter(pool=pool).aggregate(t=Min("block_timestamp"))["t"]
        if oldest is None or has_gap:
            continue
        start, end = int(oldest.timestamp()) + 1, int(polled.timestamp())
        if start >= end:
            continue
        truth = httpx.get(
            f"{sim.sim_url}/__sim__/trade_count",
            params={"pool": pool.address, "start": start, "end": end, "min_usd": min_usd},
            timeout=30,
        ).json()["count"]
        held = Trade.objects.filter(
            pool=pool,
            block_timestamp__gte=datetime.fromtimestamp(start, UTC),
            block_timestamp__lt=datetime.fromtimestamp(end, UTC),
        ).count()
        if held != truth:
            problems.append(
                f"{pool.address}: {held} trades stored in [{start}, {end}), {truth} made"
            )
    return problems, checked


def assert_complete_and_unique(sim, min_usd: float) -> None:
    """No row twice, every candle and trade served stored, and some trades compared."""
    assert Trade.objects.count() == len(
        {t.trade_id for t in Trade.objects.select_related("pool__network")}
    )
    assert (
        Candle.objects.count()
        == Candle.objects.values("pool", "timeframe", "ts").distinct().count()
    )
    assert Pool.objects.count() == Pool.objects.values("address").distinct().count()
    candles = candle_mismatches(sim)
    assert candles == [], candles
    problems, checked = trade_mismatches(sim, min_usd)
    assert problems == [], problems
    assert checked > 0, "some trades were compared"
