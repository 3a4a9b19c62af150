"""Issue 18: the suite in parallel runners. Each runner has a Redis database of its own, counted
down from REDIS_URL's (tests/parallel.py), and tests/marks.py finds the tests that start
workers, beat or private servers (slow; the servers in one xdist group) and refuses one that
starts them itself unmarked.

The sample code is compiled from text: command names written in this file's own functions would
be read by tests/marks.py as this file starting them.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from tests import celery_worker, marks, parallel, private_servers


def test_each_runner_takes_redis_urls_database_minus_its_number():
    url = "redis://:secret@127.0.0.1:6379/9"
    assert parallel.redis_url(url, 0) == url
    assert parallel.redis_url(url, 2) == "redis://:secret@127.0.0.1:6379/7"
    assert parallel.redis_url("redis://127.0.0.1:6379", 0) == "redis://127.0.0.1:6379/0"
    assert [parallel.runner_number(w) for w in (None, "", "gw0", "gw11")] == [0, 0, 0, 11]


def test_a_runner_below_database_0_is_refused_with_the_way_out():
    with pytest.raises(parallel.RunnerError) as refused:
        parallel.check_runners("redis://127.0.0.1:6379/1", 3)
    message = str(refused.value)
    assert "gw2 would use Redis database -1" in message
    assert "TEST_RUNNERS=2" in message and "redis://127.0.0.1:6379/1" in message
    parallel.check_runners("redis://127.0.0.1:6379/2", 3)  # 2, 1, 0: fits
    with pytest.raises(parallel.RunnerError, match="database number"):
        parallel.redis_url("redis://127.0.0.1:6379/x", 1)


def test_the_runner_counts_down_once_and_its_processes_keep_what_they_are_given():
    runner = {"REDIS_URL": "redis://127.0.0.1:6379/15", "PYTEST_XDIST_WORKER": "gw2"}
    assert parallel.use_runners_redis(runner) == "redis://127.0.0.1:6379/13"
    child = dict(runner)  # a worker the runner starts inherits its environment …
    assert parallel.use_runners_redis(child) == "redis://127.0.0.1:6379/13"
    child["REDIS_URL"] = "redis://127.0.0.1:40001/0"  # … or is handed a private Redis
    assert parallel.use_runners_redis(child) == "redis://127.0.0.1:40001/0"
    alone = {"REDIS_URL": "redis://127.0.0.1:6379/15"}  # plain pytest: no runner
    assert parallel.use_runners_redis(alone) == "redis://127.0.0.1:6379/15"


def sample(source: str, **helpers: object) -> dict:
    """Functions compiled as if in a module of the tests package, seeing ``helpers``."""
    namespace = {"__name__": "tests.sample_for_marks", **helpers}
    exec(textwrap.dedent(source), namespace)  # noqa: S102 (constant text of this file)
    return namespace


def test_a_worker_beat_or_server_started_through_the_helpers_is_found_through_other_helpers():
    code = sample(
        """
        def start_both(url, path):
            with celery_worker(url), celery_beat(url, path):
                pass

        def test_through_a_helper():
            start_both("http://127.0.0.1:9", None)

        def test_a_server():
            servers.PrivateRedis(appendonly=False)

        def test_nothing():
            return [len(x) for x in ("a", "bc")]
        """,
        celery_worker=celery_worker.celery_worker,
        celery_beat=celery_worker.celery_beat,
        servers=private_servers,
    )
    both = marks.scan([code["test_through_a_helper"]])
    assert both.auto == {marks.WORKER, marks.BEAT} and not both.raw and not both.servers
    server = marks.scan([code["test_a_server"]])
    assert server.auto == {marks.SERVERS} and server.servers
    nothing = marks.scan([code["test_nothing"]])
    assert not nothing.auto and not nothing.raw


def test_a_command_started_by_hand_is_found_with_where_it_is():
    redis_server, celery, beat = "-".join(("redis", "server")), "cel|ery", "be|at"
    celery, beat = celery.replace("|", ""), beat.replace("|", "")
    code = sample(
        f"""
        import subprocess

        def own_redis(port):
            return subprocess.Popen([{redis_server!r}, "--port", str(port)])

        def test_own_redis():
            own_redis(6390).kill()

        def test_own_beat():
            subprocess.Popen(["python", "-m", {celery!r}, "-A", "x", {beat!r}])
        """
    )
    redis_found = marks.scan([code["test_own_redis"]])
    assert redis_found.servers
    assert redis_found.raw == {marks.SERVERS: "redis-server in tests.sample_for_marks.own_redis"}
    beat_found = marks.scan([code["test_own_beat"]])
    assert beat_found.raw == {marks.BEAT: "celery beat in tests.sample_for_marks.test_own_beat"}


def test_the_suites_worker_beat_and_server_tests_are_marked_and_grouped(request):
    """As decided at this run's collection (before ``-m`` left any out)."""
    assert marks.decided[request.node.nodeid] == (False, False)  # this test starts nothing
    expected = {
        "tests/collectors/test_ratelimit_after_restart.py::"
        "test_a_cooldown_redis_forgot_in_a_restart_is_put_back_for_every_process[False]": (
            True,
            True,
        ),
        "tests/health/test_healthz.py::"
        "test_healthz_returns_503_when_redis_is_down_and_200_when_it_is_back": (True, True),
        "tests/health/test_healthz.py::test_a_running_beat_keeps_its_heartbeat_fresh": (
            True,
            False,
        ),
        "tests/test_kill_beat.py::"
        "test_beat_down_for_several_intervals_resumes_with_one_catch_up_tick_not_a_storm": (
            True,
            False,
        ),
        "tests/health/test_healthz.py::test_healthz_shows_no_credentials": (False, False),
    }
    collected = {nodeid: marks.decided[nodeid] for nodeid in expected if nodeid in marks.decided}
    if not collected:
        pytest.skip("the suite was not collected with this file (run it with the others)")
    assert collected == {nodeid: expected[nodeid] for nodeid in collected}


def test_make_test_runs_the_runners_and_make_test_fast_leaves_the_slow_ones_out():
    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text()
    assert re.search(r"^TEST_RUNNERS \?= 3$", makefile, re.M)
    recipes = dict(re.findall(r"^([\w-]+):.*\n\t(.*)$", makefile, re.M))
    assert "pytest -n $(TEST_RUNNERS) --dist loadgroup $(PYTEST_ARGS)" in recipes["test"]
    assert '-m "not slow and not chaos"' in recipes["test-fast"]
    phony = re.search(r"^\.PHONY:(.*)$", makefile, re.M)[1].split()
    assert {"test", "test-fast", "test-chaos"} <= set(phony)
    assert '@echo "make test-fast' in makefile
