"""httpx logs every request at INFO; at the default level those lines stay off (they broke the
progress bars, one per API call), and LOG_LEVEL=DEBUG brings them back."""

from __future__ import annotations

import pytest

from geckoproject.logs import logging_config


@pytest.mark.parametrize("level", ["INFO", "WARNING"])
def test_httpx_and_httpcore_log_warnings_only(level):
    loggers = logging_config("plain", level)["loggers"]
    assert loggers["httpx"]["level"] == loggers["httpcore"]["level"] == "WARNING"


def test_debug_shows_every_request():
    assert not logging_config("json", "DEBUG").get("loggers")
