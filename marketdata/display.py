"""How numbers and times read in admin lists: a few significant digits, UTC to the second.

List columns are for scanning, so values are compact; the detail page keeps every digit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

EMPTY = "—"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_SUFFIXES = ((Decimal("1e12"), "T"), (Decimal("1e9"), "B"), (Decimal("1e6"), "M"), (1000, "K"))


def compact(value: float | Decimal | int | None, digits: int = 4) -> str:
    """``1234567.8`` → ``1.235M``, ``0.000012345678`` → ``1.235e-05``, ``None`` → ``—``."""
    if value is None:
        return EMPTY
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        return str(number)
    for scale, suffix in _SUFFIXES:
        if abs(number) >= scale:
            return f"{float(number / scale):.{digits}g}{suffix}"
    return f"{float(number):.{digits}g}"


def short_address(address: str) -> str:
    """``7bqJG2…L3NP``: a list column has no room for 44 characters."""
    return address if len(address) <= 12 else f"{address[:6]}…{address[-4:]}"


def utc(moment: datetime | None) -> str:
    """An aware time as ``2026-11-30 19:05:07`` (UTC); ``—`` when unset."""
    if moment is None:
        return EMPTY
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def age(seconds: float | None) -> str:
    """``42s``, ``7m``, ``3h 05m``, ``2d 04h``: how old, at a glance."""
    if seconds is None:
        return EMPTY
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"
