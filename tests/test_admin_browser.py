"""The admin in a real browser (Debian's headless Chromium through Selenium): log in, find the
pool's chart drawn (at 1m and 1d: prices above zero, volume in its own pane, no marker labels),
see the operations overview, preview a watchlist CSV upload, see the backfill plan's primary
button, and open every changelist and add form at 1,400 px without sideways scrolling.

Screenshots go to tests/artifacts/ (git-ignored). `make test` installs chromium and
chromium-driver first (`make browser`); without them the test is skipped, except in CI.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from collectors.gecko.ratelimit import RateLimiter
from collectors.models import CollectionRun
from marketdata.models import Candle, CandleCoverage, Gap, Pool
from marketdata.store import upsert_candles, upsert_trades
from marketdata.timeframes import Timeframe
from tests.admin_rows import one_of_everything, wide_rows  # noqa: F401  (fixtures)
from tests.marketdata.factories import dex, network, token
from watchlist.models import WatchlistEntry

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).parent / "artifacts"
PASSWORD = "browser-test-password"
CANDLES = 160
HOLE = 6  # hours of the open gap, which hold no candles
UP_COLOR = (0x26, 0xA6, 0x9A)  # pool_chart.js upColor
WATCHED = "EKpQGSJtjMFqKZ9KQanSqYXRcF8fBopzLHYxdM65zcjm"

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser():
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        reason = "Debian's chromium and chromium-driver are not installed (run `make browser`)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="gecko-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    ARTIFACTS.mkdir(exist_ok=True)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def seed_pool() -> Pool:
    """A pool with a random-walk-looking hour chart, trades in its last bars and an open gap."""
    base = token(symbol="BONK", name="Bonk")
    quote = token("So11111111111111111111111111111111111111112", symbol="SOL", name="Wrapped SOL")
    pool = Pool.objects.create(
        network=network(),
        address="7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP",
        name="BONK / SOL",
        dex=dex(name="PumpSwap"),
        base_token=base,
        quote_token=quote,
        reserve_in_usd="1834221.55",
        volume_usd_h24="912345.123456789",
        last_seen_at=timezone.now(),
    )
    hour = Timeframe.H1
    newest = hour.floor(timezone.now())
    first = newest - (CANDLES - 1) * hour.delta
    rows, price = [], 0.0000215
    for i in range(CANDLES):
        drift = math.sin(i / 9) * 0.03 + math.cos(i / 4.3) * 0.02
        open_, close = price, price * (1 + drift)
        rows.append(
            {
                "pool_id": pool.pk,
                "timeframe": "1h",
                "ts": first + i * hour.delta,
                "open": open_,
                "high": max(open_, close) * 1.012,
                "low": min(open_, close) * 0.988,
                "close": close,
                "volume_usd": 20_000 + 15_000 * abs(math.sin(i / 5)),
                "is_final": i < CANDLES - 1,
            }
        )
        price = close
    upsert_candles(rows)
    trades = []
    for i in range(24):
        moment = newest - timedelta(minutes=37 * i + 5)
        side = "buy" if i % 3 else "sell"
        trades.append(
            {
                "trade_id": f"solana_{i}_tx{i}_0_{int(moment.timestamp())}",
                "pool_id": pool.pk,
                "block_number": 1000 + i,
                "block_timestamp": moment,
                "tx_hash": f"tx{i:060d}",
                "tx_from_address": "",
                "side": side,
                "from_token_address": quote.address,
                "to_token_address": base.address,
                "from_token_amount": "1",
                "to_token_amount": "2",
                "price_from_in_currency_token": None,
                "price_to_in_currency_token": None,
                "price_from_in_usd": "0.0000215",
                "price_to_in_usd": "0.0000215",
                "volume_usd": str(150 + 40 * i),
            }
        )
    upsert_trades(trades)
    hole_start, hole_end = first + 60 * hour.delta, first + (60 + HOLE) * hour.delta
    Candle.objects.filter(pool=pool, ts__gte=hole_start, ts__lt=hole_end).delete()
    Gap.objects.create(pool=pool, timeframe="1h", start=hole_start, end=hole_end)
    CandleCoverage.objects.create(pool=pool, timeframe="1h", start=first, end=hole_start)
    CandleCoverage.objects.create(
        pool=pool, timeframe="1h", start=hole_end, end=newest + hour.delta
    )
    return pool


def seed_operations() -> None:
    now = timezone.now()
    for task, status, items, calls, minutes in (
        ("collectors.tasks.fetch_ohlcv", "ok", 42, 1, 1),
        ("collectors.tasks.fetch_trades", "ok", 17, 1, 2),
        ("collectors.tasks.sync_watchlist", "warning", 3, 0, 9),
        ("collectors.tasks.backfill_ohlcv", "failed", 0, 2, 30),
        ("collectors.tasks.scan_gaps", "ok", 0, 0, 5),
    ):
        run = CollectionRun.objects.create(
            task=task, status=status, items_written=items, api_calls=calls, detail="demo"
        )
        CollectionRun.objects.filter(pk=run.pk).update(
            started_at=now - timedelta(minutes=minutes),
            finished_at=now - timedelta(minutes=minutes) + timedelta(seconds=2),
        )
    limiter = RateLimiter()
    for lane in ("live", "live", "backfill"):
        limiter.acquire(lane)


def log_in(driver, live_server) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    User.objects.create_superuser("operator", "op@example.com", PASSWORD)
    driver.get(f"{live_server.url}/admin/login/")
    driver.find_element(By.NAME, "username").send_keys("operator")
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    # Logged in before the caller navigates: a get() at once could cut the login short.
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "user-tools"))
    # The navigation sidebar folded: the screenshots show the pages' own content.
    driver.execute_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")


def up_colored_pixels(driver) -> int:
    """Pixels of the candle's up colour on the chart's canvases: candles were drawn."""
    return driver.execute_script(
        """
        const [r, g, b] = arguments[0];
        let count = 0;
        for (const canvas of document.querySelectorAll('#pool-chart canvas')) {
          const ctx = canvas.getContext('2d');
          if (!ctx || !canvas.width || !canvas.height) continue;
          const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
          for (let i = 0; i < data.length; i += 4) {
            if (Math.abs(data[i] - r) < 8 && Math.abs(data[i + 1] - g) < 8
                && Math.abs(data[i + 2] - b) < 8 && data[i + 3] > 200) count++;
          }
        }
        return count;
        """,
        list(UP_COLOR),
    )


def test_an_operator_sees_the_chart_the_overview_and_a_csv_upload_preview(
    browser, live_server, redis_client, tmp_path
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    pool = seed_pool()
    seed_operations()
    WatchlistEntry.objects.create(
        pool_address="4w2cysotX6czaUGmmWg13hDpY4QEMG2CzeKYEQyK9Ama",
        symbol="TROLL",
        source=WatchlistEntry.Source.CSV,
    )
    # An entry added in the admin and linked to its pool: the planner has demand to show, and
    # a CSV upload leaves it alone.
    watched = Pool.objects.create(
        network=pool.network, address=WATCHED, name="WIF / SOL", dex=pool.dex
    )
    WatchlistEntry.objects.create(pool_address=WATCHED, symbol="WIF", pool=watched)
    wait = WebDriverWait(browser, 30)
    log_in(browser, live_server)
    wait.until(ec.presence_of_element_located((By.ID, "operations-overview")))

    overview = browser.find_element(By.ID, "operations-overview").text
    assert "backfill_ohlcv" in overview and "calls in the last minute" in overview
    assert "live 2, backfill 1" in overview
    assert "calls/min needed" in overview and "watchlist 1 pools: needs" in overview
    browser.save_screenshot(str(ARTIFACTS / "admin-overview.png"))

    browser.get(f"{live_server.url}/admin/marketdata/pool/{pool.pk}/change/")
    chart = browser.find_element(By.ID, "pool-chart")
    wait.until(lambda d: chart.get_attribute("data-candles"))
    assert chart.get_attribute("data-candles") == str(CANDLES - HOLE)
    assert browser.find_elements(By.CSS_SELECTOR, "#pool-chart canvas")
    wait.until(lambda d: up_colored_pixels(d) > 200)
    status = browser.find_element(By.ID, "pool-chart-status").text
    assert f"{CANDLES - HOLE} candles" in status and "1 open gaps" in status
    assert "trade markers" in status and not status.startswith("0 trade")
    coverage = browser.find_element(By.CSS_SELECTOR, ".pool-summary").text
    assert "1h" in coverage
    browser.execute_script(
        "document.querySelector('#pool-chart').closest('fieldset').scrollIntoView()"
    )
    browser.execute_script("window.scrollTo(0, 0)")
    browser.save_screenshot(str(ARTIFACTS / "pool-chart.png"))

    csv = tmp_path / "watchlist.csv"
    csv.write_text(
        "tokenSymbol,tokenName,chain,dex,poolAddress,networkAddress\n"
        "BONK,Bonk,SOL,PumpSwap,7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP,\n"
        "X,X,ETH,uniswap,5UUH9RTDiSpq6HKS6bp4NdU9PNJpXRXuiw6ShBTBhgH2,\n"
        "Y,Y,SOL,PumpSwap,not-a-pool,\n"
    )
    browser.get(f"{live_server.url}/admin/watchlist/watchlistentry/")
    browser.find_element(By.CSS_SELECTOR, ".object-tools a[href$='/upload-csv/']").click()
    browser.find_element(By.NAME, "csv_file").send_keys(str(csv))
    browser.find_element(By.CSS_SELECTOR, "#upload-form input[type=submit]").click()
    wait.until(ec.presence_of_element_located((By.ID, "upload-report")))

    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#upload-report tbody tr")]
    assert rows == [
        "add 7bqJG2ZdMKbEkgSmfuqNVBvqEvWavgL8UEo33ZqdL3NP new pool",
        "deactivate 4w2cysotX6czaUGmmWg13hDpY4QEMG2CzeKYEQyK9Ama not in the file any more",
        "reject line 3 unknown chain 'ETH' (known: sol, solana)",
        "reject line 4 poolAddress 'not-a-pool' is not a base58 address of 32–44 chars",
    ]
    browser.save_screenshot(str(ARTIFACTS / "watchlist-upload-preview.png"))
    assert WatchlistEntry.objects.count() == 2

    browser.find_element(By.ID, "upload-apply").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "ul.messagelist")))
    active = WatchlistEntry.objects.filter(active=True).values_list("pool_address", flat=True)
    assert set(active) == {pool.address, WATCHED}


OVERFLOW = """
    const page = document.documentElement;
    const results = document.querySelector('#changelist .results');
    return {
      page: page.scrollWidth, window: page.clientWidth,
      list: results ? results.scrollWidth : 0, room: results ? results.clientWidth : 0,
    };
"""


def overflow(driver, page: str) -> list[str]:
    """Horizontal scrolling: the page wider than the window, or the result list than its room."""
    widths = driver.execute_script(OVERFLOW)
    too_wide = widths["page"] > widths["window"] or widths["list"] > widths["room"]
    return [f"{page} scrolls sideways: {widths}"] if too_wide else []


def admin_pages(request) -> list[tuple[str, str]]:
    """(name, path) of every registered model's changelist, and of its add form where
    ``request``'s user may add."""
    from django.contrib import admin
    from django.urls import reverse

    pages = []
    for model, model_admin in sorted(admin.site._registry.items(), key=lambda m: m[0]._meta.label):
        name = f"{model._meta.app_label}_{model._meta.model_name}"
        pages.append((f"changelist-{name}", reverse(f"admin:{name}_changelist")))
        if model_admin.has_add_permission(request):
            pages.append((f"add-{name}", reverse(f"admin:{name}_add")))
    return pages


@pytest.mark.usefixtures("wide_rows")
def test_every_changelist_and_add_form_fits_1400px_with_the_sidebar_open(browser, live_server):
    """A new operator's screen: 1,400 px, Django's navigation sidebar open (its default), rows
    as long as production writes them (tests/admin_rows.py). One screenshot per page."""
    from django.test import RequestFactory
    from selenium.webdriver.common.by import By

    log_in(browser, live_server)
    browser.execute_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'true')")
    request = RequestFactory().get("/admin/")
    request.user = User.objects.get(username="operator")
    problems = []
    for name, path in admin_pages(request):
        browser.get(f"{live_server.url}{path}")
        assert browser.find_element(By.ID, "nav-sidebar").is_displayed(), name
        problems += overflow(browser, name)
        if name.startswith("add-"):
            if "DatabaseDefault" in browser.page_source:
                problems.append(f"{name} shows a DatabaseDefault object")
            if not browser.find_elements(By.CSS_SELECTOR, "input[name=_save]"):
                problems.append(f"{name} has no save button")
        browser.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    assert not problems, "\n".join(problems)


def seed_minutes_and_days(pool: Pool) -> None:
    """300 minute candles, and 8 daily candles of a memecoin that lost 99% of its price (the
    1d chart whose price axis ran below zero, to -0.001)."""
    now = timezone.now()
    rows = []
    for timeframe, count in (("1m", 300), ("1d", 8)):
        tf = Timeframe(timeframe)
        newest = tf.floor(now)
        price = 0.0072 if timeframe == "1d" else 0.0000215
        for i in range(count):
            close = price * (0.55 if timeframe == "1d" else 1 + math.sin(i / 7) * 0.01)
            rows.append(
                {
                    "pool_id": pool.pk,
                    "timeframe": timeframe,
                    "ts": newest - (count - 1 - i) * tf.delta,
                    "open": price,
                    "high": max(price, close) * 1.03,
                    "low": min(price, close) * 0.97,
                    "close": close,
                    "volume_usd": 5_000 + 900 * i,
                    "is_final": i < count - 1,
                }
            )
            price = close
    upsert_candles(rows)


CHART_STATE = """
    const {chart, candles, volume, markers} = document.getElementById('pool-chart').poolChart;
    const pane = candles.getPane();
    return {
      bottom: candles.coordinateToPrice(pane.getHeight() - 1),  // the pane's last pixel row
      candlesPane: candles.getPane().paneIndex(),
      volumePane: volume.getPane().paneIndex(),
      labels: markers.markers().filter((m) => m.text).length,
      markers: markers.markers().length,
      legend: document.getElementById('pool-chart-legend').textContent,
    };
"""


@pytest.mark.parametrize("timeframe", ["1m", "1d"])
def test_the_chart_keeps_prices_above_zero_and_volume_off_the_candles(
    browser, live_server, timeframe
):
    from selenium.webdriver.support.ui import Select, WebDriverWait

    pool = seed_pool()
    seed_minutes_and_days(pool)
    log_in(browser, live_server)
    browser.get(f"{live_server.url}/admin/marketdata/pool/{pool.pk}/change/")
    chart = browser.find_element("id", "pool-chart")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: chart.get_attribute("data-candles"))
    Select(browser.find_element("id", "pool-chart-timeframe")).select_by_value(timeframe)
    candles = "300" if timeframe == "1m" else "8"
    wait.until(lambda d: chart.get_attribute("data-candles") == candles)
    wait.until(lambda d: up_colored_pixels(d) > 50 or timeframe == "1d")

    state = browser.execute_script(CHART_STATE)
    assert state["bottom"] is not None and state["bottom"] >= 0, state
    assert state["volumePane"] != state["candlesPane"], "volume bars have a pane of their own"
    assert state["labels"] == 0, "marker labels covered the candles and the last price"
    assert "O " in state["legend"] and "vol $" in state["legend"], state
    browser.execute_script(
        "document.querySelector('#pool-chart').closest('fieldset').scrollIntoView()"
    )
    browser.save_screenshot(str(ARTIFACTS / f"pool-chart-{timeframe}.png"))


BUTTON_COLORS = """
    const color = (id) => getComputedStyle(document.getElementById(id)).backgroundColor;
    return {queue: color('backfill-queue'), recalculate: color('backfill-recalculate')};
"""


def test_the_backfill_plan_page_makes_queueing_the_primary_button(browser, live_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    pool = seed_pool()
    log_in(browser, live_server)
    browser.get(f"{live_server.url}/admin/marketdata/pool/")
    browser.find_element(By.CSS_SELECTOR, f"input.action-select[value='{pool.pk}']").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("backfill_selected")
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()

    # The plan page is computed on the server: on a loaded CI host it can take a few seconds.
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.ID, "backfill-queue"))
    queue = browser.find_element(By.ID, "backfill-queue")
    assert queue.text.startswith("Queue ") and queue.text.endswith(" backfill tasks")
    colors = browser.execute_script(BUTTON_COLORS)
    assert colors["queue"] == "rgb(32, 80, 103)", "the admin's default button (--default-button-bg)"
    assert colors["recalculate"] == "rgb(116, 116, 116)", "a secondary one (--close-button-bg)"
    assert not overflow(browser, "backfill plan")
    browser.save_screenshot(str(ARTIFACTS / "backfill-plan.png"))
