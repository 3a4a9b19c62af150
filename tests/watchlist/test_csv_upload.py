"""The watchlist CSV upload: a preview (added, deactivated, rejected with reasons) that writes
nothing, then "apply"; and the activate / deactivate actions."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from watchlist.models import WatchlistEntry

pytestmark = pytest.mark.django_db

HEADER = "tokenSymbol,tokenName,chain,dex,poolAddress,networkAddress\n"
NEW = "CBRL,Cracker Barrel,SOL,PumpSwap,7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP,\n"
KEPT = "TROLL,TROLL,SOL,PumpSwap,4w2cysotX6czaUGmmWg13hDpY4QEMG2CzeKYEQyK9Ama,\n"
BAD = "X,X,ETH,uniswap,5UUH9RTDiSpq6HKS6bp4NdU9PNJpXRXuiw6ShBTBhgH2,\n"
LEAVING = "GoneGoneGoneGoneGoneGoneGoneGoneGone1"
URL = "admin:watchlist_watchlistentry_upload"


@pytest.fixture
def entries():
    csv = WatchlistEntry.Source.CSV
    WatchlistEntry.objects.create(
        pool_address="4w2cysotX6czaUGmmWg13hDpY4QEMG2CzeKYEQyK9Ama", symbol="TROLL", source=csv
    )
    WatchlistEntry.objects.create(pool_address=LEAVING, symbol="GONE", source=csv)
    WatchlistEntry.objects.create(pool_address="AdminAdminAdminAdminAdminAdminAdmin1")


def upload(admin_client, text: str):
    file = SimpleUploadedFile("watchlist.csv", text.encode(), content_type="text/csv")
    return admin_client.post(reverse(URL), {"csv_file": file})


def test_the_preview_lists_added_removed_and_rejected_rows_and_writes_nothing(
    admin_client, entries
):
    before = list(WatchlistEntry.objects.values_list("pool_address", "active", "symbol"))

    response = upload(admin_client, HEADER + NEW + KEPT + BAD)

    report = response.context["report"]
    assert report.added == ["7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP"]
    assert report.deactivated == [LEAVING]
    assert [(e.line, e.message) for e in report.errors] == [
        (4, "unknown chain 'ETH' (known: sol, solana)")
    ]
    html = response.content.decode()
    assert "1 to add" in html and "1 to deactivate" in html and "1 rejected" in html
    assert "unknown chain &#x27;ETH&#x27;" in html
    assert list(WatchlistEntry.objects.values_list("pool_address", "active", "symbol")) == before


def test_apply_imports_what_the_preview_showed(admin_client, entries):
    preview = upload(admin_client, HEADER + NEW + KEPT + BAD)

    response = admin_client.post(reverse(URL), {"apply": "1", "sha256": preview.context["sha256"]})

    assert response.status_code == 302
    active = set(WatchlistEntry.objects.filter(active=True).values_list("pool_address", flat=True))
    assert active == {
        "7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP",
        "4w2cysotX6czaUGmmWg13hDpY4QEMG2CzeKYEQyK9Ama",
        "AdminAdminAdminAdminAdminAdminAdmin1",
    }
    assert not WatchlistEntry.objects.get(pool_address=LEAVING).active


def test_apply_without_a_preview_changes_nothing(admin_client, entries):
    response = admin_client.post(reverse(URL), {"apply": "1", "sha256": "0" * 64})

    assert response.status_code == 302
    assert WatchlistEntry.objects.filter(active=True).count() == 3


def test_a_file_without_the_header_is_refused_with_the_reason(admin_client, entries):
    response = upload(admin_client, "a,b\n1,2\n")

    assert "missing column(s) tokenSymbol" in response.content.decode()
    assert "report" not in response.context


def test_the_changelist_links_to_the_upload(admin_client):
    html = admin_client.get(reverse("admin:watchlist_watchlistentry_changelist")).content.decode()
    assert reverse(URL) in html


def test_deactivate_and_activate_actions(admin_client, entries):
    entry = WatchlistEntry.objects.get(symbol="TROLL")
    changelist = reverse("admin:watchlist_watchlistentry_changelist")

    admin_client.post(changelist, {"action": "deactivate", ACTION_CHECKBOX_NAME: [entry.pk]})
    entry.refresh_from_db()
    assert not entry.active and entry.removed_at is not None

    admin_client.post(changelist, {"action": "reactivate", ACTION_CHECKBOX_NAME: [entry.pk]})
    entry.refresh_from_db()
    assert entry.active and entry.removed_at is None
