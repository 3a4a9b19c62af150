"""Money is an exact decimal string, times are UTC with ``Z``, and a pool's address is never
confused with its base token's."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marketdata.models import Pool
from tests.marketdata.factories import T0, pool, token, trade

pytestmark = pytest.mark.django_db

LONG = "532.712044209470242119280771152461839182058804794342390432"
BASE = "5LKHMd2rMSRaG9y4iHwSLRtrJ3dCrJ2CytvBeak8pump"
QUOTE = "So11111111111111111111111111111111111111112"
POOL = "7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP"


def test_pool_money_and_addresses(api):
    p = pool(
        address=POOL,
        base_token=token(address=BASE),
        quote_token=token(address=QUOTE),
        base_token_price_usd=Decimal(LONG),
        reserve_in_usd=Decimal("1.0"),
        fdv_usd=Decimal("1E-70"),
        pool_created_at=T0,
    )
    body = api.get(f"/api/v1/pools/{p.pk}/").json()
    assert body["address"] == POOL
    assert body["base_token_address"] == BASE
    assert body["quote_token_address"] == QUOTE
    assert body["base_token_price_usd"] == LONG
    assert body["reserve_in_usd"] == "1.0"
    assert Decimal(body["fdv_usd"]) == Decimal("1E-70") and "E" not in body["fdv_usd"]
    assert body["market_cap_usd"] is None
    assert body["pool_created_at"] == "2025-08-20T00:00:00Z"


def test_a_pool_without_tokens_says_null_not_an_error(api):
    p = Pool.objects.create(network=pool().network, address="NoTokens1111")
    body = api.get(f"/api/v1/pools/{p.pk}/").json()
    assert (body["base_token_address"], body["dex"]) == (None, None)


def test_trade_amounts_keep_every_digit(api):
    t = trade(pool(), from_token_amount=Decimal(LONG), volume_usd=Decimal("100.50"))
    body = api.get(f"/api/v1/trades/{t.pk}/").json()
    assert body["from_token_amount"] == LONG
    assert body["volume_usd"] == "100.50"
    assert body["block_timestamp"] == "2025-08-20T00:00:00Z"
