"""Query filters. Time ranges are half-open, ``since <= t < until``, ISO-8601 (UTC when no
offset is given), so consecutive windows never share a row."""

from __future__ import annotations

from django_filters import rest_framework as filters

from marketdata.models import Candle, Gap, Pool, Token, Trade
from marketdata.timeframes import Timeframe


class PoolFilter(filters.FilterSet):
    network = filters.CharFilter(field_name="network__slug")
    dex = filters.CharFilter(field_name="dex__slug")
    address = filters.CharFilter()
    base_token_address = filters.CharFilter(field_name="base_token__address")
    quote_token_address = filters.CharFilter(field_name="quote_token__address")

    class Meta:
        model = Pool
        fields = ["network", "dex", "address", "base_token_address", "quote_token_address"]


class TokenFilter(filters.FilterSet):
    network = filters.CharFilter(field_name="network__slug")
    address = filters.CharFilter()
    symbol = filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Token
        fields = ["network", "address", "symbol"]


def _half_open(field: str) -> tuple[filters.IsoDateTimeFilter, filters.IsoDateTimeFilter]:
    """``since`` and ``until`` on ``field``: ``since <= t < until``."""
    return (
        filters.IsoDateTimeFilter(field_name=field, lookup_expr="gte"),
        filters.IsoDateTimeFilter(field_name=field, lookup_expr="lt"),
    )


class PoolScopedFilter(filters.FilterSet):
    """``pool`` is the pool's id, ``pool_address`` its address (not its base token's)."""

    pool = filters.NumberFilter(field_name="pool_id")
    pool_address = filters.CharFilter(field_name="pool__address")


class CandleFilter(PoolScopedFilter):
    timeframe = filters.ChoiceFilter(choices=Timeframe.choices)
    since, until = _half_open("ts")

    class Meta:
        model = Candle
        fields = ["pool", "pool_address", "timeframe", "since", "until"]


class TradeFilter(PoolScopedFilter):
    side = filters.ChoiceFilter(choices=Trade.Side.choices)
    since, until = _half_open("block_timestamp")

    class Meta:
        model = Trade
        fields = ["pool", "pool_address", "side", "since", "until"]


class GapFilter(PoolScopedFilter):
    timeframe = filters.ChoiceFilter(choices=Gap._meta.get_field("timeframe").choices)
    status = filters.ChoiceFilter(choices=Gap.Status.choices)

    class Meta:
        model = Gap
        fields = ["pool", "pool_address", "timeframe", "status"]
