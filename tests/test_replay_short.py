"""The simulated month's short form (bench/replay.py): collection on a virtual clock against the
simulator, audited against its ground truth. No loss may go unflagged, no history start may be
wrong and nothing may be stuck, whatever the budget."""

from __future__ import annotations

import pytest

from bench.month.report import render
from bench.month.setups import SETUPS
from bench.month.simulate import simulate

# Issue 15's short form: 3 days x 100 pools, on the demo key (the free tier's ~100,000 calls in
# three days would take most of an hour here). A budget short of demand: the planner's choices
# under pressure are what can lose data.
SHORT = SETUPS["demo"].shorter(days=3, pools=100)


# Three simulated days of 100 pools: 3-5 minutes on 2 cores, more beside other work. Slow: no
# worker or server, but 100 s of CPU alone would be most of make test-fast's 2 minutes.
@pytest.mark.slow
@pytest.mark.timeout(1200)
@pytest.mark.django_db
def test_a_short_month_loses_nothing_unflagged():
    run, losses = simulate(SHORT)
    print(render(run, losses, full_length=False))  # noqa: T201
    assert run.calls["live"] > 0, "the planner queued work"
    assert losses.trades_made > 0, "some trades were audited"
    assert losses.trades_lost_unflagged == 0
    assert losses.candles_missing_no_gap == 0
    assert losses.wrong_history_starts == 0
    assert losses.stuck == []
    assert losses.trades_lost_flagged <= 1.1 * losses.trades_minimum
