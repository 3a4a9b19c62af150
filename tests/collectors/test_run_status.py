"""Run status tells the truth: a sync that rejected rows is WARNING (and says why, in the list),
and a sync of an unchanged file leaves no row."""

from __future__ import annotations

import pytest
from django.urls import reverse

from collectors import tasks
from collectors.models import CollectionRun
from watchlist.models import WatchlistEntry

pytestmark = pytest.mark.django_db

HEADER = "tokenSymbol,tokenName,chain,dex,poolAddress,networkAddress\n"
GOOD = "CBRL,Cracker Barrel,SOL,PumpSwap,7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP,\n"
BAD_CHAIN = "X,X,ETH,uniswap,4w2cysotX6czaUGmmWg13hDpY4QEMG2CzeKYEQyK9Ama,\n"
BAD_ADDRESS = "Y,Y,SOL,PumpSwap,not-an-address,\n"


@pytest.fixture
def csv_path(tmp_path):
    path = tmp_path / "watchlist.csv"

    def write(*rows: str) -> str:
        path.write_text(HEADER + "".join(rows))
        return str(path)

    return write


def sync(path: str) -> None:
    tasks.sync_watchlist.apply(kwargs={"csv": path}).get()


def test_good_rows_imported_and_bad_rows_rejected_make_a_warning(csv_path, redis_client):
    sync(csv_path(GOOD, BAD_CHAIN, BAD_ADDRESS))

    run = CollectionRun.objects.get()
    assert run.status == CollectionRun.Status.WARNING
    assert WatchlistEntry.objects.count() == 1
    assert "line 3: unknown chain 'ETH'" in run.detail
    assert "line 4: poolAddress 'not-an-address'" in run.detail


def test_a_clean_file_is_ok(csv_path, redis_client):
    sync(csv_path(GOOD))
    assert CollectionRun.objects.get().status == CollectionRun.Status.OK


def test_an_unchanged_file_records_no_run(csv_path, redis_client):
    path = csv_path(GOOD, BAD_CHAIN)
    sync(path)
    sync(path)
    sync(path)

    assert CollectionRun.objects.count() == 1


def test_warnings_are_a_filter_and_their_reasons_show_in_the_list(
    admin_client, csv_path, redis_client
):
    sync(csv_path(GOOD, BAD_CHAIN))
    CollectionRun.objects.create(task="collectors.tasks.fetch_trades", status="ok", detail="fine")
    url = reverse("admin:collectors_collectionrun_changelist")

    response = admin_client.get(url, {"status__exact": "warning"})

    assert [r.task for r in response.context["cl"].result_list] == [
        "collectors.tasks.sync_watchlist"
    ]
    html = response.content.decode()
    assert "1 bad rows — line 3: unknown chain &#x27;ETH&#x27;" in html
    assert "warning (done, but some input was rejected" in html
