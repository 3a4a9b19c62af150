"""collect_trades and the fair rotation of pools over trade cycles, against the simulator."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from django.db.models import Max, Min
from django.utils import timezone

from collectors.models import TradeCursor
from collectors.services.gaps import gaps_to_backfill, scan_gaps
from collectors.services.trades import (
    API_TRADE_CAP,
    CUT_SECOND,
    choose_pools_for_trades,
    collect_trades,
)
from marketdata.models import Gap, Trade
from marketdata.timeframes import ALL_TIMEFRAMES
from marketdata.trade_layout import trade_ids
from tests.marketdata.factories import pool as make_pool
from watchlist.models import WatchlistEntry

from .clients import make_client

pytestmark = pytest.mark.django_db
MONEY = {
    "from_token_amount": "from_token_amount",
    "to_token_amount": "to_token_amount",
    "price_from_in_currency_token": "price_from_in_currency_token",
    "price_to_in_currency_token": "price_to_in_currency_token",
    "price_from_in_usd": "price_from_in_usd",
    "price_to_in_usd": "price_to_in_usd",
    "volume_usd": "volume_in_usd",
}


@pytest.fixture
def frozen_client(simulator_frozen, key_prefix):
    """A client of the module's simulator, whose clock stands still: trades are repeatable."""
    client = make_client(simulator_frozen.base_url, prefix=key_prefix)
    yield client
    client.close()


def raw_trades(running, address: str, threshold: Decimal) -> list[dict]:
    """The API's answer, read directly (no client, no parser)."""
    resp = httpx.get(
        f"{running.base_url}/networks/solana/pools/{address}/trades",
        params={"trade_volume_in_usd_greater_than": str(threshold)},
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]


def with_more_trades_below(running, high: Decimal, low: Decimal) -> tuple[str, list[int]]:
    """A pool with fewer than 300 trades above ``low`` in 24 h, and fewer still above ``high``."""
    for pool in running.simulator.world.pools_by_dex["heaven"]:
        counts = [len(raw_trades(running, pool.address, t)) for t in (high, low)]
        if 0 < counts[0] < counts[1] < API_TRADE_CAP:
            return pool.address, counts
    raise AssertionError("no such pool in the simulated world")


def busiest(running, dex: str = "pumpswap") -> str:
    return max(running.simulator.world.pools_by_dex[dex], key=lambda p: p.activity).address


def test_only_trades_above_the_threshold_are_stored_and_a_lower_one_stores_more(
    simulator_frozen, frozen_client
):
    high, low = Decimal("100"), Decimal("10")
    address, counts = with_more_trades_below(simulator_frozen, high, low)
    pool = make_pool(address=address)

    report = collect_trades(frozen_client, pool.pk, min_usd=high)

    assert report.received == report.written == counts[0]
    assert Trade.objects.filter(pool=pool).count() == counts[0]
    assert not Trade.objects.filter(volume_usd__lte=high).exists()

    lower = collect_trades(frozen_client, pool.pk, min_usd=low)

    assert lower.received == counts[1] and lower.written == counts[1] - counts[0]
    assert Trade.objects.filter(pool=pool).count() == counts[1]
    assert all(v > low for v in Trade.objects.values_list("volume_usd", flat=True))


def test_a_rerun_stores_no_duplicate_trade(simulator_frozen, frozen_client):
    pool = make_pool(address=busiest(simulator_frozen))

    first = collect_trades(frozen_client, pool.pk, min_usd=Decimal("100"))
    again = collect_trades(frozen_client, pool.pk, min_usd=Decimal("100"))

    assert first.received == first.written == again.received == API_TRADE_CAP
    assert again.written == 0 and not again.possible_gap
    assert Trade.objects.count() == API_TRADE_CAP
    assert len(set(trade_ids(Trade.objects.all()))) == API_TRADE_CAP
    assert not Gap.objects.exists()


def test_trade_amounts_are_stored_exactly_as_the_api_wrote_them(simulator_frozen, frozen_client):
    pool = make_pool(address=busiest(simulator_frozen, "heaven"))

    collect_trades(frozen_client, pool.pk, min_usd=Decimal("100"))

    raw = {t["id"]: t["attributes"] for t in raw_trades(simulator_frozen, pool.address, 100)}
    rows = {t.trade_id: t for t in Trade.objects.filter(pool=pool)}
    assert rows.keys() == raw.keys() and len(rows) > 50
    for trade_id, trade in rows.items():
        attrs = raw[trade_id]
        for field, key in MONEY.items():
            value = getattr(trade, field)
            # Same digits and exponent (trailing zeros kept); "f" since str() of a tiny price
            # is scientific ("1.2E-7") while the API writes it out in full.
            assert value.as_tuple() == Decimal(attrs[key]).as_tuple(), (field, attrs[key])
            assert format(value, "f") == attrs[key], (field, attrs[key])
        assert (trade.side, trade.block_number, trade.tx_hash) == (
            attrs["kind"],
            attrs["block_number"],
            attrs["tx_hash"],
        )
        assert (trade.from_token_address, trade.to_token_address) == (
            attrs["from_token_address"],
            attrs["to_token_address"],
        )
        assert trade.block_timestamp.strftime("%Y-%m-%dT%H:%M:%SZ") == attrs["block_timestamp"]


def test_a_full_page_newer_than_every_stored_trade_records_a_trade_gap(
    simulator_factory, key_prefix
):
    clock = [time.time() - 6 * 3600]
    running = simulator_factory(clock=lambda: clock[0])
    client = make_client(running.base_url, prefix=key_prefix)
    pool = make_pool(address=busiest(running))
    WatchlistEntry.objects.create(pool_address=pool.address, pool=pool)
    try:
        first = collect_trades(client, pool.pk, min_usd=Decimal("100"))
        newest = Trade.objects.aggregate(last=Max("block_timestamp"))["last"]
        clock[0] += 6 * 3600  # six hours on, the last 300 trades are all from minutes ago

        later = collect_trades(client, pool.pk, min_usd=Decimal("100"))
        overlapping = collect_trades(client, pool.pk, min_usd=Decimal("100"))
    finally:
        client.close()

    assert first.received == API_TRADE_CAP and not first.possible_gap, "nothing stored before"
    assert later.received == later.written == API_TRADE_CAP and later.possible_gap
    assert not overlapping.possible_gap and overlapping.written == 0
    oldest_new = Trade.objects.filter(block_timestamp__gt=newest).aggregate(
        first=Min("block_timestamp")
    )["first"]
    gap = Gap.objects.get()
    assert (gap.pool_id, gap.timeframe, gap.status) == (pool.pk, Gap.TRADES, Gap.Status.OPEN)
    assert (gap.start, gap.end) == (newest, oldest_new + CUT_SECOND)
    assert Trade.objects.count() == 2 * API_TRADE_CAP
    assert TradeCursor.objects.get(pool=pool).last_full_page_at is not None
    assert gaps_to_backfill(10) == [], "a trade gap cannot be backfilled"
    assert scan_gaps("solana", list(ALL_TIMEFRAMES)) == 0
    assert Gap.objects.get().status == Gap.Status.OPEN, "the candle gap scan leaves it alone"


def test_rotation_chooses_every_pool_within_ceil_n_over_b_cycles_biggest_volume_first():
    volumes = [Decimal(v) for v in ("50", "700", "10", "300", "90000", "1", "4000")]
    pools = [
        make_pool(address=f"Poo{i}" + "1" * 40, volume_usd_h24=v) for i, v in enumerate(volumes)
    ]
    for p in pools:
        WatchlistEntry.objects.create(pool_address=p.address, pool=p)
    dropped = make_pool(address="Gone" + "1" * 40, volume_usd_h24=Decimal("1e9"))
    WatchlistEntry.objects.create(pool_address=dropped.address, pool=dropped, active=False)
    WatchlistEntry.objects.create(pool_address="Unlinked" + "1" * 36)
    by_volume = [p.pk for p in sorted(pools, key=lambda p: -p.volume_usd_h24)]
    budget = 3

    cycles = [
        choose_pools_for_trades("solana", budget) for _ in range(2 * math.ceil(len(pools) / budget))
    ]

    assert all(len(c) == budget for c in cycles)
    assert cycles[0] == by_volume[:3], "never-chosen pools: the highest 24h volume first"
    assert cycles[1] == by_volume[3:6]
    assert cycles[2] == [by_volume[6], *by_volume[:2]], "then the least recently chosen"
    for start in range(len(cycles) - 2):
        window = {pk for c in cycles[start : start + 3] for pk in c}
        assert window == {p.pk for p in pools}, f"cycles {start}..{start + 2}"
    assert TradeCursor.objects.filter(last_planned_at__isnull=True).count() == 0
    assert not TradeCursor.objects.filter(pool=dropped).exists()


def quiet_pool(running, threshold: Decimal, clock: list[float] | None = None, at=()) -> str:
    """A pool whose last 24 h hold some, but fewer than 300, trades above ``threshold``; and
    so at each instant of ``at`` too, if ``clock`` (the simulator's) is given."""
    for pool in running.simulator.world.pools_by_dex["heaven"]:
        if all(_quiet(running, pool.address, threshold, clock, t) for t in (None, *at)):
            return pool.address
    raise AssertionError("no quiet pool in the simulated world")


def _quiet(running, address: str, threshold: Decimal, clock, instant) -> bool:
    then = clock[0] if clock else None
    if instant is not None:
        clock[0] = instant
    try:
        return 0 < len(raw_trades(running, address, threshold)) < API_TRADE_CAP
    finally:
        if clock:
            clock[0] = then


def test_stored_trades_older_than_the_api_window_record_a_gap_even_on_a_short_page(
    simulator_factory, key_prefix
):
    threshold = Decimal("100")
    start = time.time() - 30 * 3600
    clock = [start]
    running = simulator_factory(clock=lambda: clock[0])
    client = make_client(running.base_url, prefix=key_prefix)
    # Quiet then and now: the page read now must be short, whatever the hour of the day.
    pool = make_pool(address=quiet_pool(running, threshold, clock, [time.time()]))
    try:
        collect_trades(client, pool.pk, min_usd=threshold)
        newest = Trade.objects.aggregate(last=Max("block_timestamp"))["last"]
        # Nobody looked at this pool for 30 hours: the last poll was at the simulator's "then".
        TradeCursor.objects.filter(pool=pool).update(
            last_collected_at=datetime.fromtimestamp(start, UTC)
        )
        clock[0] = time.time()

        before = timezone.now()
        later = collect_trades(client, pool.pk, min_usd=threshold)
        after = timezone.now()
        again = collect_trades(client, pool.pk, min_usd=threshold)
    finally:
        client.close()

    assert 0 < later.received < API_TRADE_CAP, "a short page"
    assert later.possible_gap and not again.possible_gap, "flagged once, not on every poll"
    gap = Gap.objects.get()
    assert (gap.pool_id, gap.timeframe, gap.status) == (pool.pk, Gap.TRADES, Gap.Status.OPEN)
    assert gap.start == newest
    assert before - timedelta(hours=24) <= gap.end <= after - timedelta(hours=24)
    assert "24 h" in gap.reason


def test_a_pool_polled_within_the_window_has_no_trade_gap_however_old_its_last_trade(
    simulator_factory, key_prefix
):
    """A pool that stopped trading is polled every cycle: nothing went unobserved."""
    threshold = Decimal("100")
    running = simulator_factory(clock=lambda: time.time() - 30 * 3600)
    client = make_client(running.base_url, prefix=key_prefix)
    pool = make_pool(address=quiet_pool(running, threshold))
    try:
        collect_trades(client, pool.pk, min_usd=threshold)
        polls = [collect_trades(client, pool.pk, min_usd=threshold) for _ in range(2)]
    finally:
        client.close()

    assert Trade.objects.aggregate(last=Max("block_timestamp"))["last"] < timezone.now() - (
        timedelta(hours=24)
    )
    assert not any(p.possible_gap for p in polls)
    assert not Gap.objects.exists()
