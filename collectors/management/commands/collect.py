"""Run a collection step now (``--sync``, in this process) or enqueue it for the workers.

``--sync`` names its API target first and stops at once, with one line, when the target cannot
be reached (issue 16); the other steps would only fail the same way."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from collectors import tasks
from collectors.gecko.errors import Unreachable
from collectors.inprocess import run_step
from collectors.models import CollectorConfig
from collectors.planner import service as planner
from collectors.planner.text import render
from geckoproject.progress import say

ORDER = ("dexes", "top_pools", "watchlist", "ohlcv", "trades", "gaps")
PLANNERS = {
    "dexes": tasks.collect_dexes,
    "top_pools": tasks.plan_top_pools,
    "watchlist": tasks.sync_watchlist,
    "ohlcv": tasks.plan_collection,  # queued: the budget planner decides what is due
    "trades": tasks.plan_collection,
    "gaps": tasks.scan_gaps,
}


class Command(BaseCommand):
    help = (
        "Collect dexes, top pools, the watchlist, OHLCV, trades or gaps (or all, in order); "
        "`plan` prints demand against the API budget and queues nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("step", choices=[*ORDER, "all", "plan"])
        parser.add_argument("--sync", action="store_true", help="run here and wait, not on Celery")
        parser.add_argument("--csv", help="watchlist CSV to read instead of the configured one")

    def handle(self, *args, step, sync, csv, **options):
        if step == "plan":
            self.stdout.write(render(planner.tick(CollectorConfig.current(), send=None)))
            return
        steps = ORDER if step == "all" else (step,)
        if sync:
            say(self.stdout, f"API: {settings.GECKO_API_URL}")
        failed = []
        for name in steps:
            if not sync:
                kwargs = {"csv": csv} if name == "watchlist" and csv else {}
                result = PLANNERS[name].apply_async(kwargs=kwargs)
                say(self.stdout, f"{name}: queued as {result.id}")
                continue
            try:
                progress = lambda text: say(self.stdout, f"  {text}")  # noqa: E731
                say(self.stdout, f"{name}: {run_step(name, csv=csv, progress=progress)}")
            except Unreachable as exc:
                raise CommandError(str(exc)) from None
            except Exception as exc:  # noqa: BLE001 — one failed step must not hide the others
                self.stderr.write(f"{name}: FAILED: {type(exc).__name__}: {exc}")
                failed.append(name)
        if failed:
            raise CommandError(f"failed step(s): {', '.join(failed)}")
