"""Text cells for CSV files people open in spreadsheets, made safe from formula injection.

Pool, token and DEX names come from the API, so anyone can name a token ``=HYPERLINK(...)``;
Excel, LibreOffice and Google Sheets evaluate a cell starting with ``= + - @``, a tab or a
carriage return. Such a cell gets a leading apostrophe, which spreadsheets show as text and
never evaluate (OWASP's advice). Only text cells go through here: a negative number in a
numeric column must stay a number. QLib's own files (calendars, ``instruments/*.txt``) are
not spreadsheets and never go through here either: QLib must read the names as they are.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """``text``, or ``'text`` when a spreadsheet would read it as a formula (idempotent)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
