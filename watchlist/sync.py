"""Bring WatchlistEntry rows in line with the watchlist CSV.

Adds new pools, reactivates pools that come back, deactivates CSV pools that left the file
(collection stops; their history stays), and leaves admin-added entries alone. Bad rows are
reported one by one while the good rows import. An unchanged file (same SHA-256) is skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from .csv_format import (
    ParsedWatchlist,
    RowError,
    WatchlistFormatError,
    WatchlistRow,
    parse_watchlist,
)
from .models import WatchlistEntry, WatchlistFile

logger = logging.getLogger(__name__)


@dataclass
class SyncReport:
    path: str
    changed: bool = True
    added: list[str] = field(default_factory=list)
    reactivated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def summary(self) -> str:
        if not self.changed:
            return f"{self.path}: unchanged"
        return (
            f"{self.path}: {len(self.added)} added, {len(self.reactivated)} reactivated, "
            f"{len(self.deactivated)} deactivated, {len(self.updated)} updated, "
            f"{len(self.errors)} bad rows"
        )


def sync_watchlist_file(path: str | Path, *, force: bool = False) -> SyncReport:
    """Import ``path``. Raises OSError / WatchlistFormatError when the file cannot be used.

    A file with no usable row is refused rather than read as "remove every pool": an emptied
    or half-rewritten file must not stop collection (remove pools in the admin instead)."""
    path = str(path)
    data = Path(path).read_bytes()
    parsed = _parse_usable(data)
    report = SyncReport(path=path, errors=parsed.errors)
    previous = WatchlistFile.objects.filter(path=path).first()
    if previous and previous.sha256 == parsed.sha256 and not force:
        report.changed = False
        return report
    for error in parsed.errors:
        logger.warning("watchlist %s: %s", path, error)
    with transaction.atomic():
        _apply(parsed, report)
        WatchlistFile.objects.update_or_create(
            path=path,
            defaults={
                "sha256": parsed.sha256,
                "synced_at": timezone.now(),
                "rows": len(parsed.rows),
                "errors": "\n".join(str(e) for e in parsed.errors),
            },
        )
    logger.info("watchlist %s", report.summary())
    return report


@dataclass
class Changes:
    """What a set of rows would change: computed by ``diff``, written by ``_apply``."""

    create: list[WatchlistRow] = field(default_factory=list)
    update: list[tuple[int, dict]] = field(default_factory=list)  # (entry pk, changed fields)
    leaving: list[WatchlistEntry] = field(default_factory=list)


def diff(parsed: ParsedWatchlist, report: SyncReport, *, lock: bool = False) -> Changes:
    """Compare the file's rows with the entries, filling ``report``'s lists; writes nothing.

    The admin's CSV upload shows this as its preview before anything is applied. A file cut
    short deactivates nothing, and neither does a bad row for the pool it names."""
    rows = parsed.rows
    entries = WatchlistEntry.objects.select_for_update() if lock else WatchlistEntry.objects.all()
    existing = {(e.network, e.pool_address): e for e in entries}
    changes = Changes()
    for row in rows:
        entry = existing.get((row.network, row.pool_address))
        details = {
            "token_address": row.token_address,
            "symbol": row.symbol,
            "name": row.name,
            "dex": row.dex,
        }
        if entry is None:
            changes.create.append(row)
            report.added.append(row.pool_address)
            continue
        changed = {k: v for k, v in details.items() if v and getattr(entry, k) != v}
        if not entry.active:
            changed.update(active=True, removed_at=None, source=WatchlistEntry.Source.CSV)
            report.reactivated.append(row.pool_address)
        elif changed:
            report.updated.append(row.pool_address)
        if changed:
            changes.update.append((entry.pk, changed))
    if parsed.cut_short:
        return changes
    in_file = {(r.network, r.pool_address) for r in rows}
    changes.leaving = [
        e
        for key, e in existing.items()
        if key not in in_file
        and e.active
        and e.source == WatchlistEntry.Source.CSV
        and e.pool_address not in parsed.named_by_bad_rows
    ]
    report.deactivated.extend(e.pool_address for e in changes.leaving)
    return changes


def preview_watchlist(data: bytes, name: str) -> SyncReport:
    """What importing ``data`` would add, reactivate, update, deactivate and reject (no writes).

    Raises WatchlistFormatError when the file as a whole cannot be read."""
    parsed = _parse_usable(data)
    report = SyncReport(path=name, errors=parsed.errors)
    diff(parsed, report)
    return report


def apply_watchlist(data: bytes, name: str) -> SyncReport:
    """Import ``data`` as a sync of a file would (an upload from the admin), whatever its hash."""
    parsed = _parse_usable(data)
    report = SyncReport(path=name, errors=parsed.errors)
    with transaction.atomic():
        _apply(parsed, report)
    logger.info("watchlist upload %s", report.summary())
    return report


def _parse_usable(data: bytes) -> ParsedWatchlist:
    """Parse ``data``; a file with no usable row is refused rather than read as "remove every
    pool": an emptied or half-rewritten file must not stop collection."""
    parsed = parse_watchlist(data)
    if not parsed.rows:
        raise WatchlistFormatError(
            f"no usable row ({len(parsed.errors)} bad); refusing to deactivate every entry"
        )
    return parsed


def _apply(parsed: ParsedWatchlist, report: SyncReport) -> None:
    now = timezone.now()
    changes = diff(parsed, report, lock=True)
    WatchlistEntry.objects.bulk_create(
        [
            WatchlistEntry(
                network=row.network,
                pool_address=row.pool_address,
                source=WatchlistEntry.Source.CSV,
                active=True,
                token_address=row.token_address,
                symbol=row.symbol,
                name=row.name,
                dex=row.dex,
            )
            for row in changes.create
        ],
        batch_size=1000,
    )
    for pk, changed in changes.update:
        WatchlistEntry.objects.filter(pk=pk).update(updated_at=now, **changed)
    WatchlistEntry.objects.filter(pk__in=[e.pk for e in changes.leaving]).update(
        active=False, removed_at=now, updated_at=now
    )
