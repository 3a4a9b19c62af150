"""Market data: what GeckoTerminal told us, keyed by the API's natural keys.

Collection only ever upserts (marketdata.store); nothing here is deleted by collection.
Money values are ExactDecimalField (unconstrained NUMERIC: every digit the API sent, see
marketdata/fields.py); candle values are double precision because the API sends JSON floats.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from . import trade_layout
from .fields import ExactDecimalField, PoolKey
from .timeframes import Timeframe


class Network(models.Model):
    slug = models.CharField(max_length=64, help_text="API network id, e.g. solana, polygon_pos")
    name = models.CharField(max_length=128, blank=True, db_default="")
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [models.UniqueConstraint(fields=["slug"], name="uq_network_slug")]
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Dex(models.Model):
    network = models.ForeignKey(Network, on_delete=models.PROTECT, related_name="dexes")
    slug = models.CharField(max_length=128, help_text="API dex id, e.g. pumpswap, raydium-clmm")
    name = models.CharField(max_length=128, blank=True, db_default="")
    is_target = models.BooleanField(
        db_default=False, help_text="Monitored: its top pools are collected"
    )
    last_seen_at = models.DateTimeField(null=True, blank=True, help_text="Last listed by the API")
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        verbose_name_plural = "dexes"
        constraints = [
            models.UniqueConstraint(fields=["network", "slug"], name="uq_dex_network_slug")
        ]
        indexes = [
            # collectors.tasks.collect_top_pools: the target DEXes of a network.
            models.Index(fields=["network"], condition=Q(is_target=True), name="ix_dex_targets"),
        ]
        ordering = ["network", "slug"]

    def __str__(self) -> str:
        return f"{self.network_id}:{self.slug}" if not self.name else f"{self.name} ({self.slug})"


class Token(models.Model):
    network = models.ForeignKey(Network, on_delete=models.PROTECT, related_name="tokens")
    address = models.CharField(max_length=128, help_text="Token (mint) address, no network prefix")
    symbol = models.CharField(max_length=64, blank=True, db_default="")
    name = models.CharField(max_length=256, blank=True, db_default="")
    decimals = models.PositiveSmallIntegerField(null=True, blank=True)
    image_url = models.URLField(max_length=500, blank=True, db_default="")
    coingecko_coin_id = models.CharField(max_length=128, blank=True, db_default="")
    total_supply = ExactDecimalField(null=True, blank=True)
    price_usd = ExactDecimalField(null=True, blank=True)
    fdv_usd = ExactDecimalField(null=True, blank=True)
    info = models.JSONField(null=True, blank=True, help_text="Metadata from /tokens/{a}/info")
    first_seen_at = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["network", "address"], name="uq_token_network_address")
        ]
        indexes = [
            # admin search and watchlist import: look a token up by its symbol.
            models.Index(fields=["symbol"], name="ix_token_symbol"),
        ]

    def __str__(self) -> str:
        return f"{self.symbol or '?'} {self.address}"


class Pool(models.Model):
    network = models.ForeignKey(Network, on_delete=models.PROTECT, related_name="pools")
    address = models.CharField(
        max_length=128, help_text="Pool address (the API's pool id, no prefix)"
    )
    dex = models.ForeignKey(
        Dex, null=True, blank=True, on_delete=models.PROTECT, related_name="pools"
    )
    base_token = models.ForeignKey(
        Token, null=True, blank=True, on_delete=models.PROTECT, related_name="base_pools"
    )
    quote_token = models.ForeignKey(
        Token, null=True, blank=True, on_delete=models.PROTECT, related_name="quote_pools"
    )
    name = models.CharField(max_length=256, blank=True, db_default="")
    pool_created_at = models.DateTimeField(null=True, blank=True)
    base_token_price_usd = ExactDecimalField(null=True, blank=True)
    quote_token_price_usd = ExactDecimalField(null=True, blank=True)
    base_token_price_native = ExactDecimalField(null=True, blank=True)
    quote_token_price_native = ExactDecimalField(null=True, blank=True)
    reserve_in_usd = ExactDecimalField(null=True, blank=True)
    volume_usd_h24 = ExactDecimalField(null=True, blank=True)
    fdv_usd = ExactDecimalField(null=True, blank=True)
    market_cap_usd = ExactDecimalField(null=True, blank=True)
    price_change_h24 = ExactDecimalField(null=True, blank=True)
    transactions_h24_buys = models.IntegerField(null=True, blank=True)
    transactions_h24_sells = models.IntegerField(null=True, blank=True)
    first_seen_at = models.DateTimeField(db_default=Now())
    last_seen_at = models.DateTimeField(
        null=True, blank=True, help_text="Last seen in an API answer"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["network", "address"], name="uq_pool_network_address")
        ]
        indexes = [
            # collectors.tasks.collect_top_pools / admin: pools of a DEX by 24h volume.
            models.Index(fields=["dex", "-volume_usd_h24"], name="ix_pool_dex_volume"),
        ]

    def __str__(self) -> str:
        return f"{self.name or '?'} {self.address}"


class PoolSnapshot(models.Model):
    """One observation of a pool's market state, appended by collect_top_pools for trends.

    Foreign keys to Pool on the big tables carry no index of their own: the natural-key
    constraint or a named index leads with ``pool`` and serves the same lookups.
    """

    pool = models.ForeignKey(
        Pool, on_delete=models.CASCADE, related_name="snapshots", db_index=False
    )
    taken_at = models.DateTimeField()
    reserve_in_usd = ExactDecimalField(null=True, blank=True)
    volume_usd_h24 = ExactDecimalField(null=True, blank=True)
    base_token_price_usd = ExactDecimalField(null=True, blank=True)
    fdv_usd = ExactDecimalField(null=True, blank=True)
    transactions_h24_buys = models.IntegerField(null=True, blank=True)
    transactions_h24_sells = models.IntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pool", "taken_at"], name="uq_poolsnapshot_pool_taken")
        ]

    def __str__(self) -> str:
        return f"{self.pool_id} @ {self.taken_at:%Y-%m-%d %H:%M}"


class Candle(models.Model):
    """One OHLCV bar; ``ts`` is the bar's open time (UTC).

    Keyed by what identifies a bar, (pool, timeframe, ts): no surrogate id and no bookkeeping
    column, so a row is 84 bytes on disk and its key one B-tree entry (the bar table is most
    of the store). The columns lie in the order that leaves no alignment padding
    (marketdata.relayout.CANDLE).
    """

    pk = models.CompositePrimaryKey("pool", "timeframe", "ts")
    pool = PoolKey(Pool, on_delete=models.CASCADE, related_name="candles", db_index=False)
    timeframe = models.CharField(max_length=3, choices=Timeframe.choices)
    ts = models.DateTimeField(help_text="Open time of the interval (UTC)")
    open = models.FloatField()
    high = models.FloatField()
    low = models.FloatField()
    close = models.FloatField()
    volume_usd = models.FloatField()
    is_final = models.BooleanField(
        default=True, help_text="False for a pool's newest bar while its interval is still open"
    )

    class Meta:
        indexes = [
            # collectors.ohlcv: re-fetch the still-moving bars; tiny because almost all are final.
            models.Index(
                fields=["pool", "timeframe"],
                condition=Q(is_final=False),
                name="ix_candle_not_final",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pool_id} {self.timeframe} {self.ts:%Y-%m-%d %H:%M}"


class CandleRow(models.Model):
    """The bar table as the admin lists it, through the view ``marketdata_candle_row``.

    Django's admin registers no model with a composite key (5.2), so the view gives each bar
    one text key, ``pool:timeframe:epoch`` (marketdata.admin.CandleAdmin reads it back as the
    natural key, an index probe). Read-only; filters and ordering reach the table's indexes.
    """

    ESTIMATE_TABLE = "marketdata_candle"  # marketdata.paginators: the rows' planner estimate

    key = models.CharField(primary_key=True, max_length=64)
    pool = models.ForeignKey(
        Pool, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    timeframe = models.CharField(max_length=3, choices=Timeframe.choices)
    ts = models.DateTimeField()
    open = models.FloatField()
    high = models.FloatField()
    low = models.FloatField()
    close = models.FloatField()
    volume_usd = models.FloatField()
    is_final = models.BooleanField()

    class Meta:
        managed = False
        db_table = "marketdata_candle_row"
        verbose_name = "candle"
        # The admin's lists are in a total order without the key's text.
        constraints = [
            models.UniqueConstraint(fields=["pool", "timeframe", "ts"], name="uq_candlerow_key")
        ]

    def __str__(self) -> str:
        return f"{self.pool_id} {self.timeframe} {self.ts:%Y-%m-%d %H:%M}"


class Trade(models.Model):
    """One swap, stored lean (marketdata.trade_layout): hashes and addresses as the bytes they
    encode, the API's id as the event index and ts lag that rebuild it, token addresses only
    where they are not the pool's own tokens. The properties give back every string the API
    sent; ``trade_id`` is ``{network}_{block}_{tx}_{index}_{ts}``."""

    class Side(models.TextChoices):
        BUY = "buy"
        SELL = "sell"

    pool = PoolKey(Pool, on_delete=models.CASCADE, related_name="trades", db_index=False)
    block_timestamp = models.DateTimeField()
    event_index = models.IntegerField(help_text="From the trade id; -1 when the id is kept whole")
    tx_key = models.BigIntegerField(help_text="64-bit digest of the tx hash (the unique key's)")
    block_number = models.BigIntegerField()
    id_lag = models.IntegerField(help_text="Seconds from block_timestamp to the trade id's ts")
    kept_trade_id = models.TextField(
        null=True, blank=True, help_text="The API's id, when the row's fields cannot rebuild it"
    )
    tx = models.BinaryField(help_text="The tx hash, encoded (marketdata.trade_codec)")
    tx_from = models.BinaryField(help_text="The sender's address, encoded")
    side = models.CharField(max_length=4, choices=Side.choices)
    from_token = models.BinaryField(null=True, help_text="Encoded; null: the pool's, by side")
    to_token = models.BinaryField(null=True, help_text="Encoded; null: the pool's, by side")
    from_token_amount = ExactDecimalField()
    to_token_amount = ExactDecimalField()
    price_from_in_currency_token = ExactDecimalField(null=True, blank=True)
    price_to_in_currency_token = ExactDecimalField(null=True, blank=True)
    price_from_in_usd = ExactDecimalField(null=True, blank=True)
    price_to_in_usd = ExactDecimalField(null=True, blank=True)
    volume_usd = ExactDecimalField()

    class Meta:
        constraints = [
            # Dedupes the API's repeats, and serves the per-pool newest-first reads (the trades
            # continuity check, the admin, the API) as a backward index scan.
            models.UniqueConstraint(
                fields=["pool", "block_timestamp", "event_index", "tx_key"],
                name="uq_trade_pool_time_key",
            )
        ]

    def __str__(self) -> str:
        return self.trade_id

    @property
    def trade_id(self) -> str:
        return trade_layout.trade_id(self)

    @property
    def tx_hash(self) -> str:
        return trade_layout.decode(self.tx)

    @property
    def tx_from_address(self) -> str:
        return trade_layout.decode(self.tx_from)

    @property
    def from_token_address(self) -> str:
        return trade_layout.token_addresses(self)[0]

    @property
    def to_token_address(self) -> str:
        return trade_layout.token_addresses(self)[1]


class Gap(models.Model):
    """A time range of a (pool, timeframe) never fetched, or trades the API may have dropped."""

    class Status(models.TextChoices):
        OPEN = "open"
        FILLED = "filled"
        UNFILLABLE = "unfillable"

    TRADES = "trades"

    pool = models.ForeignKey(Pool, on_delete=models.CASCADE, related_name="gaps", db_index=False)
    timeframe = models.CharField(
        max_length=6,
        choices=[*Timeframe.choices, (TRADES, "trades")],
        help_text="A candle timeframe, or 'trades' for a possible trade gap",
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, db_default=Status.OPEN)
    reason = models.CharField(max_length=255, blank=True, db_default="")
    attempts = models.PositiveIntegerField(db_default=0)
    detected_at = models.DateTimeField(db_default=Now())
    resolved_at = models.DateTimeField(null=True, blank=True)
    # A gap the API will not fill waits longer after each backfill that left it open, and is
    # given up after the same answer N times (collectors.services.gaps.note_answer).
    misses = models.PositiveIntegerField(
        db_default=0, help_text="Backfills that ended with the gap still open"
    )
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="No backfill is queued before this time (backoff)"
    )
    last_answer = models.CharField(
        max_length=255, blank=True, db_default="", help_text="What the API said the last time"
    )
    same_answers = models.PositiveIntegerField(
        db_default=0, help_text="Backfills in a row that got that same answer"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["pool", "timeframe", "start"], name="uq_gap_pool_tf_start"
            ),
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="ck_gap_end_after_start"
            ),
        ]
        indexes = [
            # collectors.gaps: the open gaps to backfill, oldest first.
            models.Index(fields=["detected_at"], condition=Q(status="open"), name="ix_gap_open"),
        ]

    def __str__(self) -> str:
        span = f"{self.start:%Y-%m-%d %H:%M}→{self.end:%Y-%m-%d %H:%M}"
        return f"{self.pool_id} {self.timeframe} {span} {self.status}"


class CandleCoverage(models.Model):
    """A time range of one (pool, timeframe) for which we hold the API's full answer.

    Ranges are half-open [start, end) and kept disjoint and merged (marketdata.coverage). A
    missing candle inside a covered range is a quiet interval; a range never covered between
    two covered ones is a gap.
    """

    pool = models.ForeignKey(
        Pool, on_delete=models.CASCADE, related_name="coverage", db_index=False
    )
    timeframe = models.CharField(max_length=3, choices=Timeframe.choices)
    start = models.DateTimeField()
    end = models.DateTimeField()

    class Meta:
        constraints = [
            # marketdata.coverage: the ranges of a (pool, timeframe) in time order.
            models.UniqueConstraint(
                fields=["pool", "timeframe", "start"], name="uq_coverage_pool_tf_start"
            ),
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="ck_coverage_end_after_start"
            ),
        ]

    def __str__(self) -> str:
        span = f"[{self.start:%Y-%m-%d %H:%M}, {self.end:%Y-%m-%d %H:%M})"
        return f"{self.pool_id} {self.timeframe} {span}"


class HistoryStart(models.Model):
    """Where the API's candles of one (pool, timeframe) begin, as an answer of the API showed.

    A short or empty OHLCV page proves there is nothing older (the pool's first trade, or the
    plan's history depth); remembering it means no later backfill asks again, and a gap older
    than it is unfillable for a stated reason rather than after a count of tries.
    """

    pool = models.ForeignKey(
        Pool, on_delete=models.CASCADE, related_name="history_starts", db_index=False
    )
    timeframe = models.CharField(max_length=3, choices=Timeframe.choices)
    starts_at = models.DateTimeField(help_text="Open time of the oldest candle the API serves")
    found_at = models.DateTimeField(help_text="When an answer last showed it")

    class Meta:
        constraints = [
            # collectors.services.backfill: the start of one (pool, timeframe), and the plan's
            # bulk read of the starts of many pools.
            models.UniqueConstraint(fields=["pool", "timeframe"], name="uq_historystart_pool_tf")
        ]

    def __str__(self) -> str:
        return f"{self.pool_id} {self.timeframe} from {self.starts_at:%Y-%m-%d %H:%M}"


class ArchivedMonth(models.Model):
    """A month of a partitioned table written to Parquet, verified, and dropped from the
    database (marketdata.archive); readers find its rows in ``path``."""

    table = models.CharField(max_length=64, help_text="marketdata_candle or marketdata_trade")
    month = models.DateField(help_text="The first day of the month archived (UTC)")
    path = models.CharField(max_length=500, help_text="The Parquet file, under the archive dir")
    rows = models.BigIntegerField()
    checksum = models.CharField(max_length=64, help_text="blake2b of the rows, as written")
    archived_at = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["table", "month"], name="uq_archivedmonth_table_month")
        ]
        ordering = ["table", "month"]

    def __str__(self) -> str:
        return f"{self.table} {self.month:%Y-%m} ({self.rows:,} rows)"
