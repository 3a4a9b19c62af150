"""The collector's configuration and watchlist as a test sets them up."""

from __future__ import annotations

from collectors.models import CollectorConfig
from watchlist.models import WatchlistEntry

from .celery_worker import schedule_planner


def configured(**fields) -> CollectorConfig:
    """The collector configuration with ``fields`` set and saved."""
    config = CollectorConfig.current()
    for name, value in fields.items():
        setattr(config, name, value)
    config.save()
    return config


def watched_world(sim, count: int) -> list[dict]:
    """The simulator's first ``count`` pools (all dexes), every one on the watchlist."""
    world = [p for pools in sim.world()["pools"].values() for p in pools][:count]
    assert len(world) == count
    WatchlistEntry.objects.bulk_create(
        WatchlistEntry(pool_address=p["address"], token_address=p["base_token"]) for p in world
    )
    return world


def planned_every(tick: int, **fields) -> CollectorConfig:
    """Beat's planner every ``tick`` seconds, a first fetch reading one page, and ``fields``
    set in the configuration; the configuration."""
    config = configured(ohlcv_pages_per_fetch=1, plan_tick_seconds=tick, **fields)
    schedule_planner(tick)
    return config
