"""The simulated month (bench/replay.py): the real planner and collection services against the
simulator's world on a virtual clock, then an audit of the store against its ground truth.

``setups`` names the set-ups and their goals, ``inprocess`` serves the simulator to the real
GeckoClient without sockets or token waits, ``driver`` runs the clock and the work, ``audit``
counts what was lost and whether it was flagged, ``report`` prints it.
"""
