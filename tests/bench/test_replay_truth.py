"""The replay's ground truth reads every candle the API serves in a span. When ``limit`` counts
intervals, a page holds fewer than 1,000 candles wherever a pool was quiet: the walk must go on,
not take the short page for the start of history (it did, and 15,000 stored candles of a
three-day demo run were reported "never served" while the candles it never read went unaudited).
"""

from __future__ import annotations

import httpx
import pytest

from bench.month.audit import served
from bench.month.setups import SIM_HOST
from collectors.gecko.client import OHLCV_PERIODS
from marketdata.timeframes import TIMEFRAME_SECONDS
from simulator import Simulator

EPOCH = 1_780_000_000 // 3600 * 3600


def every_traded_interval(client: httpx.Client, address: str, tf: str, start: int, end: int):
    """Non-empty intervals read with empty ones filled in: each page is exactly 1,000
    intervals, so stepping back 1,000 at a time misses none."""
    period, aggregate = OHLCV_PERIODS[tf]
    step = TIMEFRAME_SECONDS[tf]
    before, out = (end - 1) // step * step, set()
    while before >= start:
        rows = client.get(
            f"/networks/solana/pools/{address}/ohlcv/{period}",
            params={
                "aggregate": aggregate,
                "limit": 1000,
                "before_timestamp": before,
                "include_empty_intervals": "true",
            },
        ).json()["data"]["attributes"]["ohlcv_list"]
        out.update(int(r[0]) for r in rows if float(r[5]) > 0 and start <= int(r[0]) < end)
        before -= 1000 * step
    return out


@pytest.mark.parametrize("limit_counts", ["intervals", "candles"])
def test_the_truth_reads_every_candle_of_a_quiet_pools_span(limit_counts):
    sim = Simulator(seed=42, rate_per_min=0, clock=lambda: float(EPOCH), limit_counts=limit_counts)
    quiet = min(
        (p for p in sim.world.pools if p.created_at < EPOCH - 10 * 86_400 and p.gone_at is None),
        key=lambda p: p.trades_per_day,
    )
    with httpx.Client(transport=httpx.WSGITransport(app=sim), base_url=f"{SIM_HOST}/api/v2") as c:
        start, end = EPOCH - 4 * 86_400, EPOCH - 60
        truth = every_traded_interval(c, quiet.address, "1m", start, end)
        assert 0 < len(truth) < 4 * 1440, "a quiet pool: some minutes traded, most not"
        assert served(c, quiet.address, "1m", start, end) == truth
