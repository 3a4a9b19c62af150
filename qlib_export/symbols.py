"""QLib instrument names for pools: stable, unique, and safe under QLib's lower-casing.

QLib lower-cases an instrument for its feature directory and ``dump_bin.py`` upper-cases it in
``instruments/all.txt``, while Solana (base58) addresses are case-sensitive: two pools whose
addresses differ only in case would fold into one. The symbol is therefore

    <address in lower case>_<case mask>

where the case mask is the set of positions holding an upper-case letter, as a base-32 integer
(bit i = character i; digits 0-9a-v). It is a pure function of the address, so it never depends on
which other pools are exported (incremental exports stay consistent), it is unique by construction
(the address is recoverable from it: :func:`address_for`), and every form QLib may show it in
(upper or lower case) names the same pool.
"""

from __future__ import annotations

import re

from geckoproject.csv_cells import neutralise

_SAFE_ADDRESS = re.compile(r"[A-Za-z0-9.-]+")
_DIGITS = "0123456789abcdefghijklmnopqrstuv"


def symbol_for(address: str) -> str:
    """The lower-case symbol of a pool address; raises ValueError on unsafe characters.

    A symbol never starts with a character a spreadsheet evaluates (geckoproject.csv_cells):
    it is QLib's instrument name, also in CSV cells QLib reads back, so it cannot be quoted.
    """
    if not _SAFE_ADDRESS.fullmatch(address):
        raise ValueError(f"pool address {address!r} has characters unsafe in a QLib symbol")
    if neutralise(address) != address:
        raise ValueError(
            f"pool address {address!r} starts with {address[0]!r}, which a spreadsheet "
            "reads as a formula; it cannot be a QLib symbol"
        )
    mask = sum(1 << i for i, char in enumerate(address) if char.isupper())
    return f"{address.lower()}_{_base32(mask)}"


def address_for(symbol: str) -> str:
    """The exact pool address a symbol (in any letter case) was made from."""
    lower, _, suffix = symbol.lower().rpartition("_")
    mask = int(suffix, 32)
    return "".join(c.upper() if mask >> i & 1 else c for i, c in enumerate(lower))


def qlib_name(symbol: str) -> str:
    """How ``instruments/all.txt`` spells the symbol: upper case, as QLib's dump_bin.py does."""
    return symbol.upper()


def _base32(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 32)
        digits = _DIGITS[rest] + digits
        if not number:
            return digits
