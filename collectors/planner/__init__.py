"""The budget planner: one place that decides what the API is asked next.

``demand`` turns a snapshot of collection state into units of work (when each would lose data or
go stale, what it costs); ``budget`` says how many calls the next tick may spend; ``plan`` orders
the units by risk of loss and takes what fits. Those three are pure and fast. ``snapshot`` reads
the state in a few aggregate queries, and ``service`` ties them to Celery (queued work is kept
from being queued again by collectors.fleet.inflight). It may import the data layer, the API
door and fleet coordination; never the services, tasks or interfaces (tests/test_layering.py).
"""
