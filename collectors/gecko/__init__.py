"""The door to the GeckoTerminal API: every request from every process passes here.

``client`` (HTTP, retries), ``ratelimit`` (the fleet's Redis token bucket), ``breaker`` (the
shared circuit breaker), ``credit`` (a paid plan's monthly calls), ``target`` (which API, so
another target never spends this one's tokens), ``records``/``parse``/``parse_core`` (typed
records, the one normalisation layer) and ``errors``. It may import the data layer, nothing
else of collectors: not the planner, the services or the tasks (tests/test_layering.py).
"""
