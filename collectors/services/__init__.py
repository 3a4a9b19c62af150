"""Collection services: plain functions over a GeckoClient that Celery tasks, commands and tests
call, one module per thing collected, and ``persist`` (records into the store). They may import
the data layer, the API door, fleet coordination and the planner; never the tasks or the
interfaces (tests/test_layering.py).
"""
