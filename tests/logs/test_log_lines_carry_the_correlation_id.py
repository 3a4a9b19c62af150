"""LOG_FORMAT=json gives one JSON object per line, and every line a run logs carries the
run's correlation id, which is also on its CollectionRun row."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from collectors.models import CollectionRun
from collectors.runs.tracking import track_run
from geckoproject.logs import CorrelationIdFilter, JsonFormatter, logging_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def json_lines():
    """Records of the ``collectors`` logger, formatted as the console handler would."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(CorrelationIdFilter())
    logger = logging.getLogger("collectors")
    logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


@pytest.mark.django_db
def test_every_line_of_a_run_carries_the_id_stored_on_its_row(json_lines):
    log = logging.getLogger("collectors.services.trades")
    log.warning("before")
    with track_run("collectors.tasks.fetch_trades", {"pool_id": 1}, correlation_id="abc-123"):
        log.warning("inside %s", "the run")
    log.warning("after")

    before, inside, after = json_lines()
    assert inside["message"] == "inside the run" and inside["correlation_id"] == "abc-123"
    assert before["correlation_id"] == after["correlation_id"] == "-"
    assert CollectionRun.objects.get().correlation_id == "abc-123"


@pytest.mark.django_db
def test_a_run_outside_celery_gets_a_fresh_id(json_lines):
    with track_run("collect.trades", {}):
        logging.getLogger("collectors.inprocess").warning("collecting")
    (line,) = json_lines()
    run = CollectionRun.objects.get()
    assert len(run.correlation_id) == 32 and line["correlation_id"] == run.correlation_id


@pytest.mark.django_db
def test_a_celery_task_run_is_correlated_by_its_task_id(json_lines):
    from collectors import tasks

    result = tasks.plan_collection.apply()
    assert CollectionRun.objects.get(task="collectors.tasks.plan_collection").correlation_id == (
        result.id
    )


def test_a_json_line_has_a_utc_time_and_the_traceback():
    formatter, record = JsonFormatter(), None
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "failed %d", (3,), sys.exc_info()
        )
    CorrelationIdFilter().filter(record)
    line = json.loads(formatter.format(record))
    assert line["message"] == "failed 3" and line["level"] == "ERROR"
    assert line["ts"].endswith("Z") and "ValueError: boom" in line["exc_info"]


def test_an_unknown_log_format_is_refused():
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logging_config("xml", "INFO")


@pytest.mark.parametrize("log_format", ["json", "plain"])
def test_the_setting_configures_every_process(log_format):
    script = "import django, logging; django.setup(); logging.getLogger('probe').warning('hi')"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "LOG_FORMAT": log_format}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    if log_format == "json":
        assert json.loads(last) | {"ts": None, "process": None} == {
            "ts": None,
            "process": None,
            "level": "WARNING",
            "logger": "probe",
            "message": "hi",
            "correlation_id": "-",
            "task": "-",
        }
    else:
        assert last.endswith("WARNING probe [-]: hi")
