"""Where the API's candle history of a (pool, timeframe) starts, as its answers showed."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from .models import HistoryStart


def note_history_start(pool_id: int, timeframe: str, starts_at: datetime, seen: datetime) -> None:
    """Remember that the API serves nothing older than ``starts_at``.

    The start only moves forward (the public API's six months roll on); an operator who wants
    older history re-asked (a paid plan) deletes the row or re-opens the gap in the admin.
    """
    HistoryStart.objects.update_or_create(
        pool_id=pool_id,
        timeframe=timeframe,
        defaults={"found_at": seen},
        create_defaults={"starts_at": starts_at, "found_at": seen},
    )
    HistoryStart.objects.filter(
        pool_id=pool_id, timeframe=timeframe, starts_at__lt=starts_at
    ).update(starts_at=starts_at)


def history_starts(pool_ids: list[int], timeframes: list[str]) -> dict[tuple[int, str], datetime]:
    """(pool, timeframe) → start, for every pair whose start is known: one query."""
    rows = HistoryStart.objects.filter(Q(pool_id__in=pool_ids) & Q(timeframe__in=timeframes))
    return {(p, tf): s for p, tf, s in rows.values_list("pool_id", "timeframe", "starts_at")}


def forget_history_start(pool_id: int, timeframe: str, *, after: datetime) -> int:
    """Let the API be asked again about what lies before ``after`` (the admin's re-open)."""
    return HistoryStart.objects.filter(
        pool_id=pool_id, timeframe=timeframe, starts_at__gt=after
    ).delete()[0]
