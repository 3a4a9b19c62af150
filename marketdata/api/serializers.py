"""Read-only serializers: exact decimal strings, ISO-8601 UTC times ending in ``Z``.

A pool's own address (``address``) and its base token's address (``base_token_address``) are
distinct fields, never folded into one.
"""

from __future__ import annotations

from rest_framework import serializers

from marketdata import trade_layout
from marketdata.fields import ExactDecimalField
from marketdata.models import Candle, Gap, Pool, Token, Trade

from .fields import ExactDecimalSerializerField


class ReadOnlyModelSerializer(serializers.ModelSerializer):
    """Maps ExactDecimalField to its exact string form; every field read-only."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        ExactDecimalField: ExactDecimalSerializerField,
    }

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            field.read_only = True
        return fields


class TokenSerializer(ReadOnlyModelSerializer):
    network = serializers.CharField(source="network.slug")

    class Meta:
        model = Token
        fields = [
            "id",
            "network",
            "address",
            "symbol",
            "name",
            "decimals",
            "image_url",
            "coingecko_coin_id",
            "total_supply",
            "price_usd",
            "fdv_usd",
            "info",
            "first_seen_at",
        ]


class PoolSerializer(ReadOnlyModelSerializer):
    network = serializers.CharField(source="network.slug")
    dex = serializers.CharField(source="dex.slug", allow_null=True, default=None)
    base_token_address = serializers.CharField(
        source="base_token.address", allow_null=True, default=None
    )
    quote_token_address = serializers.CharField(
        source="quote_token.address", allow_null=True, default=None
    )

    class Meta:
        model = Pool
        fields = [
            "id",
            "network",
            "address",
            "dex",
            "name",
            "base_token",
            "base_token_address",
            "quote_token",
            "quote_token_address",
            "pool_created_at",
            "base_token_price_usd",
            "quote_token_price_usd",
            "base_token_price_native",
            "quote_token_price_native",
            "reserve_in_usd",
            "volume_usd_h24",
            "fdv_usd",
            "market_cap_usd",
            "price_change_h24",
            "transactions_h24_buys",
            "transactions_h24_sells",
            "first_seen_at",
            "last_seen_at",
        ]


class CandleSerializer(ReadOnlyModelSerializer):
    pool_address = serializers.CharField(source="pool.address")

    class Meta:
        model = Candle
        fields = [
            "pool",
            "pool_address",
            "timeframe",
            "ts",
            "open",
            "high",
            "low",
            "close",
            "volume_usd",
            "is_final",
        ]


class TradeSerializer(ReadOnlyModelSerializer):
    """The API's strings, rebuilt from the lean columns (marketdata.trade_layout)."""

    pool_address = serializers.CharField(source="pool.address")
    trade_id = serializers.CharField(read_only=True)
    tx_hash = serializers.CharField(read_only=True)
    tx_from_address = serializers.CharField(read_only=True)
    from_token_address = serializers.CharField(read_only=True)
    to_token_address = serializers.CharField(read_only=True)

    class Meta:
        model = Trade
        fields = ["id", "trade_id", "pool", "pool_address", *trade_layout.TRADE_FIELDS[1:]]


class GapSerializer(ReadOnlyModelSerializer):
    pool_address = serializers.CharField(source="pool.address")

    class Meta:
        model = Gap
        fields = [
            "id",
            "pool",
            "pool_address",
            "timeframe",
            "start",
            "end",
            "status",
            "reason",
            "attempts",
            "detected_at",
            "resolved_at",
        ]
