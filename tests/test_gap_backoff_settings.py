"""Bad gap backoff settings are refused at start, naming the setting."""

from __future__ import annotations

import pytest

from geckoproject.checks import check_gap_backoff


@pytest.mark.parametrize(
    ("values", "check_id", "named"),
    [
        ({"GECKO_GAP_RETRY_BASE_SECONDS": 0}, "geckoproject.E020", "GECKO_GAP_RETRY_BASE_SECONDS"),
        (
            {"GECKO_GAP_RETRY_BASE_SECONDS": 7200, "GECKO_GAP_RETRY_MAX_SECONDS": 3600},
            "geckoproject.E020",
            "GECKO_GAP_RETRY_MAX_SECONDS=3600",
        ),
        ({"GECKO_GAP_SAME_ANSWERS": 0}, "geckoproject.E021", "GECKO_GAP_SAME_ANSWERS=0"),
    ],
)
def test_bad_gap_backoff_settings_are_rejected(settings, values, check_id, named):
    for name, value in values.items():
        setattr(settings, name, value)

    (error,) = check_gap_backoff(None)

    assert error.id == check_id and named in error.msg and error.hint


def test_the_defaults_pass():
    assert check_gap_backoff(None) == []
