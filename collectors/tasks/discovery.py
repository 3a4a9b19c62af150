"""Finding what to collect: which DEXes and pools exist, which the watchlist names, and what
each pool and token is. Everything else is collected for the pools these tasks bring in, so
they answer a change (a new watchlist row, a new target DEX) without waiting for a plan."""

from __future__ import annotations

from collectors.models import CollectionRun, CollectorConfig
from collectors.planner.demand import unit_key
from collectors.services import dexes, pools
from collectors.tasks.planning import plan_collection
from collectors.tasks.running import FETCH, _in_flight, _run, collector_task
from marketdata.models import Dex
from watchlist.sync import sync_watchlist_file

# --- DEXes and top pools -----------------------------------------------------------------


@collector_task(bind=True, **FETCH)
def collect_dexes(self):
    def body(tally, client):
        report = dexes.collect_dexes(client)
        tally.items_written = report.written
        tally.detail = f"{report.listed} dexes listed; missing targets: {report.missing_targets}"
        return tally.detail

    return _run(self, body, lane="live")


@collector_task(bind=True)
def plan_top_pools(self):
    def body(tally):
        config = CollectorConfig.current()
        targets = list(
            Dex.objects.filter(network__slug=config.network, is_target=True).values_list(
                "slug", flat=True
            )
        )
        for slug in targets:
            fetch_top_pools.delay(dex=slug, pages=config.top_pool_pages)
        tally.detail = f"queued top pools of {targets}"
        return targets

    return _run(self, body)


@collector_task(bind=True, **FETCH)
def fetch_top_pools(self, dex: str, pages: int = 1):
    def body(tally, client):
        tally.items_written = pools.collect_top_pools(client, dex, pages)

    return _run(self, body, lane="live", dex=dex, pages=pages)


# --- watchlist ---------------------------------------------------------------------------


@collector_task(bind=True)
def sync_watchlist(self, csv: str | None = None):
    def body(tally):
        config = CollectorConfig.current()
        report = sync_watchlist_file(csv or config.watchlist_csv)
        if not report.changed:
            # Checked every minute: an unchanged file is no event, so it leaves no run row.
            tally.discard = True
        if report.errors:
            tally.status = CollectionRun.Status.WARNING
        tally.items_written = len(report.added) + len(report.reactivated) + len(report.deactivated)
        tally.detail = report.summary() + "".join(f"\n{e}" for e in report.errors)
        # New entries' details are a unit of the planner's next tick (perishable priority).
        return tally.detail

    return _run(self, body, csv=csv)


@collector_task(bind=True, **FETCH)
def fetch_watchlist_details(self):
    """Pool details for new watchlist pools (30 a call); token info is left to the planner's
    metadata work. A plan follows at once, so new pools need not wait for the next tick."""

    def body(tally, client):
        report = pools.fetch_watchlist_details(client, token_info=False)
        tally.items_written = report.written
        tally.detail = f"linked {len(report.linked)}; unknown to the API: {report.not_found}"
        if report.linked:
            plan_collection.delay()

    with _in_flight(self, unit_key("details")):
        return _run(self, body, lane="live")


# --- pool and token details ----------------------------------------------------------------


@collector_task(bind=True, **FETCH)
def fetch_token_info(self, address: str):
    def body(tally, client):
        tally.items_written = pools.fetch_token_info(client, address)

    with _in_flight(self, unit_key("token_info", address)):
        return _run(self, body, lane="live", address=address)


@collector_task(bind=True, **FETCH)
def fetch_pool_details(self, pool_ids: list[int]):
    def body(tally, client):
        tally.items_written = pools.refresh_pools(client, pool_ids)

    with _in_flight(self, unit_key("pool_details", pool_ids[0])):
        return _run(self, body, lane="live", pool_ids=pool_ids)
