"""String renderings that mimic GeckoTerminal: decimals as long JSON strings, ISO ``Z`` times.

The real API serialises ``BigDecimal`` values, so prices carry dozens of digits; using the
exact binary expansion of a float reproduces that without inventing digits.
"""

from __future__ import annotations

import math
import time
from decimal import Decimal


def _plain(d: Decimal) -> str:
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0")
        if text.endswith("."):
            text += "0"
    else:
        text += ".0"
    return text


def long_decimal(x: float) -> str:
    """The exact decimal expansion of a float: ~45–70 significant digits like the API's prices."""
    if x == 0 or not math.isfinite(x):
        return "0.0"
    return _plain(Decimal(x))


def sig_decimal(x: float, digits: int = 15) -> str:
    """``x`` rounded to ``digits`` significant digits, in plain (never scientific) notation."""
    if x == 0 or not math.isfinite(x):
        return "0.0"
    return _plain(Decimal(f"{x:.{digits}g}"))


def fixed(x: float, places: int) -> str:
    """Fixed decimals, e.g. ``reserve_in_usd`` with 4 places ("0.0" for an empty pool)."""
    return f"{x:.{places}f}" if x else "0.0"


def percent(x: float) -> str:
    """Price change with at most 3 decimals and no trailing zeros ("-16.322", "0")."""
    text = f"{round(x, 3):.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def amount(x: float, decimals: int) -> str:
    """A token amount quantised to the token's decimals ("2.505487036", "2241000.0")."""
    return _plain(Decimal(f"{x:.{decimals}f}"))


def iso(ts: float) -> str:
    """Epoch seconds as ``2025-08-20T21:40:53Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(ts)))
