"""Editing watchlist entries in the admin never leaves collection on a pool the entry no
longer names."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.marketdata.factories import pool
from watchlist.models import WatchlistEntry

pytestmark = pytest.mark.django_db
OLD = "7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP"
NEW = "Eywh18GPyzjZgCLUuNpwYRhKWDR746VF3wQhkWZgHFuu"


def change_url(entry: WatchlistEntry) -> str:
    return reverse("admin:watchlist_watchlistentry_change", args=[entry.pk])


def form_data(entry: WatchlistEntry, **changes: object) -> dict:
    """The change form as the admin page posts it, with ``changes`` typed in."""
    data = {
        "network": entry.network,
        "pool_address": entry.pool_address,
        "token_address": entry.token_address,
        "symbol": entry.symbol,
        "name": entry.name,
        "dex": entry.dex,
        "source": entry.source,
        "_save": "Save",
    }
    if entry.active:
        data["active"] = "on"
    data.update(changes)
    return data


def test_editing_a_linked_entry_cannot_move_it_off_the_pool_it_collects(admin_client):
    old = pool(address=OLD)
    entry = WatchlistEntry.objects.create(pool_address=OLD, pool=old, symbol="OLD")

    page = admin_client.get(change_url(entry))
    response = admin_client.post(change_url(entry), form_data(entry, pool_address=NEW, symbol="X"))

    assert response.status_code == 302, response.content.decode()[:2000]
    entry.refresh_from_db()
    assert entry.symbol == "X", "the other fields still save"
    assert entry.pool_address == entry.pool.address == OLD
    assert WatchlistEntry.objects.collected_pool_ids("solana") == [old.pk]
    assert b"add a new entry" in page.content


def test_editing_an_unlinked_entry_looks_the_new_address_up_at_once(admin_client):
    entry = WatchlistEntry.objects.create(pool_address=OLD, details_checked_at=timezone.now())
    assert not WatchlistEntry.objects.needing_details("solana").exists()

    response = admin_client.post(change_url(entry), form_data(entry, pool_address=NEW))

    assert response.status_code == 302, response.content.decode()[:2000]
    entry.refresh_from_db()
    assert entry.pool_address == NEW
    assert list(WatchlistEntry.objects.needing_details("solana")) == [entry]
