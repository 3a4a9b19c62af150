"""The budget planner's tick as a task: what the API budget serves is decided here, once a
tick, and sent as fetch tasks; the fetch tasks themselves only do the unit they were given.

The planner names units by kind (collectors.planner.demand); SENDERS maps each kind to the
task that serves it. The fetch tasks live in the modules of what they collect, which ask for
a plan themselves, so the package fills SENDERS once they all exist (collectors/tasks/
__init__.py) instead of this module importing them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from collectors.fleet import inflight
from collectors.models import CollectionRun, CollectorConfig
from collectors.planner import limits
from collectors.planner import service as planner
from collectors.planner.demand import Unit, unit_key
from collectors.tasks.running import FETCH, _in_flight, _run, collector_task

SENDERS: dict[str, Any] = {}


def _send(unit: Unit, expires: float) -> None:
    SENDERS[unit.kind].apply_async(kwargs=unit.kwargs, expires=expires)


@collector_task(bind=True, **FETCH)
def fetch_key_figures(self):
    """A paid plan's own rate and monthly credit, cached for the planner (collectors.planner
    .limits); asked for when the cache has lapsed, a few times a day."""

    def body(tally, client):
        limits.store_key_figures(client.key_figures())
        tally.detail = "plan figures cached"

    with _in_flight(self, unit_key("key")):
        return _run(self, body, lane="live")


@collector_task(bind=True)
def plan_collection(self):
    """Queue what the budget serves before the next tick, most perishable first."""

    def body(tally):
        config = CollectorConfig.current()
        if settings.GECKO_API_PLAN == "pro" and limits.cached_key_figures() is None:
            if inflight.claim([(unit_key("key"), 1)], ttl=2 * config.plan_tick_seconds):
                fetch_key_figures.apply_async(expires=2 * config.plan_tick_seconds)
        result = planner.tick(config, send=_send)
        budget = result.budget
        tally.detail = (
            f"queued {result.queued} units ({result.selection.spent} calls) of capacity "
            f"{budget.capacity}; {budget.in_flight} calls were in flight; "
            f"{result.selection.waiting_due} due units wait; demand "
            f"{result.report.need_per_min:.1f}/min vs budget {budget.plannable_per_min:.1f}/min"
        )
        if result.announcement:
            tally.detail = f"{result.announcement}\n{tally.detail}"
        if result.send_error:
            tally.status = CollectionRun.Status.FAILED
            tally.detail = f"{result.send_error}\n{tally.detail}"
        return result.queued

    return _run(self, body)
