"""Fleet coordination: what lets many workers, beats and hosts share work without doing it
twice: leases renewed while work runs, task locks, in-flight claims, one run per beat tick.
It may import the data layer and the API door, nothing above (tests/test_layering.py)."""
