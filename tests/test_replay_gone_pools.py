"""The simulated month's audit meets pools that answer 404: gone (``gone_at``) or not created
yet. Their truth is what the API served while they existed; what it could not serve is no
loss, and the audit must not crash on the 404."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench.month.audit import Losses, _truth_client, audit_candles, served
from bench.month.driver import Run
from bench.month.setups import SETUPS, START
from marketdata.models import Candle, CandleCoverage
from simulator import Simulator
from tests.marketdata import factories

EPOCH = int(START.timestamp())
HOUR = 3600


def _doomed(sim: Simulator):
    return next(p for p in sim.world.pools if p.gone_at is not None)


def _run(end: float) -> Run:
    sim = Simulator(seed=42, rate_per_min=0, clock=lambda: end, epoch=EPOCH)
    return Run(SETUPS["demo"], sim, start=EPOCH, end=end)


def test_a_pool_that_answers_404_serves_no_candles():
    run = _run(EPOCH + 12 * HOUR)
    doomed = _doomed(run.sim)
    with _truth_client(run) as client:
        assert served(client, doomed.address, "1m", EPOCH, doomed.gone_at) == set()


@pytest.mark.django_db
@pytest.mark.parametrize("kept", ["all", "all but one"])
def test_a_gone_pools_candles_are_what_it_served_before_it_went(kept):
    run = _run(EPOCH + 12 * HOUR)
    doomed = _doomed(run.sim)
    lo, hi = (doomed.gone_at - 3 * HOUR) // 60 * 60, doomed.gone_at // 60 * 60 - 60
    with _truth_client(run, at=doomed.gone_at - 1) as client:
        truth = sorted(served(client, doomed.address, "1m", lo, hi))
    assert truth, "the pool traded before it went"
    stored = truth if kept == "all" else truth[1:]
    pool = factories.pool(address=doomed.address)
    at = datetime.fromtimestamp(lo, UTC), datetime.fromtimestamp(hi, UTC)
    CandleCoverage.objects.create(pool=pool, timeframe="1m", start=at[0], end=at[1])
    Candle.objects.bulk_create(
        Candle(
            pool=pool,
            timeframe="1m",
            ts=datetime.fromtimestamp(ts, UTC),
            open=1,
            high=1,
            low=1,
            close=1,
            volume_usd=1,
        )
        for ts in stored
    )
    losses = Losses()
    with _truth_client(run) as client:
        audit_candles(run, losses, client)
    assert losses.candles_served == len(truth)
    assert losses.candles_never_served == 0
    assert losses.candles_missing_no_gap == len(truth) - len(stored)
