"""Run records: a CollectionRun row per task or command run, what the admin shows of it.
``tracking`` (a run per task), ``commands`` (a run per command), ``columns`` (the admin's
columns). It may import the layers below (data, the API door, fleet coordination, planner,
services), never the tasks or interfaces (tests/test_layering.py)."""
