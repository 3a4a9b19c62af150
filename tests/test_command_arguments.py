"""Every management command refuses a bad option with an error naming it, before it acts.

The success paths of each command are tested with the command's own feature; this is the
table of wrong inputs, one row per option that takes a value.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.authtoken.models import Token

from marketdata.models import Network
from tests.marketdata import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_serving(monkeypatch):
    """A simulator started by an accepted option would serve forever: fail instead."""

    def refuse(*args, **kwargs):
        raise AssertionError("the simulator started despite a bad option")

    monkeypatch.setattr("simulator.management.commands.gecko_simulator.serve_until_signal", refuse)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fault-rate", "1.5"], "--fault-rate 1.5: give a share between 0 and 1"),
        (["--fault-rate", "-0.1"], "--fault-rate -0.1: give a share between 0 and 1"),
        (["--fault-rate", "lots"], "argument --fault-rate: invalid float value"),
        (["--rate-per-min", "-1"], "--rate-per-min -1: give 0 \\(no limit\\) or more"),
        (["--monthly-credit", "-1"], "--monthly-credit -1: give 0 or more"),
        (["--port", "70000"], "--port 70000: give a TCP port, 0..65535"),
        (["--port", "-1"], "--port -1: give a TCP port, 0..65535"),
        (["--clock-speed", "0"], "--clock-speed must be > 0"),
        (["--epoch", "-5"], "--epoch -5: give epoch seconds, 0 or more"),
        (["--cache-seconds", "-1"], "--cache-seconds -1.0: give 0 \\(no cache\\) or more"),
        (["--seed", "x"], "argument --seed: invalid int value"),
        (["--pools", "0"], "--pools 0: give 1 or more"),
        (["--plan", "gold"], "argument --plan: invalid choice: 'gold'"),
    ],
)
def test_gecko_simulator_refuses(no_serving, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("gecko_simulator", *args)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nothing"], "argument step: invalid choice: 'nothing'"),
        ([], "the following arguments are required: step"),
    ],
)
def test_collect_refuses(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("collect", *args)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--days", "many"], "argument --days: invalid int value"),
        (["--days", "-3"], "--days -3: give at least 1 day"),
        (["--days", "100000000"], "--days 100000000: reaches before year 1"),
        (["--since", "2025-13-01"], "--since '2025-13-01' is not an ISO date"),
        (["--timeframe", "2m"], "unknown timeframe 2m"),
    ],
)
def test_backfill_ohlcv_refuses(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("backfill_ohlcv", *args, "--no-progress", stdout=io.StringIO())


@pytest.mark.parametrize("network", ["", "Sol Ana!", "solana;drop"])
def test_seed_schedules_refuses_a_malformed_network(network):
    with pytest.raises(CommandError, match="--network .* is not a network id"):
        call_command("seed_schedules", "--network", network, stdout=io.StringIO())
    assert not Network.objects.filter(slug=network).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "the following arguments are required: --out"),
        (["--out", "x", "--format", "xls"], "argument --format: invalid choice: 'xls'"),
        (["--out", "x", "--all", "--end", "later"], "--end 'later' is not an ISO-8601"),
    ],
)
def test_export_qlib_refuses(args, message):
    factories.pool()
    with pytest.raises(CommandError, match=message):
        call_command("export_qlib", *args, stdout=io.StringIO())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "the following arguments are required: username"),
        ([""], "give a user name"),
        (["two words"], "'two words' is not a valid user name"),
    ],
)
def test_create_api_user_refuses(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_api_user", *args, stdout=io.StringIO(), stderr=io.StringIO())
    assert not Token.objects.exists()


@pytest.mark.parametrize(
    "env", [{}, {"ADMIN_USER": "admin"}, {"ADMIN_PASSWORD": "x"}], ids=["none", "no pw", "no user"]
)
def test_ensure_admin_refuses_without_its_environment(monkeypatch, env):
    for name in ("ADMIN_USER", "ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(CommandError, match="Set ADMIN_USER and ADMIN_PASSWORD"):
        call_command("ensure_admin", stdout=io.StringIO())


def test_backup_refuses_an_output_under_a_file(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(CommandError, match="a-file"):
        call_command("backup", "--out", str(blocker / "x.dump"), stdout=io.StringIO())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "the following arguments are required: file"),
        (["x.dump"], "run again with --yes"),
        (["/no/such/file.dump", "--yes"], "no such backup file"),
    ],
)
def test_restore_refuses(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("restore", *args, stdout=io.StringIO())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pool", "NoSuchPool"], "no such pool: NoSuchPool"),
        (["--timeframe", "2h"], "unknown timeframe\\(s\\) 2h: choose from"),
        (["--timeframe"], "argument --timeframe: expected at least one argument"),
    ],
)
def test_audit_refuses(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("audit", *args, stdout=io.StringIO())
