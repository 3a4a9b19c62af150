"""Every GeckoError survives pickle with its attributes: Celery pickles a task's exception
(and a retry's ``exc``) for the result backend and the events, and an error class it cannot
rebuild is stored as an UnpickleableExceptionWrapper that no longer says what happened."""

from __future__ import annotations

import pickle

import pytest
from celery.utils.serialization import get_pickleable_exception

from collectors.gecko import errors

EXAMPLES = [
    errors.GeckoError("trades: boom", endpoint="trades"),
    errors.PayloadError("ohlcv", "data.attributes", "expected object, got None"),
    errors.InvalidJSON("ohlcv", "Expecting value: line 1 column 1"),
    errors.ApiErrorBody("trades", status=429, title="Too many", message="slow down", body={"a": 1}),
    errors.StatusError(418, endpoint="pool", detail="teapot"),
    errors.RateLimited(0.0, endpoint="trades", detail="Too Many Requests"),
    errors.ServerError(502, endpoint="ohlcv", detail="Bad Gateway"),
    errors.ClientError(400, endpoint="pool", detail="Bad Request"),
    errors.NotFound(endpoint="token", detail="Not Found"),
    errors.TransportError("ohlcv: timed out", endpoint="ohlcv"),
    errors.MustWait(3.5, endpoint="trades", why="rate limit"),
]


def _classes(base: type) -> set[type]:
    return {base} | {c for sub in base.__subclasses__() for c in _classes(sub)}


def test_the_examples_cover_every_error_class():
    assert {type(e) for e in EXAMPLES} == _classes(errors.GeckoError)


@pytest.mark.parametrize("error", EXAMPLES, ids=lambda e: type(e).__name__)
def test_an_error_round_trips_through_pickle(error):
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error) and copy.args == error.args
    assert vars(copy) == vars(error)
    assert copy.retryable == error.retryable
    assert get_pickleable_exception(error) is error, "Celery would store a wrapper"
