"""The API key (GECKO_API_KEY) appears in no log line, admin page, CollectionRun, alert or
error text — through a real keyed collection against the simulator, with faults, and with a
key the API refuses.
"""

from __future__ import annotations

import logging
import uuid

import pytest
from django.contrib import admin
from django.core import mail
from django.core.management import CommandError
from django.urls import NoReverseMatch, reverse

from alerts import conditions
from alerts.engine import evaluate
from alerts.models import Incident
from collectors.models import CollectionRun
from marketdata.models import Candle
from tests.collect_command import collect as run_collect
from tests.collect_command import forgiving, unthrottled, watchlist_csv
from tests.collector_setup import configured
from tests.marketdata.factories import dex

pytestmark = pytest.mark.django_db


@pytest.fixture
def key() -> str:
    """Distinctive, and made at run time so no committed file holds it."""
    return "CG-" + uuid.uuid4().hex.upper()[:24]


@pytest.fixture
def keyed_api(settings, simulator_factory, key, tmp_path):
    running = simulator_factory(api_key=key, plan="demo")
    settings.GECKO_API_PLAN, settings.GECKO_API_KEY = "demo", key
    unthrottled(settings, f"{running.sim_url}/api/v3/onchain")
    forgiving(settings)
    settings.ALERT_EMAILS = ["ops@example.com"]
    settings.GECKO_ALERT_FAILED_RUNS = 1
    dex("pumpswap", is_target=True)
    configured(ohlcv_pages_per_fetch=1, ohlcv_timeframes=["1h"])
    pools = running.world()["pools"]["pumpswap"][:2]
    return running, watchlist_csv(tmp_path / "watchlist.csv", pools)


def collect(*args: str) -> str:
    """Everything the command said, its error's text too."""
    try:
        out, err = run_collect(*args)
    except CommandError as exc:
        return "\n".join((str(exc), *exc.output))
    return out + err


def everything_logged(caplog) -> str:
    parts = [caplog.text]
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.append(repr(record.args))
        parts.append(repr(record.__dict__))
    return "\n".join(parts)


def admin_pages(client) -> str:
    pages = []
    for model in admin.site._registry:
        meta = model._meta
        try:
            url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        except NoReverseMatch:
            continue
        pages.append(client.get(url).content.decode())
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk])
            pages.append(client.get(change).content.decode())
    return "\n".join(pages)


def test_the_key_never_leaks(keyed_api, key, caplog, admin_client, settings, simulator_factory):
    running, csv = keyed_api
    for name in ("", "httpx", "httpcore", "urllib3", "requests", "collectors", "celery"):
        caplog.set_level(logging.DEBUG, logger=name or None)
    running.add_fault("500", count=1, path_contains="ohlcv")  # retried, then served
    running.add_fault("bad_json", count=1, path_contains="trades")

    texts = [collect("all", "--sync", "--csv", csv)]
    assert Candle.objects.exists(), "the keyed collection worked: the key was sent"

    # The API refuses our key now: every call fails with 401 and its error text is recorded.
    refusing = simulator_factory(api_key="another-" + uuid.uuid4().hex, plan="demo")
    settings.GECKO_API_URL = f"{refusing.sim_url}/api/v3/onchain"
    texts.append(collect("all", "--sync", "--csv", csv))
    failed = CollectionRun.objects.filter(status=CollectionRun.Status.FAILED)
    assert failed.exists() and any("401" in r.detail for r in failed), [r.detail for r in failed]

    evaluate([conditions.failing_tasks])
    assert Incident.objects.exists() and mail.outbox

    texts.append(everything_logged(caplog))
    texts.extend(repr(row) for row in CollectionRun.objects.values())
    texts.extend(repr(row) for row in Incident.objects.values())
    texts.extend(f"{m.subject}\n{m.body}" for m in mail.outbox)
    pages = admin_pages(admin_client)
    assert "401" in pages, "the admin showed the failed runs' error text"
    texts.append(pages)
    texts.append(admin_client.get("/api/v1/runs/").content.decode())
    leaked = [t[max(0, t.find(key) - 200) : t.find(key) + 50] for t in texts if key in t]
    assert leaked == [], leaked

    # The check itself can fail: a key logged anywhere is found.
    logging.getLogger("collectors").debug("header %s", key)
    assert key in everything_logged(caplog)
