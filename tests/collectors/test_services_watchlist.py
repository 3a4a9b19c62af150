"""fetch_watchlist_details: link watchlist entries to pools, multi first, then the fallbacks."""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode

import pytest
from django.utils import timezone

from collectors.services.pools import fetch_watchlist_details
from marketdata.models import Pool, Token
from simulator import WSOL, RunningSimulator, Simulator
from tests.simulator_fixture import SIMULATOR_SEED
from watchlist.models import WatchlistEntry
from watchlist.sync import sync_watchlist_file

from .clients import make_client

pytestmark = pytest.mark.django_db

HEADER = "tokenSymbol,tokenName,chain,dex,poolAddress,networkAddress\n"
MULTI = "/pools/multi/"


def write_watchlist(path, rows: list[tuple[str, str]]) -> str:
    """A watchlist CSV of (poolAddress, networkAddress) rows, as operators keep it."""
    lines = (
        f"T{i},Token {i},SOL,PumpSwap,{pool},{token}\n" for i, (pool, token) in enumerate(rows)
    )
    path.write_text(HEADER + "".join(lines))
    return str(path)


def load_watchlist(tmp_path, rows: list[tuple[str, str]]) -> None:
    report = sync_watchlist_file(write_watchlist(tmp_path / "watchlist.csv", rows))
    assert not report.errors and len(report.added) == len(rows)


def pumpswap(simulator, count: int) -> list[dict]:
    return simulator.world()["pools"]["pumpswap"][:count]


def linked() -> dict[str, str]:
    return dict(
        WatchlistEntry.objects.filter(pool__isnull=False).values_list(
            "pool_address", "pool__address"
        )
    )


def test_entries_are_linked_with_multi_pool_calls_of_at_most_thirty(simulator, gecko, tmp_path):
    pools = pumpswap(simulator, 35)
    load_watchlist(tmp_path, [(p["address"], p["base_token"]) for p in pools])

    report = fetch_watchlist_details(gecko)

    kinds = simulator.stats()["by_kind"]
    assert kinds["pools_multi"] == 2
    assert "pool" not in kinds and "token_info" not in kinds
    assert sorted(report.linked) == sorted(p["address"] for p in pools)
    assert report.not_found == []
    assert linked() == {p["address"]: p["address"] for p in pools}
    for p in pools:
        pool = Pool.objects.select_related("base_token", "quote_token").get(address=p["address"])
        assert (pool.base_token.address, pool.quote_token.address) == (p["base_token"], WSOL)
    assert set(WatchlistEntry.objects.values_list("token_address", flat=True)) == {
        p["base_token"] for p in pools
    }

    again = fetch_watchlist_details(gecko)

    assert again.linked == [] and simulator.stats()["by_kind"]["pools_multi"] == 2


def test_an_address_the_multi_call_drops_is_asked_for_alone_and_reported_not_found(
    simulator, gecko, tmp_path
):
    pools = pumpswap(simulator, 2)
    unknown = "1111111111111111111111111111111111111111111"
    load_watchlist(tmp_path, [(p["address"], "") for p in pools] + [(unknown, "")])

    report = fetch_watchlist_details(gecko)

    kinds = simulator.stats()["by_kind"]
    assert (kinds["pools_multi"], kinds["pool"]) == (1, 1), "one single call, for the dropped one"
    assert report.not_found == [unknown]
    assert sorted(report.linked) == sorted(p["address"] for p in pools)
    assert WatchlistEntry.objects.get(pool_address=unknown).pool is None
    assert not Pool.objects.filter(address=unknown).exists()


def test_an_unknown_pool_is_not_asked_about_again_within_the_hour(simulator, gecko, tmp_path):
    unknown = "1111111111111111111111111111111111111111111"
    load_watchlist(tmp_path, [(unknown, "")])
    fetch_watchlist_details(gecko)
    calls = simulator.stats()["total"]

    assert fetch_watchlist_details(gecko).not_found == []
    assert simulator.stats()["total"] == calls

    WatchlistEntry.objects.update(details_checked_at=timezone.now() - timedelta(hours=2))
    assert fetch_watchlist_details(gecko).not_found == [unknown]


def test_a_blank_token_address_is_filled_from_the_pools_base_token(simulator, gecko, tmp_path):
    (p,) = pumpswap(simulator, 1)
    load_watchlist(tmp_path, [(p["address"], "")])

    fetch_watchlist_details(gecko)

    entry = WatchlistEntry.objects.get()
    assert entry.pool.address == p["address"]
    assert entry.token_address == p["base_token"]


def test_a_wrong_token_address_is_warned_about_and_kept(simulator, gecko, tmp_path, caplog):
    first, second = pumpswap(simulator, 2)
    load_watchlist(tmp_path, [(first["address"], second["base_token"])])

    with caplog.at_level(logging.WARNING, logger="collectors.services.pools"):
        report = fetch_watchlist_details(gecko)

    entry = WatchlistEntry.objects.select_related("pool__base_token").get()
    assert report.linked == [first["address"]]
    assert entry.pool.address == first["address"], "the pool address is the entry's identity"
    assert entry.pool.base_token.address == first["base_token"]
    assert entry.token_address == second["base_token"], "never swapped behind the operator"
    assert any(
        first["address"] in r.getMessage() and second["base_token"] in r.getMessage()
        for r in caplog.records
    )


def test_an_entry_whose_pool_address_is_a_token_address_is_not_found_and_links_nothing(
    simulator, gecko, tmp_path
):
    real, mixed_up = pumpswap(simulator, 2)
    # Columns swapped: the token where the pool belongs, the pool where the token belongs.
    load_watchlist(
        tmp_path,
        [(real["address"], real["base_token"]), (mixed_up["base_token"], mixed_up["address"])],
    )

    report = fetch_watchlist_details(gecko)

    assert report.not_found == [mixed_up["base_token"]]
    assert report.linked == [real["address"]]
    assert linked() == {real["address"]: real["address"]}
    entry = WatchlistEntry.objects.get(pool_address=mixed_up["base_token"])
    assert entry.pool is None and entry.token_address == mixed_up["address"]
    assert not Pool.objects.filter(address=mixed_up["base_token"]).exists()
    assert not Token.objects.filter(address__in=[real["address"], mixed_up["address"]]).exists()


# --- fallbacks the simulator never needs by itself ----------------------------------------


def forgetful_multi(app, *, forget: set[str]):
    """The simulator behind a front that makes ``multi`` answers incomplete, as the real API's
    can be: it leaves ``forget`` out of the batch and drops ``include`` (no token objects)."""

    def front(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if MULTI in path:
            head, addresses = path.split(MULTI, 1)
            kept = [a for a in addresses.split(",") if a not in forget]
            query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
            environ = {
                **environ,
                "PATH_INFO": f"{head}{MULTI}{','.join(kept)}",
                "QUERY_STRING": urlencode([(k, v) for k, v in query if k != "include"]),
            }
        return app(environ, start_response)

    return front


@pytest.fixture
def forgetful(key_prefix):
    """(running simulator, client, set of addresses the multi call leaves out)."""
    forget: set[str] = set()
    running = RunningSimulator(Simulator(seed=SIMULATOR_SEED, rate_per_min=0))
    running.server.set_app(forgetful_multi(running.simulator, forget=forget))
    running.start()
    client = make_client(running.base_url, prefix=key_prefix)
    yield running, client, forget
    client.close()
    running.stop()


def test_pools_the_batch_missed_come_from_single_calls_and_undescribed_tokens_from_info(
    forgetful, tmp_path
):
    running, client, forget = forgetful
    pools = pumpswap(running, 4)
    missed = pools[0]
    forget.add(missed["address"])
    load_watchlist(tmp_path, [(p["address"], "") for p in pools])

    report = fetch_watchlist_details(client)

    kinds = running.stats()["by_kind"]
    assert (kinds["pools_multi"], kinds["pool"]) == (1, 1)
    assert kinds["token_info"] == 3, "the three multi pools came without token objects"
    assert report.not_found == []
    assert sorted(report.linked) == sorted(p["address"] for p in pools)
    for p in pools:
        entry = WatchlistEntry.objects.select_related("pool__base_token").get(
            pool_address=p["address"]
        )
        assert entry.pool.address == p["address"]
        assert entry.pool.base_token.address == entry.token_address == p["base_token"]
        token = entry.pool.base_token
        assert token.symbol and token.name, "described by the single call or by /info"
        assert (token.info is not None) == (p is not missed)
    sol = Token.objects.get(address=WSOL)
    assert sol.info is None and sol.symbol == "SOL", "the single call described the quote"
