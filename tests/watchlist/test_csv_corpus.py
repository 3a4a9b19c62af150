"""Bad watchlist CSVs: each gets an error that names the problem, and no good row is lost.

The sync's dangerous failure is silent: a file read while it is rewritten (empty, header only,
cut mid-row) must never deactivate the pools it merely failed to show.
"""

from __future__ import annotations

import random
import time

import pytest

from watchlist.csv_format import WatchlistFormatError, parse_watchlist
from watchlist.models import WatchlistEntry
from watchlist.sync import sync_watchlist_file

pytestmark = pytest.mark.django_db

HEADER = "tokenSymbol,tokenName,chain,dex,poolAddress,networkAddress\n"
POOL_A = "7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP"
TOKEN_A = "5LKHMd2rMSRaG9y4iHwSLRtrJ3dCrJ2CytvBeak8pump"
POOL_B = "4w2cysotX6czaUGmmWg13hDpY4QEMG2CzeKYEQyK9Ama"
TOKEN_B = "5UUH9RTDiSpq6HKS6bp4NdU9PNJpXRXuiw6ShBTBhgH2"
POOL_C = "9vqYJjDUFecLL2xPUC4Rc7hyCtZ6iJ4mDiVZX7aFXoAe"
GOOD_A = f"CBRL,Cracker Barrel,SOL,PumpSwap,{POOL_A},{TOKEN_A}\n"
GOOD_B = f"TROLL,TROLL,SOL,PumpSwap,{POOL_B},{TOKEN_B}\n"
GOOD_C = f"CCC,Third,SOL,Raydium,{POOL_C},\n"

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

# (name, file body after the header, the error's words, pools that must import)
ROW_CASES = [
    ("missing field", f"X,X,SOL,PumpSwap,{POOL_C}\n" + GOOD_A, "5 fields, expected 6", [POOL_A]),
    (
        "extra field",
        f"X,X,SOL,d,{POOL_C},{TOKEN_B},oops\n" + GOOD_A,
        "7 fields, expected 6",
        [POOL_A],
    ),
    ("duplicate row", GOOD_A + GOOD_B + GOOD_A, "repeats line 2", [POOL_A, POOL_B]),
    ("invalid base58 pool", "X,X,SOL,d,0OIl" + "1" * 40 + ",\n" + GOOD_A, "not a base58", [POOL_A]),
    (
        "invalid base58 token",
        f"X,X,SOL,d,{POOL_C},abc0\n" + GOOD_A,
        "networkAddress (token)",
        [POOL_A],
    ),
    (
        "pool equals token",
        f"X,X,SOL,d,{POOL_C},{POOL_C}\n" + GOOD_A,
        "equals poolAddress",
        [POOL_A],
    ),
    ("empty pool", "X,X,SOL,d,,\n" + GOOD_A, "poolAddress is empty", [POOL_A]),
    ("unknown chain", f"X,X,ETH,d,{POOL_C},\n" + GOOD_A, "unknown chain 'ETH'", [POOL_A]),
]


@pytest.fixture
def csv_path(tmp_path):
    path = tmp_path / "watchlist.csv"

    def write(body: str, *, header: str = HEADER, raw: bytes | None = None):
        path.write_bytes(raw if raw is not None else (header + body).encode())
        return path

    return write


def active_pools() -> set[str]:
    return set(WatchlistEntry.objects.filter(active=True).values_list("pool_address", flat=True))


@pytest.mark.parametrize(
    ("body", "words", "good"), [c[1:] for c in ROW_CASES], ids=[c[0] for c in ROW_CASES]
)
def test_a_bad_row_is_named_and_the_good_rows_import(csv_path, body, words, good):
    report = sync_watchlist_file(csv_path(body))

    assert any(words in str(e) for e in report.errors), report.errors
    assert active_pools() == set(good)


def test_a_utf8_bom_is_not_part_of_the_first_column(csv_path):
    path = csv_path("", raw=b"\xef\xbb\xbf" + (HEADER + GOOD_A).encode())

    report = sync_watchlist_file(path)

    assert report.errors == [] and active_pools() == {POOL_A}


def test_semicolon_separators_are_named(csv_path):
    header = HEADER.replace(",", ";")
    with pytest.raises(WatchlistFormatError, match="separated by ';'"):
        sync_watchlist_file(csv_path(GOOD_A.replace(",", ";"), header=header))


def test_a_missing_header_column_is_named(csv_path):
    header = "tokenSymbol,tokenName,chain,dex,poolAddress\n"
    with pytest.raises(WatchlistFormatError, match="missing column.*networkAddress"):
        sync_watchlist_file(csv_path(f"X,X,SOL,d,{POOL_A}\n", header=header))


def test_an_extra_header_column_is_ignored_and_counted_in_row_errors(csv_path):
    header = HEADER.rstrip("\n") + ",notes\n"
    body = GOOD_A.rstrip("\n") + ",hello\n" + f"X,X,SOL,d,{POOL_C},,n,surplus\n"

    report = sync_watchlist_file(csv_path(body, header=header))

    assert [str(e) for e in report.errors] == ["line 3: 8 fields, expected 7"]
    assert active_pools() == {POOL_A}


def test_a_bad_row_does_not_deactivate_the_pool_it_names(csv_path):
    sync_watchlist_file(csv_path(GOOD_A + GOOD_B))

    report = sync_watchlist_file(
        csv_path(GOOD_A + f"TROLL,TROLL,ETH,PumpSwap,{POOL_B},{TOKEN_B}\n")
    )

    assert any("unknown chain" in str(e) for e in report.errors)
    assert report.deactivated == [] and active_pools() == {POOL_A, POOL_B}


def test_a_vanished_file_raises_and_changes_nothing(csv_path):
    path = csv_path(GOOD_A + GOOD_B)
    sync_watchlist_file(path)
    path.unlink()

    with pytest.raises(FileNotFoundError):
        sync_watchlist_file(path)
    assert active_pools() == {POOL_A, POOL_B}


@pytest.mark.parametrize(
    "raw", [b"", HEADER.encode(), HEADER.encode()[:20]], ids=["empty", "header only", "cut header"]
)
def test_an_emptied_file_never_deactivates_everything(csv_path, raw):
    path = csv_path(GOOD_A + GOOD_B)
    sync_watchlist_file(path)

    with pytest.raises(WatchlistFormatError, match="no usable row|missing column"):
        sync_watchlist_file(csv_path("", raw=raw))
    assert active_pools() == {POOL_A, POOL_B}


def test_a_half_written_file_deactivates_nothing(csv_path):
    """A file cut mid-row: the partial row is an error, not a removal of the rows after it."""
    sync_watchlist_file(csv_path(GOOD_A + GOOD_B + GOOD_C))
    whole = (HEADER + GOOD_A + GOOD_B).encode()

    report = sync_watchlist_file(csv_path("", raw=whole[: len(whole) - 30]))

    assert any("half-written" in str(e) for e in report.errors), report.errors
    assert report.deactivated == [] and active_pools() == {POOL_A, POOL_B, POOL_C}


def test_a_complete_file_without_a_final_newline_still_removes_rows(csv_path):
    sync_watchlist_file(csv_path(GOOD_A + GOOD_B))

    report = sync_watchlist_file(csv_path(GOOD_A.rstrip("\n")))

    assert report.errors == [] and report.deactivated == [POOL_B]


def test_ten_thousand_rows_import_quickly(csv_path):
    rng = random.Random(11)
    lines = []
    for n in range(10_000):
        pool = "".join(rng.choice(B58) for _ in range(44))
        lines.append(f"T{n},Token {n},SOL,dex,{pool},\n")
    path = csv_path("".join(lines))

    started = time.monotonic()
    report = sync_watchlist_file(path)
    elapsed = time.monotonic() - started

    assert len(report.added) == 10_000 and report.errors == []
    assert WatchlistEntry.objects.filter(active=True).count() == 10_000
    assert elapsed < 30, f"10,000 rows took {elapsed:.1f}s"

    started = time.monotonic()
    again = sync_watchlist_file(path, force=True)
    assert again.added == [] and again.deactivated == []
    assert time.monotonic() - started < 30


def test_parse_reports_not_utf8():
    with pytest.raises(WatchlistFormatError, match="not UTF-8"):
        parse_watchlist(HEADER.encode() + b"\xff\xfe,\n")
