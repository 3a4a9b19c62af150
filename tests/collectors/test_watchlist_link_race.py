"""An address edited in the admin while its details call runs is not linked to the old pool.

The details call is held open by the simulator's slow-answer fault (real HTTP); meanwhile an
operator edits the entry through the admin (its own database connection, committed). The link
that follows must see that the entry no longer names the pool that was fetched.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from django.urls import reverse

from collectors.services.pools import fetch_watchlist_details
from watchlist.models import WatchlistEntry

from .clients import make_client

pytestmark = pytest.mark.django_db(transaction=True)

SLOW = 2.0


def in_thread(target) -> threading.Thread:
    def run() -> None:
        try:
            target()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def wait_for_request(simulator, kind: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while simulator.stats()["by_kind"].get(kind, 0) < 1:
        assert time.monotonic() < deadline, f"no {kind} request reached the simulator"
        time.sleep(0.02)


def edit_address(admin_client, entry: WatchlistEntry, address: str) -> None:
    data = {
        "network": entry.network,
        "pool_address": address,
        "token_address": "",
        "symbol": entry.symbol,
        "name": entry.name,
        "dex": entry.dex,
        "source": entry.source,
        "active": "on",
        "_save": "Save",
    }
    url = reverse("admin:watchlist_watchlistentry_change", args=[entry.pk])
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]


def test_an_address_edited_during_the_details_call_is_not_linked_to_the_old_pool(
    simulator, key_prefix, admin_client
):
    old, new = (p["address"] for p in simulator.world()["pools"]["pumpswap"][:2])
    entry = WatchlistEntry.objects.create(pool_address=old, symbol="T")
    client = make_client(simulator.base_url, prefix=key_prefix)
    simulator.add_fault("slow", count=1, path_contains="/pools/multi/", delay=SLOW)

    fetching = in_thread(lambda: fetch_watchlist_details(client, token_info=False))
    wait_for_request(simulator, "pools_multi")
    edit_address(admin_client, entry, new)
    fetching.join(timeout=30)

    assert not fetching.is_alive()
    entry.refresh_from_db()
    assert entry.pool_address == new
    assert entry.pool is None, f"linked to {entry.pool.address}, the address it no longer names"
    assert entry.token_address == "", "nothing of the old pool is written into the entry"
    assert entry.details_checked_at is None, "the new address is looked up at once"

    fetch_watchlist_details(client, token_info=False)

    entry.refresh_from_db()
    assert entry.pool is not None and entry.pool.address == new
    client.close()
