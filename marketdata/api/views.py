"""Read-only viewsets. Each listing is keyset-paginated on a unique ordering that an index
serves (geckoproject.pagination), so deep pages cost what the first one does."""

from __future__ import annotations

from django.utils.dateparse import parse_datetime
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import mixins, viewsets

from geckoproject.pagination import KeysetCursorPagination
from marketdata.archive import archived_between
from marketdata.models import Candle, Gap, Pool, Token, Trade

from . import filters, serializers


class MarketDataViewSet(viewsets.ReadOnlyModelViewSet):
    pagination_class = KeysetCursorPagination
    filter_backends = [DjangoFilterBackend]


class ArchivedMonthsHeader:
    """Says which months of the asked range were archived to Parquet (marketdata.archive) and
    so are not in the answer: ``X-Archived-Months: 2025-08,2025-09``."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code == 200:
            since = parse_datetime(request.query_params.get("since") or "")
            until = parse_datetime(request.query_params.get("until") or "")
            table = self.queryset.model._meta.db_table
            months = archived_between(table, since, until)
            if months:
                response["X-Archived-Months"] = ",".join(months)
        return response


class PoolViewSet(MarketDataViewSet):
    """Pools, with their base and quote tokens' addresses as separate fields."""

    queryset = Pool.objects.select_related("network", "dex", "base_token", "quote_token")
    serializer_class = serializers.PoolSerializer
    filterset_class = filters.PoolFilter
    ordering = ("id",)


class TokenViewSet(MarketDataViewSet):
    queryset = Token.objects.select_related("network")
    serializer_class = serializers.TokenSerializer
    filterset_class = filters.TokenFilter
    ordering = ("id",)


class CandleViewSet(ArchivedMonthsHeader, mixins.ListModelMixin, viewsets.GenericViewSet):
    """OHLCV bars in (pool, timeframe, ts) order: the table's primary key, so a
    pool+timeframe+range query is one index range scan. A bar has no id of its own (its key
    is those three), so there is a list and no detail route: filter the list to one bar."""

    pagination_class = KeysetCursorPagination
    filter_backends = [DjangoFilterBackend]

    queryset = Candle.objects.select_related("pool")
    serializer_class = serializers.CandleSerializer
    filterset_class = filters.CandleFilter
    ordering = ("pool", "timeframe", "ts")


class TradeViewSet(ArchivedMonthsHeader, MarketDataViewSet):
    """Trades in (pool, time) order; ``id`` breaks ties between trades of one block time."""

    queryset = Trade.objects.select_related(
        "pool__network", "pool__base_token", "pool__quote_token"
    )
    serializer_class = serializers.TradeSerializer
    filterset_class = filters.TradeFilter
    ordering = ("pool", "block_timestamp", "id")


class GapViewSet(MarketDataViewSet):
    queryset = Gap.objects.select_related("pool")
    serializer_class = serializers.GapSerializer
    filterset_class = filters.GapFilter
    ordering = ("id",)
