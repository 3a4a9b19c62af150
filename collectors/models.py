"""Collector configuration (edited in the admin) and the record of every collection run."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Now

from marketdata.timeframes import ALL_TIMEFRAMES, Timeframe


def default_timeframes() -> list[str]:
    return list(ALL_TIMEFRAMES)


def default_watchlist_csv() -> str:
    return settings.GECKO_WATCHLIST_CSV


# Minutes the newest candles of a timeframe may age before they are fetched again. A trader
# wants the short timeframes fresh; these sit where ~1,000 pools fit the free tier
# (docs/capacity.md): 1m every 2 h costs 12 calls a pool a day, and the rest ~10 calls together.
DEFAULT_FRESHNESS_MINUTES = {
    "1m": 120,
    "5m": 360,
    "15m": 720,
    "1h": 1440,
    "4h": 1440,
    "12h": 1440,
    "1d": 1440,
}


def default_freshness() -> dict[str, int]:
    return dict(DEFAULT_FRESHNESS_MINUTES)


class CollectorConfig(models.Model):
    """What to collect for one network. Read at every tick, so an edit applies without restart.

    The DEXes to monitor are the ``Dex`` rows marked ``is_target`` (a new target is a row).
    """

    network = models.CharField(max_length=64, default="solana")
    ohlcv_timeframes = ArrayField(
        models.CharField(max_length=3, choices=Timeframe.choices),
        default=default_timeframes,
        help_text="Comma-separated, any of 1m,5m,15m,1h,4h,12h,1d",
    )
    include_empty_intervals = models.BooleanField(
        default=False, help_text="Ask the API to fill quiet intervals with flat zero-volume bars"
    )
    min_trade_usd = models.DecimalField(
        max_digits=20,
        decimal_places=2,
        default=Decimal("100"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Only trades above this USD volume are collected",
    )
    top_pool_pages = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="Pages of 20 top pools per target DEX (the public API serves at most 10)",
    )
    trade_budget_per_cycle = models.PositiveIntegerField(
        default=20,
        validators=[MinValueValidator(1)],
        help_text="Pools `collect trades --sync` polls per run (Celery uses the planner)",
    )
    ohlcv_pages_per_fetch = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1)],
        help_text="Pages a live OHLCV fetch may read back; anything older becomes a gap",
    )
    backfill_tasks_per_run = models.PositiveIntegerField(
        default=10, help_text="Gaps queued for backfill per gap scan"
    )
    watchlist_csv = models.CharField(max_length=500, default=default_watchlist_csv)
    freshness_minutes = models.JSONField(
        default=default_freshness,
        help_text="Per timeframe, minutes its newest candles may age before a fetch, e.g. "
        '{"1m": 120, "5m": 360}; a timeframe left out keeps its default',
    )
    reserve_share = models.FloatField(
        default=0.15,
        validators=[MinValueValidator(0.0), MaxValueValidator(0.9)],
        help_text="Share of the API budget the planner leaves to backfill and retries",
    )
    plan_tick_seconds = models.PositiveIntegerField(
        default=60,
        validators=[MinValueValidator(10), MaxValueValidator(3600)],
        help_text="How often the planner runs; set the 'plan collection' schedule to match",
    )
    top_pools_collected = models.BooleanField(
        default=False,
        help_text="Collect OHLCV and trades of the top pools of target DEXes from leftover budget",
    )
    top_pools_collected_size = models.PositiveIntegerField(
        default=100, help_text="How many top pools (by 24h volume) get OHLCV and trades"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["network"], name="uq_collectorconfig_network")
        ]

    def __str__(self) -> str:
        return f"Collector config for {self.network}"

    def clean(self) -> None:
        bad = [tf for tf in self.ohlcv_timeframes if tf not in ALL_TIMEFRAMES]
        if bad:
            raise ValidationError(
                {"ohlcv_timeframes": f"Unknown timeframe(s) {bad}; use {','.join(ALL_TIMEFRAMES)}"}
            )
        if len(set(self.ohlcv_timeframes)) != len(self.ohlcv_timeframes):
            raise ValidationError({"ohlcv_timeframes": "A timeframe is listed twice."})
        self._clean_freshness()

    def _clean_freshness(self) -> None:
        value = self.freshness_minutes
        if not isinstance(value, dict):
            raise ValidationError({"freshness_minutes": 'Give an object, e.g. {"1m": 120}.'})
        for tf, minutes in value.items():
            if tf not in ALL_TIMEFRAMES:
                known = ",".join(ALL_TIMEFRAMES)
                raise ValidationError(
                    {"freshness_minutes": f"Unknown timeframe {tf!r}; use {known}"}
                )
            if isinstance(minutes, bool) or not isinstance(minutes, int | float) or minutes < 1:
                raise ValidationError({"freshness_minutes": f"{tf}: give whole minutes ≥ 1."})

    def freshness_seconds(self) -> dict[str, float]:
        """Freshness target per timeframe in seconds, defaults filling what the row leaves out."""
        merged = {**DEFAULT_FRESHNESS_MINUTES, **(self.freshness_minutes or {})}
        return {tf: float(minutes) * 60 for tf, minutes in merged.items() if tf in ALL_TIMEFRAMES}

    @classmethod
    def current(cls, network: str | None = None) -> CollectorConfig:
        """The row for ``network`` (default: settings.GECKO_NETWORK), created with defaults."""
        config, _ = cls.objects.get_or_create(network=network or settings.GECKO_NETWORK)
        return config


class CollectionRun(models.Model):
    """One task run. Flower forgets on restart; this table is the history operators query."""

    class Status(models.TextChoices):
        RUNNING = "running"
        OK = "ok"
        WARNING = "warning", "warning (done, but some input was rejected: see detail)"
        FAILED = "failed"
        WAITING = "waiting", "waiting (rate limit, circuit breaker or API faults; retried later)"
        EXPIRED = "expired", "expired (its retry could not run in time; the next plan re-queues it)"

    task = models.CharField(max_length=100)
    arguments = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(db_default=Now())
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    items_written = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(
        default=0,
        help_text="API calls that failed (5xx, 429, throttle, timeout, bad JSON...), retried or "
        "not; the last error texts are in the detail",
    )
    throttled = models.PositiveIntegerField(
        default=0, help_text="Of the failed calls, those the API throttled (429 or a throttle body)"
    )
    detail = models.TextField(blank=True, help_text="Summary, or the error text on failure")
    correlation_id = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="The Celery task id: on every log line of the run, kept across its retries",
    )
    worker = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="The Celery worker (name@host) that ran it last, or the host of a command",
    )

    class Meta:
        indexes = [
            # admin changelist and `collect` reports: newest runs of a task first.
            models.Index(fields=["task", "-started_at"], name="ix_run_task_started"),
            # collectors.runs.tracking: a retry finds its waiting row; operators grep logs -> run.
            models.Index(
                fields=["correlation_id"],
                condition=~models.Q(correlation_id=""),
                name="ix_run_correlation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task} {self.started_at:%Y-%m-%d %H:%M:%S} {self.status}"


class TradeCursor(models.Model):
    """Per-pool trade collection state, for fair rotation and continuity checks."""

    pool = models.OneToOneField("marketdata.Pool", on_delete=models.CASCADE, primary_key=True)
    last_planned_at = models.DateTimeField(
        null=True, blank=True, help_text="Last cycle that chose this pool (drives rotation)"
    )
    last_collected_at = models.DateTimeField(null=True, blank=True)
    last_full_page_at = models.DateTimeField(
        null=True, blank=True, help_text="Last time the API returned its full 300 trades"
    )
    trades_per_day = models.FloatField(
        null=True,
        blank=True,
        help_text="Trades above the min-USD filter per day, estimated at the last poll (planner)",
    )

    def __str__(self) -> str:
        return f"trades of {self.pool_id} @ {self.last_collected_at}"
