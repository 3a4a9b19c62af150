"""Adding a pool to the watchlist in the admin takes its address and nothing else."""

from __future__ import annotations

import pytest
from django.urls import reverse

from watchlist.models import WatchlistEntry

pytestmark = pytest.mark.django_db
ADDRESS = "7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP"
ADD = "admin:watchlist_watchlistentry_add"


def just_an_address(client) -> dict:
    """The add form as a browser posts it when only the address is typed in: every other
    field as the form shows it."""
    form = client.get(reverse(ADD)).context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.get_initial_for_field(field, name)
        if value is True:
            data[name] = "on"
        elif value not in (None, False, ""):
            data[name] = value
    return {**data, "pool_address": ADDRESS, "_save": "Save"}


def test_the_add_form_shows_no_database_default_object(admin_client):
    page = admin_client.get(reverse(ADD))
    html = page.content.decode()
    assert page.status_code == 200
    assert "DatabaseDefault" not in html and "object at 0x" not in html
    assert 'name="pool_address"' in html
    assert 'name="source"' not in html, "an entry added here is the admin's"


def test_saving_just_an_address_adds_an_admin_entry(admin_client):
    response = admin_client.post(reverse(ADD), just_an_address(admin_client))

    assert response.status_code == 302, response.content.decode()[:3000]
    entry = WatchlistEntry.objects.get()
    assert (entry.pool_address, entry.network, entry.active) == (ADDRESS, "solana", True)
    assert entry.source == WatchlistEntry.Source.ADMIN
    assert entry.added_at is not None


def test_a_new_entry_is_listed_by_its_short_address_until_its_details_arrive(admin_client):
    saved = admin_client.post(reverse(ADD), just_an_address(admin_client), follow=True)
    listed = admin_client.get(reverse("admin:watchlist_watchlistentry_changelist"))

    assert str(WatchlistEntry.objects.get()) == "7bqJG2…L3NP"
    [message] = [str(m) for m in saved.context["messages"]]
    assert ">7bqJG2…L3NP</a>” was added" in message
    row = listed.content.decode().split("<tbody>")[1].split("</tr>")[0]
    assert "7bqJG2…L3NP" in row and "?" not in row
