"""The watchlist: which pools we collect OHLCV and trades for.

``pool_address`` is the API's pool ``id`` (minus the network prefix); ``token_address`` is the
pool's ``base_token_id``. They are different things and are never interchanged.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from marketdata.display import short_address

# Solana addresses: base58 (no 0, O, I, l). EVM networks would need their own pattern.
ADDRESS_RE = re.compile(r"[1-9A-HJ-NP-Za-km-z]{32,44}")


# An entry the API did not know is asked about again after this long, not every minute.
DETAILS_RETRY = timedelta(hours=1)


class WatchlistEntryQuerySet(models.QuerySet):
    def collected_pool_ids(self, network: str) -> list[int]:
        """Pools the collectors work on: active entries whose Pool is known."""
        return list(
            self.filter(network=network, active=True, pool__isnull=False)
            .values_list("pool_id", flat=True)
            .distinct()
        )

    def needing_details(self, network: str) -> WatchlistEntryQuerySet:
        """Active entries with no Pool yet, not looked up within DETAILS_RETRY."""
        recent = timezone.now() - DETAILS_RETRY
        return self.filter(network=network, active=True, pool__isnull=True).filter(
            Q(details_checked_at__isnull=True) | Q(details_checked_at__lt=recent)
        )


class WatchlistEntry(models.Model):
    class Source(models.TextChoices):
        CSV = "csv"
        ADMIN = "admin"

    network = models.CharField(max_length=64, default="solana", db_default="solana")
    pool_address = models.CharField(max_length=128, help_text="The pool's address (API pool id)")
    token_address = models.CharField(
        max_length=128,
        blank=True,
        db_default="",
        help_text="The pool's base token address (API base_token_id)",
    )
    symbol = models.CharField(max_length=64, blank=True, db_default="")
    name = models.CharField(max_length=256, blank=True, db_default="")
    dex = models.CharField(
        max_length=128, blank=True, db_default="", help_text="DEX slug or name, e.g. pumpswap"
    )
    pool = models.ForeignKey(
        "marketdata.Pool",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="watchlist_entries",
        help_text="Filled in once the pool's details are fetched",
    )
    active = models.BooleanField(default=True, db_default=True)
    source = models.CharField(max_length=5, choices=Source.choices, db_default=Source.ADMIN)
    added_at = models.DateTimeField(db_default=Now())
    removed_at = models.DateTimeField(null=True, blank=True)
    details_checked_at = models.DateTimeField(
        null=True, blank=True, help_text="Last time the API was asked for this pool's details"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = WatchlistEntryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "watchlist entries"
        constraints = [
            models.UniqueConstraint(
                fields=["network", "pool_address"], name="uq_watchlist_network_pool"
            )
        ]
        indexes = [
            # collectors planners: the active entries, every tick.
            models.Index(fields=["network"], condition=Q(active=True), name="ix_watchlist_active"),
        ]

    def __str__(self) -> str:
        """The symbol and the short address; the address alone until the details arrive."""
        state = "" if self.active else " (inactive)"
        label = " ".join(filter(None, (self.symbol, short_address(self.pool_address))))
        return f"{label}{state}"

    def clean(self) -> None:
        """Reject a token address typed where the pool address belongs (or vice versa)."""
        for field in ("pool_address", "token_address"):
            value = getattr(self, field)
            if value and not ADDRESS_RE.fullmatch(value):
                raise ValidationError({field: f"{value!r} is not a base58 address of 32–44 chars."})
        if self.token_address and self.token_address == self.pool_address:
            raise ValidationError(
                {"token_address": "Equals the pool address; give the pool's base token address."}
            )


class WatchlistFile(models.Model):
    """The last content seen of a watchlist CSV; an unchanged hash means nothing to do."""

    path = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64)
    synced_at = models.DateTimeField()
    rows = models.PositiveIntegerField(default=0)
    errors = models.TextField(blank=True, help_text="Rows rejected at the last sync, one a line")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["path"], name="uq_watchlistfile_path")]

    def __str__(self) -> str:
        return f"{self.path} ({self.sha256[:12]})"
