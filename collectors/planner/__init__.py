"""The budget planner: one place that decides what the API is asked next.

``demand`` turns a snapshot of collection state into units of work (when each would lose data or
go stale, what it costs); ``budget`` says how many calls the next tick may spend; ``plan`` orders
the units by risk of loss and takes what fits. Those three are pure and fast. ``snapshot`` reads
the state in a few aggregate queries, ``inflight`` keeps queued work from being queued again, and
``service`` ties them to Celery.
"""
