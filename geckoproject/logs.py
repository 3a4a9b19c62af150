"""One log format for web, workers and beat, plain or JSON (``LOG_FORMAT``), and a
correlation id on every line a task run writes.

The correlation id is the Celery task id: a retry or a redelivery keeps it, so one id joins
every log line of a piece of work, across attempts and workers, to its CollectionRun row
(``CollectionRun.correlation_id``). It lives in a context variable set by the
``task_prerun``/``task_postrun`` signals, so it follows the task in any pool (prefork,
threads) and lines logged outside a task carry ``-``.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
task_name: ContextVar[str | None] = ContextVar("task_name", default=None)

NO_ID = "-"
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s]: %(message)s"


class CorrelationIdFilter(logging.Filter):
    """Puts ``correlation_id`` and ``task`` on every record the handler formats."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = correlation_id.get() or NO_ID
        record.task = task_name.get() or NO_ID
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ``Z``), level, logger, message, correlation id,
    task, process, and the formatted exception when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, tz=UTC)
        entry: dict[str, Any] = {
            "ts": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": getattr(record, "correlation_id", NO_ID),
            "task": getattr(record, "task", NO_ID),
            "process": record.process,
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def bind_task(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    """``task_prerun``: this run's lines carry its task id."""
    correlation_id.set(task_id)
    task_name.set(getattr(task, "name", None))


def unbind_task(**_: Any) -> None:
    """``task_postrun``: a worker thread's next lines belong to no task until the next one."""
    correlation_id.set(None)
    task_name.set(None)


def logging_config(log_format: str, level: str) -> dict:
    """The LOGGING setting: one console handler, ``plain`` or ``json``; httpx's line per
    request (and httpcore's) only at DEBUG, as every API call would add one."""
    if log_format not in ("plain", "json"):
        raise ValueError(f"LOG_FORMAT={log_format!r}: use 'plain' or 'json'")
    quiet = {} if level.upper() == "DEBUG" else {"level": "WARNING"}
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"correlation": {"()": "geckoproject.logs.CorrelationIdFilter"}},
        "formatters": {
            "plain": {"format": PLAIN_FORMAT},
            "json": {"()": "geckoproject.logs.JsonFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["correlation"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
    }
    if quiet:
        config["loggers"] = {"httpx": quiet, "httpcore": quiet}
    return config
