"""Every collector task keeps the name and queue it had when collectors/tasks.py was one file
(issue 18). Schedule rows in users' databases, messages already queued, CELERY_TASK_ROUTES and
CollectionRun.task all name tasks ``collectors.tasks.<function>``: a task registered under its
module's path instead (``collectors.tasks.trades.fetch_trades``) would be unknown to them."""

from __future__ import annotations

from collectors import tasks
from geckoproject.celery import app

# The registered names and queues before the split, written out, not derived from the code.
BEFORE = {
    "collectors.tasks.archive_month": "default",
    "collectors.tasks.backfill_gap": "api",
    "collectors.tasks.backfill_ohlcv": "api",
    "collectors.tasks.collect_dexes": "api",
    "collectors.tasks.compact_partition": "default",
    "collectors.tasks.fetch_key_figures": "api",
    "collectors.tasks.fetch_ohlcv": "api",
    "collectors.tasks.fetch_pool_details": "api",
    "collectors.tasks.fetch_token_info": "api",
    "collectors.tasks.fetch_top_pools": "api",
    "collectors.tasks.fetch_trades": "api",
    "collectors.tasks.fetch_watchlist_details": "api",
    "collectors.tasks.maintain_partitions": "default",
    "collectors.tasks.plan_collection": "default",
    "collectors.tasks.plan_ohlcv": "default",
    "collectors.tasks.plan_top_pools": "default",
    "collectors.tasks.plan_trades": "default",
    "collectors.tasks.scan_gaps": "default",
    "collectors.tasks.sync_watchlist": "default",
}


def registered() -> set[str]:
    app.loader.import_default_modules()  # what a worker imports (autodiscovery)
    return {name for name in app.tasks if name.startswith("collectors.tasks.")}


def queue_of(name: str) -> str:
    queue = app.amqp.router.route({}, name)["queue"]
    return getattr(queue, "name", queue)


def test_the_registered_collector_tasks_are_those_before_the_split():
    assert registered() == set(BEFORE)


def test_each_task_routes_to_its_queue_as_before():
    assert {name: queue_of(name) for name in BEFORE} == BEFORE


def test_the_package_exports_each_task_under_its_registered_name():
    for name in BEFORE:
        function = name.removeprefix("collectors.tasks.")
        assert getattr(tasks, function).name == name
        assert app.tasks[name] is getattr(tasks, function)._get_current_object()
