"""Backfill OHLCV history: plan what the coverage lacks, then walk it back page by page.

Coverage (marketdata.coverage) decides what to fetch: only time no answer has covered, and
nothing older than where the API's history starts (marketdata.history). Every page is stored in
its own transaction (collectors.services.ohlcv.store_page), so a run stopped or killed at any
point resumes where it stopped, and a finished backfill run again asks only for what is newer.
One (pool, timeframe) is walked by one process at a time (a PostgreSQL session lock, released
when its holder dies), whether the walker is the command, a Celery task or a gap backfill.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from collectors.gecko.client import OHLCV_MAX_LIMIT, GeckoClient
from collectors.gecko.errors import GeckoError, MustWait, NotFound
from collectors.gecko.records import CandleReject, OhlcvPage
from collectors.planner.credit import backfill_credit
from collectors.services.gaps import note_answer
from collectors.services.ohlcv import history_floor, settled_until, store_page
from marketdata import partitions
from marketdata.coverage import Span, covered_spans, sync_gaps
from marketdata.history import history_starts
from marketdata.models import Candle, CandleCoverage, Gap, Pool
from marketdata.timeframes import TIMEFRAME_SECONDS

logger = logging.getLogger(__name__)

# Where --full-history stops if the API never says "no more": before Solana's first DEX pool.
FULL_HISTORY_FLOOR = datetime(2020, 1, 1, tzinfo=UTC)
# A page of 1,000 candles read back with an inclusive cursor brings 999 new ones.
PER_PAGE = OHLCV_MAX_LIMIT - 1


def never() -> bool:
    return False


def credit_guard() -> str | None:
    """Why a backfill may not spend another call this month, or None: on a keyed plan the
    credit left after live collection's need to the month's end (collectors.planner.credit)."""
    credit = backfill_credit()
    return credit.stop_reason() if credit.exhausted else None


def backfill_rate_per_min() -> float:
    """Calls per minute the backfill lane may take: the rate less the share kept for live."""
    return settings.GECKO_RATE_LIMIT_PER_MIN * (1.0 - settings.GECKO_RATE_LIMIT_LIVE_SHARE)


def pages_for(span: Span, timeframe: str) -> int:
    """Pages needed for ``span`` at most (quiet intervals make it fewer)."""
    intervals = math.ceil((span.end - span.start).total_seconds() / TIMEFRAME_SECONDS[timeframe])
    return max(1, math.ceil(intervals / PER_PAGE))


def uncovered(spans: list[Span], start: datetime, end: datetime) -> list[Span]:
    """The parts of [start, end) that ``spans`` (sorted, disjoint) do not cover, newest first."""
    missing, cursor = [], start
    for span in spans:
        if span.end <= cursor or span.start >= end:
            continue
        if span.start > cursor:
            missing.append(Span(cursor, span.start))
        cursor = max(cursor, span.end)
    if cursor < end:
        missing.append(Span(cursor, end))
    return missing[::-1]


@dataclass(frozen=True)
class Unit:
    """One (pool, timeframe) of a plan: the ranges to fetch, newest first."""

    pool_id: int
    address: str
    timeframe: str
    missing: tuple[Span, ...]
    history_start: datetime | None
    unfillable: Span | None = None

    @property
    def pages(self) -> int:
        return sum(pages_for(s, self.timeframe) for s in self.missing)


@dataclass
class Plan:
    since: datetime | None
    until: datetime
    timeframes: list[str]
    pool_count: int
    units: list[Unit] = field(default_factory=list)

    @property
    def todo(self) -> list[Unit]:
        return [u for u in self.units if u.missing]

    @property
    def pages(self) -> int:
        return sum(u.pages for u in self.units)

    @property
    def unfillable(self) -> list[Unit]:
        return [u for u in self.units if u.unfillable is not None]


def _unit(
    pool_id: int,
    address: str,
    timeframe: str,
    spans: list[Span],
    start: datetime | None,
    since: datetime | None,
    until: datetime,
) -> Unit:
    lower = since or start or FULL_HISTORY_FLOOR
    unfillable = None
    if start is not None and start > lower:
        unfillable = Span(lower, min(start, until)) if since is not None else None
        lower = start
    missing = uncovered(spans, lower, until) if lower < until else []
    return Unit(pool_id, address, timeframe, tuple(missing), start, unfillable)


def plan_backfill(
    pool_ids: list[int], timeframes: list[str], *, since: datetime | None, until: datetime
) -> Plan:
    """What to fetch for every (pool, timeframe): three queries whatever the number of pools.

    Nothing newer than a timeframe's settled edge: no answer can prove it yet, so a walk that
    asked for it would ask again at its every retry; live collection reads it as it settles."""
    plan = Plan(since, until, list(timeframes), len(pool_ids))
    now = timezone.now()
    addresses = dict(Pool.objects.filter(pk__in=pool_ids).values_list("pk", "address"))
    spans: dict[tuple[int, str], list[Span]] = {}
    rows = CandleCoverage.objects.filter(
        pool_id__in=pool_ids, timeframe__in=timeframes, end__gt=since or FULL_HISTORY_FLOOR
    ).order_by("start")
    for pool_id, tf, start, end in rows.values_list("pool_id", "timeframe", "start", "end"):
        spans.setdefault((pool_id, tf), []).append(Span(start, end))
    starts = history_starts(pool_ids, timeframes)
    for pool_id in pool_ids:
        for tf in timeframes:
            key = (pool_id, tf)
            end = min(until, settled_until(tf, now))
            unit = _unit(
                pool_id, addresses[pool_id], tf, spans.get(key, []), starts.get(key), since, end
            )
            plan.units.append(unit)
    return plan


@contextmanager
def unit_lock(pool_id: int, timeframe: str) -> Iterator[bool]:
    """Yield True if this process alone may walk (pool, timeframe) now.

    A session-level advisory lock: PostgreSQL frees it when the holder's connection ends, so a
    killed run never blocks the next one (a Redis TTL lock would, for the TTL)."""
    digest = hashlib.sha256(f"backfill:{pool_id}:{timeframe}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        held = bool(cursor.fetchone()[0])
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


@dataclass
class UnitReport:
    """What one walk did. ``stopped``: asked to stop with work left; ``busy``: another
    process holds this (pool, timeframe)."""

    pool_id: int
    timeframe: str
    pages: int = 0
    candles: int = 0
    written: int = 0
    stopped: bool = False
    busy: bool = False
    history_start: datetime | None = None
    pages_left: int = 0
    rejects: list[str] = field(default_factory=list)
    credit_stop: str | None = None  # stopped to leave the month's credit to live collection


@dataclass
class Walk:
    """How a walk waits and reports. ``wait(seconds)`` sleeps for the rate limit and returns
    False if the run was asked to stop meanwhile; without it, MustWait reaches the caller
    (a Celery task, which retries later). ``on_page(candles)`` follows progress."""

    client: GeckoClient
    include_empty: bool = False
    stop: Callable[[], bool] = never
    wait: Callable[[float], bool] | None = None
    on_page: Callable[[int], None] | None = None
    gap_id: int | None = None
    guard: Callable[[], str | None] = credit_guard  # a reason to stop before the next call


def sleep_unless(stop: Callable[[], bool]) -> Callable[[float], bool]:
    """A ``Walk.wait`` that sleeps in short slices so a signal is answered within a second."""

    def wait(seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if stop():
                return False
            time.sleep(min(left, 0.5))
        return not stop()

    return wait


def _ask(walk: Walk, address: str, timeframe: str, before: int, limit: int) -> OhlcvPage | None:
    """One page, waiting out the bucket when the walk may; None if stopped while waiting."""
    while True:
        try:
            return walk.client.ohlcv(
                address,
                timeframe,
                before_timestamp=before,
                limit=limit,
                include_empty_intervals=walk.include_empty,
            )
        except MustWait as exc:
            if walk.wait is None:
                raise
            logger.info("backfill %s %s: %s", address, timeframe, exc)
            if not walk.wait(exc.seconds):
                return None


def _walk_span(walk: Walk, pool: Pool, timeframe: str, span: Span, report: UnitReport) -> bool:
    """Read ``span`` back from its end; False once history ends or the walk is stopped."""
    # Its months' partitions, back to where the API can still serve (not to a 2020 floor).
    oldest = max(span.start, history_floor(pool, timeframe, timezone.now()))
    partitions.ensure_span(Candle._meta.db_table, oldest, span.end)
    seconds = TIMEFRAME_SECONDS[timeframe]
    end = int(span.end.timestamp())
    before = (end - 1) // seconds * seconds  # the last interval opening inside the span
    floor = span.start.timestamp()
    while True:
        if walk.stop():
            report.stopped = True
            return False
        if reason := walk.guard():
            logger.warning("backfill %s %s: %s", pool.address, timeframe, reason)
            report.stopped, report.credit_stop = True, reason
            return False
        limit = min(OHLCV_MAX_LIMIT, max(2, int((before - floor) // seconds) + 2))
        logger.info(
            "backfill %s %s from %s back to %s",
            pool.address,
            timeframe,
            datetime.fromtimestamp(before, tz=UTC).isoformat(),
            span.start.isoformat(),
        )
        page = _ask(walk, pool.address, timeframe, before, limit)
        if page is None:
            report.stopped = True
            return False
        result = store_page(pool, timeframe, page, before=before, limit=limit)
        report.rejects.extend(describe_reject(r) for r in page.rejected)
        if walk.gap_id is not None:
            # An attempt is an answer for the gap's range, not a try that was told to wait.
            Gap.objects.filter(pk=walk.gap_id).update(attempts=F("attempts") + 1)
        report.pages += 1
        report.candles += result.candles
        report.written += result.written
        if walk.on_page is not None:
            walk.on_page(result.candles)
        if result.ends_history:
            starts = history_starts([pool.pk], [timeframe]).get((pool.pk, timeframe))
            report.history_start = starts or result.oldest
            return False
        if result.proven is None:  # a full page of rejected candles: nothing to page back from
            return False
        if result.proven <= span.start:
            return True
        before = int(result.proven.timestamp())


def backfill_unit(
    walk: Walk, pool_id: int, timeframe: str, *, since: datetime | None, until: datetime
) -> UnitReport:
    """Fetch what coverage lacks of [since, until) for one (pool, timeframe), newest first.

    ``since=None`` walks until the API says there is no more. The plan is re-read under the
    lock, so a resumed or concurrent run never fetches what another already stored."""
    report = UnitReport(pool_id, timeframe)
    with unit_lock(pool_id, timeframe) as held:
        if not held:
            report.busy = True
            return report
        pool = Pool.objects.get(pk=pool_id)
        (unit,) = plan_backfill([pool_id], [timeframe], since=since, until=until).units
        report.history_start = unit.history_start
        try:
            for index, span in enumerate(unit.missing):
                if not _walk_span(walk, pool, timeframe, span, report):
                    if report.stopped:
                        left = unit.missing[index:]
                        report.pages_left = sum(pages_for(s, timeframe) for s in left)
                    break
        except GeckoError as exc:
            if since is not None and not isinstance(exc, MustWait):
                flag_unwalked(pool_id, timeframe, since, until, f"backfill failed: {exc}")
            raise
    return report


def flag_unwalked(
    pool_id: int, timeframe: str, since: datetime, until: datetime, reason: str
) -> list[Gap]:
    """What a failed walk left of [since, until) before the first covered range, as open gaps.

    A walk goes newest first, so that rest is no hole between covered ranges and the gap scan
    would never see it; as a gap row it is backfilled like any other (sync_gaps keeps a gap
    before the first covered range open). The rest between covered ranges is a hole already."""
    (unit,) = plan_backfill([pool_id], [timeframe], since=since, until=until).units
    spans = covered_spans(pool_id, timeframe)
    first = spans[0].start if spans else None
    flagged = []
    for span in unit.missing:
        if first is not None and span.start >= first:
            continue
        end = span.end if first is None else min(span.end, first)
        gap, _ = Gap.objects.update_or_create(
            pool_id=pool_id,
            timeframe=timeframe,
            start=span.start,
            defaults={"end": end, "status": Gap.Status.OPEN, "resolved_at": None},
            create_defaults={"end": end, "reason": reason[:255]},
        )
        flagged.append(gap)
    return flagged


def backfill_gap(walk: Walk, gap_id: int) -> UnitReport | None:
    """Fill one open candle gap, then re-derive the gaps of its (pool, timeframe).

    A gap becomes unfillable only on the API's word: its answer showed the range lies before
    the pool's history start, or it gave the same answer that left the gap open (a 404, the
    same implausible candle) GECKO_GAP_SAME_ANSWERS times; between such answers the gap backs
    off (services.gaps.note_answer). Waiting for the rate limit or the breaker is no attempt
    (MustWait reaches the caller before anything is counted)."""
    gap = Gap.objects.select_related("pool").get(pk=gap_id)
    if gap.status != Gap.Status.OPEN or gap.timeframe == Gap.TRADES:
        return None
    walk.gap_id = gap.pk
    try:
        report = backfill_unit(walk, gap.pool_id, gap.timeframe, since=gap.start, until=gap.end)
    except NotFound:
        logger.warning("gap %s: the API answers 404 for pool %s", gap.pk, gap.pool.address)
        Gap.objects.filter(pk=gap.pk).update(attempts=F("attempts") + 1)
        note_answer(gap.pk, GONE)
        return UnitReport(gap.pool_id, gap.timeframe)
    if report.busy:
        raise MustWait(30.0, endpoint="ohlcv", why="another backfill holds this pool")
    sync_gaps(gap.pool_id, gap.timeframe)
    start = history_starts([gap.pool_id], [gap.timeframe]).get((gap.pool_id, gap.timeframe))
    if start is not None:
        mark_unfillable(gap.pool, gap.timeframe, start)
    if not report.stopped and Gap.objects.filter(pk=gap.pk, status=Gap.Status.OPEN).exists():
        note_answer(gap.pk, "; ".join(report.rejects) or LEFT_OPEN)
    return report


GONE = "the API answers 404 Not Found for this pool"
LEFT_OPEN = "the API's answers left the range uncovered"


def describe_reject(reject: CandleReject) -> str:
    """A rejected candle as a gap's answer: the same candle served again reads the same."""
    at = "" if reject.timestamp is None else f" {reject.timestamp:%Y-%m-%d %H:%M} UTC"
    return f"implausible candle{at}: {reject.problem}"


def unfillable_reason(pool: Pool, start: datetime) -> str:
    """Why the API has nothing before ``start``: the pool's first trade, or the plan's depth."""
    if pool.pool_created_at is not None and pool.pool_created_at >= start - timedelta(days=1):
        return f"before the pool's history start ({start:%Y-%m-%d %H:%M} UTC; pool created then)"
    return f"older than the API keeps (its candles start at {start:%Y-%m-%d %H:%M} UTC)"


def mark_unfillable(pool: Pool, timeframe: str, start: datetime) -> int:
    """Open gaps wholly before the API's history start will never fill: say why."""
    return Gap.objects.filter(
        pool=pool, timeframe=timeframe, status=Gap.Status.OPEN, end__lte=start
    ).update(
        status=Gap.Status.UNFILLABLE,
        reason=unfillable_reason(pool, start),
        resolved_at=timezone.now(),
    )
