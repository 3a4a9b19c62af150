"""collect_dexes and collect_top_pools against the simulator: what lands in the database."""

from __future__ import annotations

import pytest

from collectors.services.dexes import collect_dexes
from collectors.services.pools import collect_top_pools
from marketdata.models import Dex, Pool, PoolSnapshot, Token
from simulator import WSOL
from tests.marketdata.factories import dex

pytestmark = pytest.mark.django_db


def test_collect_dexes_upserts_every_page_of_the_dex_list(simulator, gecko):
    world = simulator.world()

    report = collect_dexes(gecko)

    listed = {d["id"]: d["name"] for d in world["dexes"]}
    assert len(listed) > 20, "the list spans two pages"
    assert simulator.stats()["by_kind"]["dexes"] == 2
    assert report.listed == report.written == len(listed)
    assert dict(Dex.objects.values_list("slug", "name")) == listed
    assert not Dex.objects.filter(last_seen_at__isnull=True).exists()
    assert report.missing_targets == []


def test_a_target_dex_missing_from_the_api_is_reported_while_the_others_are_saved(gecko):
    dex("pumpswap", is_target=True)
    dex("orca", is_target=False)
    gone = dex("closed-dex", is_target=True, name="Closed")

    report = collect_dexes(gecko)
    again = collect_dexes(gecko)

    assert report.missing_targets == again.missing_targets == ["closed-dex"]
    assert set(Dex.objects.filter(is_target=True).values_list("slug", flat=True)) == {
        "pumpswap",
        "closed-dex",
    }, "is_target is the operator's choice: never overwritten, never set for new dexes"
    assert Dex.objects.get(slug="pumpswap").name == "PumpSwap"
    gone.refresh_from_db()
    assert gone.last_seen_at is None and gone.name == "Closed"
    assert Dex.objects.count() == report.listed + 1
    assert again.written == report.listed, "only last_seen_at moved"


def test_top_pools_pages_become_pools_with_their_own_tokens_and_snapshots(simulator, gecko):
    world = {p["address"]: p for p in simulator.world()["pools"]["pumpswap"]}

    written = collect_top_pools(gecko, "pumpswap", pages=4)

    assert written > 0
    assert simulator.stats()["by_kind"]["dex_pools"] == 4, "page 4 is empty: stop there"
    pools = Pool.objects.select_related("dex", "base_token", "quote_token")
    assert {p.address for p in pools} == set(world)
    for pool in pools:
        assert pool.dex.slug == "pumpswap"
        assert pool.base_token.address == world[pool.address]["base_token"]
        assert pool.quote_token.address == WSOL
        assert pool.name == world[pool.address]["name"]
        assert pool.last_seen_at is not None
    tokens = set(Token.objects.values_list("address", flat=True))
    assert tokens == {p["base_token"] for p in world.values()} | {WSOL}
    assert not tokens & set(world), "a pool address is never stored as a token"
    assert Token.objects.exclude(symbol="").count() == len(tokens), "tokens are described"
    assert PoolSnapshot.objects.count() == len(world)
    assert set(PoolSnapshot.objects.values_list("pool__address", flat=True)) == set(world)


def test_collecting_top_pools_twice_appends_snapshots_without_duplicating_pools_or_tokens(
    gecko,
):
    collect_top_pools(gecko, "pumpswap", pages=1)
    counts = (Pool.objects.count(), Token.objects.count(), Dex.objects.count())

    collect_top_pools(gecko, "pumpswap", pages=1)

    assert (Pool.objects.count(), Token.objects.count(), Dex.objects.count()) == counts
    assert counts[0] == 20
    assert PoolSnapshot.objects.count() == 40
    per_pool = PoolSnapshot.objects.values_list("pool_id", "taken_at")
    assert len({pk for pk, _ in per_pool}) == 20 and len(set(per_pool)) == 40
