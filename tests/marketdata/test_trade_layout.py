"""Trades go through the store's lean layout and come back as the API sent them (issue 17).

The recorded answer's 300 trades are upserted as the collectors upsert them and read back
through the model, the REST API and the admin's search: every field string for string, the
trade id included; the token addresses of a pool that knows its tokens are not stored per trade.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.db import connection
from rest_framework.test import APIClient

from marketdata import store, trade_layout
from marketdata.models import Trade

from .factories import pool, token
from .recorded_trades import BASE_TOKEN, MONEY, QUOTE_TOKEN, recorded_rows, store_rows

pytestmark = pytest.mark.django_db
FETCHED = datetime(2025, 8, 28, 16, 20, tzinfo=UTC)
TEXT_FIELDS = ("tx_hash", "tx_from_address", "from_token_address", "to_token_address")


def recorded_pool(*, with_tokens: bool):
    tokens = {"base_token": token(BASE_TOKEN), "quote_token": token(QUOTE_TOKEN)}
    return pool(**(tokens if with_tokens else {}))


def assert_as_sent(trades: dict[str, Trade]) -> None:
    rows = recorded_rows()
    assert len(trades) == len(rows) == 300
    for row in rows:
        trade = trades[row["id"]]
        assert trade.trade_id == row["id"]
        for field in TEXT_FIELDS:
            assert getattr(trade, field) == row[field], field
        for field in MONEY:
            value = getattr(trade, field)
            assert (format(value, "f") if value is not None else "") == row[field], field
        assert str(trade.block_number) == row["block_number"]
        assert trade.block_timestamp.strftime("%Y-%m-%dT%H:%M:%SZ") == row["block_timestamp"]
        assert trade.side == row["side"]


def stored() -> dict[str, Trade]:
    trades = Trade.objects.select_related("pool__network", "pool__base_token", "pool__quote_token")
    return {t.trade_id: t for t in trades}


@pytest.mark.parametrize("with_tokens", [True, False], ids=["pool-knows-tokens", "unknown"])
def test_the_recorded_trades_come_back_string_for_string(with_tokens):
    p = recorded_pool(with_tokens=with_tokens)

    assert store.upsert_trades(store_rows(p.pk)).inserted == 300
    assert store.upsert_trades(store_rows(p.pk)).inserted == 0, "a repeat is ignored"

    assert_as_sent(stored())
    own_tokens = Trade.objects.filter(from_token__isnull=False, to_token__isnull=False).count()
    assert own_tokens == (0 if with_tokens else 300)
    assert not Trade.objects.filter(kept_trade_id__isnull=False).exists()


def test_an_id_the_fields_cannot_rebuild_is_kept_whole():
    p = recorded_pool(with_tokens=True)
    (row, other, *_) = store_rows(p.pk)
    odd = {**row, "trade_id": "solana_" + row["trade_id"].split("_", 1)[1] + "_extra"}
    foreign = {**other, "trade_id": other["trade_id"].replace("solana_", "eth_", 1)}

    assert store.upsert_trades([odd, foreign]).inserted == 2

    trades = stored()
    assert set(trades) == {odd["trade_id"], foreign["trade_id"]}
    assert all(t.kept_trade_id == t.trade_id for t in trades.values())


def test_a_token_that_is_not_the_pools_is_stored_with_the_trade():
    p = recorded_pool(with_tokens=True)
    row = store_rows(p.pk)[0]
    stranger = {**row, "to_token_address": "0xAbC"}  # not base58, not lower-case hex

    store.upsert_trades([stranger])

    trade = Trade.objects.select_related("pool__network").get()
    assert (trade.from_token_address, trade.to_token_address) == (
        row["from_token_address"],
        "0xAbC",
    )


def test_the_api_and_the_admin_search_give_the_strings_back(client):
    p = recorded_pool(with_tokens=True)
    store.upsert_trades(store_rows(p.pk))
    row = recorded_rows()[7]
    user = User.objects.create_superuser("admin", "a@example.com", "pw")

    api = APIClient()
    api.force_authenticate(user)
    listed = api.get("/api/v1/trades/", {"pool": p.pk, "page_size": 500}).json()["results"]
    by_id = {r["trade_id"]: r for r in listed}
    assert len(by_id) == 300
    for field in (*TEXT_FIELDS, "volume_usd"):
        assert by_id[row["id"]][field] == row[field], field

    client.force_login(user)
    for term in (row["id"], row["tx_hash"]):
        page = client.get("/admin/marketdata/trade/", {"q": term})
        assert page.status_code == 200
        assert page.context["cl"].result_count == 1, term
    trade = page.context["cl"].result_list[0]
    shown = client.get(f"/admin/marketdata/trade/{trade.pk}/change/").content.decode()
    for field in ("id", *TEXT_FIELDS):
        assert row[field] in shown, field


def test_the_layout_is_lean():
    """What a row keeps beside its money: bytes, not text."""
    p = recorded_pool(with_tokens=True)
    store.upsert_trades(store_rows(p.pk))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT avg(pg_column_size(tx)), avg(pg_column_size(tx_from)),"
            " count(*) FILTER (WHERE from_token IS NULL AND to_token IS NULL)"
            " FROM marketdata_trade"
        )
        tx, sender, derived = cursor.fetchone()
    assert (float(tx), float(sender), derived) == (66.0, 34.0, 300)
    assert trade_layout.trade_ids(Trade.objects.filter(pool=p))[0].startswith("solana_")
