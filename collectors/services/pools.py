"""Top pools of the target DEXes, and details for watchlist pools we have not seen yet."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.utils import timezone

from collectors.gecko.client import MULTI_MAX, GeckoClient
from collectors.gecko.errors import NotFound
from collectors.services.persist import save_pool_page, save_token_info
from marketdata import store
from marketdata.models import Pool, Token
from watchlist.models import WatchlistEntry

logger = logging.getLogger(__name__)


def collect_top_pools(client: GeckoClient, dex: str, pages: int) -> int:
    """Read ``pages`` pages of a DEX's top pools; upsert pools and tokens, append snapshots."""
    network = store.get_network(client.network)
    written = 0
    for number in range(1, pages + 1):
        page = client.top_pools(dex, number)
        if not page.pools:
            break
        written += save_pool_page(network, page, timezone.now(), snapshot=True).written
    return written


@dataclass
class DetailsReport:
    linked: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    written: int = 0


def fetch_watchlist_details(client: GeckoClient, *, token_info: bool = True) -> DetailsReport:
    """Give every active watchlist entry without a Pool its pool and token details.

    Multi-pool calls (≤30 addresses) first; whatever a batch left out is asked for one by one,
    and (with ``token_info``) a base token the answer did not describe gets /tokens/{a}/info.
    The planner passes False: token info waits until the perishable work is served.
    """
    network = store.get_network(client.network)
    entries = list(WatchlistEntry.objects.needing_details(client.network))
    report = DetailsReport()
    addresses = [e.pool_address for e in entries]
    for start in range(0, len(addresses), MULTI_MAX):
        batch = addresses[start : start + MULTI_MAX]
        pages = [client.pools_multi(batch)]
        for address in set(batch) - {p.address for p in pages[0].pools}:
            try:
                pages.append(client.pool(address))
            except NotFound:
                logger.warning("watchlist pool %s: the API does not know it", address)
                report.not_found.append(address)
        for page in pages:
            report.written += save_pool_page(network, page, timezone.now()).written
            for pool in page.pools:
                if token_info and pool.base_token_address not in page.tokens:
                    try:
                        info = client.token_info(pool.base_token_address)
                    except NotFound:
                        logger.warning("token %s: no /info from the API", pool.base_token_address)
                        continue
                    report.written += save_token_info(network, info).written
    report.linked = _link_entries(network, entries)
    checked = timezone.now()
    for entry in entries:
        _as_fetched(entry).update(details_checked_at=checked)
    return report


def _as_fetched(entry: WatchlistEntry):
    """The entry's row only while it still names the pool that was fetched and is unlinked.

    An operator may edit the address while the details call runs: writing by primary key alone
    would link the entry to the old address's pool (or mark the new address as just looked up).
    Zero rows updated means the edit won; the next tick looks the new address up."""
    return WatchlistEntry.objects.filter(
        pk=entry.pk, network=entry.network, pool_address=entry.pool_address, pool__isnull=True
    )


def refresh_pools(client: GeckoClient, pool_ids: list[int]) -> int:
    """Re-read known pools' details, 30 a call (the planner's lazy metadata work)."""
    network = store.get_network(client.network)
    addresses = list(Pool.objects.filter(pk__in=pool_ids).values_list("address", flat=True))
    written = 0
    for start in range(0, len(addresses), MULTI_MAX):
        page = client.pools_multi(addresses[start : start + MULTI_MAX])
        written += save_pool_page(network, page, timezone.now()).written
    return written


def fetch_token_info(client: GeckoClient, address: str) -> int:
    """Token metadata from /tokens/{a}/info; rows written (0 if the API does not know it)."""
    network = store.get_network(client.network)
    try:
        info = client.token_info(address)
    except NotFound:
        # Marked as asked ({}), so the planner does not ask again every tick.
        logger.warning("token %s: no /info from the API", address)
        Token.objects.filter(network=network, address=address, info__isnull=True).update(info={})
        return 0
    return save_token_info(network, info).written


def _link_entries(network, entries: list[WatchlistEntry]) -> list[str]:
    """Point entries at their Pool; fill a blank token address from the pool's base token and
    warn (never swap) when the file's token address disagrees with the API's."""
    pools = {
        p.address: p
        for p in Pool.objects.filter(
            network=network, address__in=[e.pool_address for e in entries]
        ).select_related("base_token")
    }
    linked = []
    for entry in entries:
        pool = pools.get(entry.pool_address)
        if pool is None:
            continue
        base = pool.base_token.address if pool.base_token else ""
        if entry.token_address and base and entry.token_address != base:
            logger.warning(
                "watchlist pool %s: file says token %s, the API says base token %s",
                entry.pool_address,
                entry.token_address,
                base,
            )
        updates = {"pool": pool}
        if not entry.token_address and base:
            updates["token_address"] = base
        if _as_fetched(entry).update(**updates):
            linked.append(entry.pool_address)
    return linked
