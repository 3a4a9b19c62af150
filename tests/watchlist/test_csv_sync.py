"""Watchlist CSV import: change detection, add, remove (history kept), bad rows per row."""

from __future__ import annotations

import pytest

from marketdata import store
from marketdata.models import Candle
from tests.marketdata.factories import candle_rows, pool
from watchlist.csv_format import WatchlistFormatError, parse_watchlist
from watchlist.models import WatchlistEntry
from watchlist.sync import sync_watchlist_file

pytestmark = pytest.mark.django_db

HEADER = "tokenSymbol,tokenName,chain,dex,poolAddress,networkAddress\n"
CBRL = (
    '"CBRL","Cracker Barrel","SOL","PumpSwap",'
    '"7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP","5LKHMd2rMSRaG9y4iHwSLRtrJ3dCrJ2CytvBeak8pump"\n'
)
TROLL = (
    '"TROLL","TROLL","SOL","PumpSwap",'
    '"4w2cysotX6czaUGmmWg13hDpY4QEMG2CzeKYEQyK9Ama","5UUH9RTDiSpq6HKS6bp4NdU9PNJpXRXuiw6ShBTBhgH2"\n'
)


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "watchlist.csv"

    def write(*lines: str):
        path.write_text(HEADER + "".join(lines))
        return path

    return write


def test_it_adds_the_pools_of_a_new_file(csv_file):
    report = sync_watchlist_file(csv_file(CBRL, TROLL))

    assert len(report.added) == 2
    cbrl = WatchlistEntry.objects.get(symbol="CBRL")
    assert cbrl.pool_address == "7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP"
    assert cbrl.token_address == "5LKHMd2rMSRaG9y4iHwSLRtrJ3dCrJ2CytvBeak8pump"
    assert (cbrl.network, cbrl.source, cbrl.active) == ("solana", "csv", True)


def test_an_unchanged_file_is_skipped_by_its_hash(csv_file):
    path = csv_file(CBRL)
    sync_watchlist_file(path)
    WatchlistEntry.objects.update(symbol="EDITED")

    report = sync_watchlist_file(path)

    assert not report.changed
    assert WatchlistEntry.objects.get().symbol == "EDITED"


def test_a_removed_row_deactivates_its_entry_and_keeps_its_history(csv_file):
    sync_watchlist_file(csv_file(CBRL, TROLL))
    p = pool("7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP")
    store.upsert_candles(candle_rows(p.pk, 5))

    report = sync_watchlist_file(csv_file(TROLL))

    assert report.deactivated == ["7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP"]
    cbrl = WatchlistEntry.objects.get(symbol="CBRL")
    assert not cbrl.active and cbrl.removed_at is not None
    assert Candle.objects.filter(pool=p).count() == 5


def test_a_row_that_comes_back_is_reactivated(csv_file):
    sync_watchlist_file(csv_file(CBRL))
    sync_watchlist_file(csv_file(TROLL))

    report = sync_watchlist_file(csv_file(CBRL, TROLL))

    assert report.reactivated == ["7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP"]
    assert WatchlistEntry.objects.filter(active=True).count() == 2


def test_admin_added_entries_are_not_touched_by_the_file(csv_file):
    WatchlistEntry.objects.create(
        pool_address="7SWbVXmn2Ar8CqAdVZfQmZcCGmnChRp2JTfuEzyBL17V", source="admin"
    )
    sync_watchlist_file(csv_file(CBRL))
    assert WatchlistEntry.objects.get(source="admin").active


def test_an_empty_pool_address_is_reported(csv_file):
    report = sync_watchlist_file(csv_file('"X","x","SOL","x","",""\n', CBRL))
    assert [str(e) for e in report.errors] == ["line 2: poolAddress is empty"]
    assert WatchlistEntry.objects.count() == 1


def test_malformed_rows_are_reported_one_by_one_while_good_rows_import(csv_file):
    path = csv_file(
        CBRL,
        '"BAD","Bad chain","DOGE","x","4w2cysotX6czaUGmmWg13hDpY4QEMG2CzeKYEQyK9Ama",""\n',
        '"SHORT","too few"\n',
        '"ZERO","O and 0 are not base58","SOL","x","0OOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOO",""\n',
        '"SWAP","token equals pool","SOL","x","4w2cysotX6czaUGmmWg13hDpY4QEMG2CzeKYEQyK9Ama",'
        '"4w2cysotX6czaUGmmWg13hDpY4QEMG2CzeKYEQyK9Ama"\n',
        '"EXTRA","a","SOL","x","4w2cysotX6czaUGmmWg13hDpY4QEMG2CzeKYEQyK9Ama","","surplus"\n',
        CBRL,
        TROLL,
    )

    report = sync_watchlist_file(path)

    messages = [str(e) for e in report.errors]
    assert [e.line for e in report.errors] == [3, 4, 5, 6, 7, 8]
    assert "unknown chain 'DOGE'" in messages[0]
    assert "2 fields, expected 6" in messages[1]
    assert "not a base58 address" in messages[2]
    assert "equals poolAddress" in messages[3]
    assert "7 fields, expected 6" in messages[4]
    assert "repeats line 2" in messages[5]
    assert sorted(WatchlistEntry.objects.values_list("symbol", flat=True)) == ["CBRL", "TROLL"]


def test_a_file_without_the_expected_header_is_rejected_as_a_whole():
    with pytest.raises(WatchlistFormatError, match="missing column"):
        parse_watchlist(b"symbol,pool\nCBRL,7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP\n")


def test_pool_and_token_addresses_are_never_swapped():
    parsed = parse_watchlist((HEADER + CBRL).encode())
    row = parsed.rows[0]
    assert row.pool_address == "7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP"
    assert row.token_address == "5LKHMd2rMSRaG9y4iHwSLRtrJ3dCrJ2CytvBeak8pump"
