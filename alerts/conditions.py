"""What is wrong right now: each check returns the findings it sees at this moment.

A finding is active (the condition holds) or not; ``hold`` is how long it must hold before
it is an incident worth an alert (a breaker opens and closes on its own all the time).
Thresholds come from settings (``GECKO_ALERT_*``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from django.conf import settings
from django.db.models import Max, Min

from collectors.models import CollectionRun, CollectorConfig
from geckoproject.redis_clock import beat_tick_age
from marketdata.models import Candle, CandleCoverage
from marketdata.timeframes import TIMEFRAME_SECONDS
from watchlist.models import WatchlistEntry


@dataclass(frozen=True, slots=True)
class Finding:
    key: str
    title: str
    detail: str = ""
    active: bool = True
    hold: float = 0.0


def failing_tasks(now: datetime) -> list[Finding]:
    """A task whose last N finished runs all failed. Per task, not per pool: one pool failing
    for ever shows as stale candles; a whole collector failing shows here."""
    n = settings.GECKO_ALERT_FAILED_RUNS
    since = now - timedelta(days=1)
    tasks = CollectionRun.objects.filter(started_at__gte=since).values_list("task", flat=True)
    findings = []
    for task in sorted(set(tasks)):
        last = list(
            CollectionRun.objects.filter(task=task)
            .exclude(status__in=(CollectionRun.Status.RUNNING, CollectionRun.Status.WAITING))
            .order_by("-started_at", "-pk")
            .values_list("status", "detail")[:n]
        )
        failed = len(last) == n and all(s == CollectionRun.Status.FAILED for s, _ in last)
        findings.append(
            Finding(
                key=f"failing:{task}",
                title=f"{task} failed {n} runs in a row",
                detail=(last[0][1].splitlines() or [""])[0] if failed else "",
                active=failed,
            )
        )
    return findings


def breaker_open(now: datetime) -> list[Finding]:
    from collectors.gecko.breaker import CLOSED, CircuitBreaker

    state = CircuitBreaker().state()
    opened = f" since {state.opened_at:%H:%M:%S} UTC" if state.opened_at else ""
    return [
        Finding(
            key="breaker",
            title=f"the API circuit breaker is {state.state}{opened}",
            detail=f"{state.failures} consecutive failures; next try in {state.retry_in:.0f} s",
            active=state.state != CLOSED,
            hold=settings.GECKO_ALERT_BREAKER_OPEN_SECONDS,
        )
    ]


def beat_stopped(now: datetime) -> list[Finding]:
    """Beat stamps Redis on every tick (geckoproject.beat); no stamp means no beat for a day."""
    limit = settings.GECKO_ALERT_BEAT_STALE_SECONDS
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
    try:
        age = beat_tick_age(client)
    finally:
        client.close()
    stale = age is None or age > limit
    seen = "never in the last day" if age is None else f"{age} s ago"
    return [
        Finding(
            key="beat",
            title=f"Celery beat is not ticking (last tick {seen})",
            detail=f"alert after {limit} s without a tick; start exactly one beat",
            active=stale,
        )
    ]


def stale_candles(now: datetime) -> list[Finding]:
    """Watchlist pools whose newest candle (or newest proof of a quiet interval: coverage)
    is older than its timeframe's freshness target, plus a grace, plus two bars (a pool with
    none yet: since it joined the watchlist, so a new pool is not stale at once). The planner
    fetches a timeframe only once its target has passed (1m: 2 h by default), so the target,
    not one figure for every timeframe, says what healthy is; the grace
    (``GECKO_ALERT_CANDLE_STALE_SECONDS``) is how late past it a fetch may be. One incident for
    them all: an API outage makes every pool stale at once, and that is one problem."""
    config = CollectorConfig.current()
    grace = settings.GECKO_ALERT_CANDLE_STALE_SECONDS
    targets = config.freshness_seconds()
    pool_ids = WatchlistEntry.objects.collected_pool_ids(config.network)
    # A pool with nothing fetched yet is late only once it has been on the watchlist that long.
    joined = dict(
        WatchlistEntry.objects.filter(pool_id__in=pool_ids, active=True)
        .values("pool_id")
        .annotate(first=Min("added_at"))
        .values_list("pool_id", "first")
    )
    stale = []
    for timeframe in config.ohlcv_timeframes:
        limit = targets[timeframe] + grace + 2 * TIMEFRAME_SECONDS[timeframe]
        cutoff = now - timedelta(seconds=limit)
        newest = dict(
            Candle.objects.filter(pool_id__in=pool_ids, timeframe=timeframe)
            .values("pool_id")
            .annotate(last=Max("ts"))
            .values_list("pool_id", "last")
        )
        covered = dict(
            CandleCoverage.objects.filter(pool_id__in=pool_ids, timeframe=timeframe)
            .values("pool_id")
            .annotate(last=Max("end"))
            .values_list("pool_id", "last")
        )
        for pool_id in pool_ids:
            known = max(filter(None, (newest.get(pool_id), covered.get(pool_id))), default=None)
            since = known or joined.get(pool_id)
            if since is None or since < cutoff:
                stale.append((pool_id, timeframe, known))
    addresses = dict(
        WatchlistEntry.objects.filter(pool_id__in={p for p, _, _ in stale}).values_list(
            "pool_id", "pool_address"
        )
    )
    lines = [
        f"{addresses.get(p, p)} {tf}: newest {'none' if k is None else f'{k:%Y-%m-%d %H:%M}'}"
        for p, tf, k in stale
    ]
    pools = len({p for p, _, _ in stale})
    return [
        Finding(
            key="stale-candles",
            title=(
                f"{pools} watchlist pool(s) have no candle newer than their timeframe's "
                f"freshness target + {grace} s (+2 bars)"
            ),
            detail="\n".join(lines[:50]),
            active=bool(stale),
        )
    ]


def planner_short(now: datetime) -> list[Finding]:
    """The budget planner has been short of API calls for the hold time (an hour)."""
    short = planner_shortfall()
    return [
        Finding(
            key="planner-short",
            title="the budget planner is short of API calls: demand exceeds the plan",
            detail=short or "",
            active=short is not None,
            hold=settings.GECKO_ALERT_PLANNER_SHORT_SECONDS,
        )
    ]


def planner_shortfall() -> str | None:
    """The tiers the planner serves less than fully, or None when demand fits the budget.

    The planner keeps its last service level in Redis (collectors.planner.service), e.g.
    ``watchlist=full;top=partial``, written at every tick."""
    from collectors.fleet.locks import redis_client
    from collectors.planner.service import STATE_KEY

    state = redis_client().get(STATE_KEY)
    if state is None:
        return None
    levels = dict(part.split("=", 1) for part in state.decode().split(";") if "=" in part)
    short = {tier: level for tier, level in levels.items() if level != "full"}
    if not short:
        return None
    return "served: " + ", ".join(f"{tier} {level}" for tier, level in short.items())


CHECKS = (failing_tasks, breaker_open, beat_stopped, stale_candles, planner_short)
