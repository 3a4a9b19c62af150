"""select takes the head of the rank order without sorting every candidate: the order it gives
must stay the full sort's (ties in input order), and its count of due units left over too."""

from __future__ import annotations

from collectors.planner.demand import Priority, Unit
from collectors.planner.plan import select


def unit(key: str, priority: int, score: float, cost: int = 1, tier: str = "watchlist") -> Unit:
    return Unit("ohlcv", key, tier, 1, "1m", priority, score, cost, 0.0, 0.0, 0.0)


def test_ties_keep_their_input_order_and_tiers_and_priorities_come_before_score():
    units = [
        unit("early-a", Priority.EARLY, 9.0),
        unit("top-due", Priority.PERISHABLE, 50.0, tier="top"),
        unit("fresh-b", Priority.FRESHNESS, 2.0),
        unit("fresh-a", Priority.FRESHNESS, 2.0),
        unit("meta", Priority.METADATA, 1.0),
        unit("lost", Priority.PERISHABLE, 0.5),
        unit("idle", -1, 99.0),
        unit("fresh-c", Priority.FRESHNESS, 3.0),
        unit("early-b", Priority.EARLY, 9.0),
    ]
    chosen = [u.key for u in select(units, 100, set()).chosen]
    assert chosen == [
        "lost",
        "fresh-c",
        "fresh-b",
        "fresh-a",
        "top-due",
        "meta",
        "early-a",
        "early-b",
    ]


def test_a_unit_too_big_is_skipped_and_due_units_left_are_counted():
    units = [
        unit("big", Priority.PERISHABLE, 5.0, cost=3),
        unit("small", Priority.PERISHABLE, 4.0),
        unit("fresh", Priority.FRESHNESS, 1.0),
        unit("meta", Priority.METADATA, 1.0),
        unit("early", Priority.EARLY, 1.0),
        unit("busy", Priority.PERISHABLE, 9.0),
    ]
    selection = select(units, 2, {"busy"})
    assert [u.key for u in selection.chosen] == ["small", "fresh"]
    assert selection.spent == 2
    assert selection.waiting_due == 2  # big and meta; the early refresh is not due


def test_a_unit_bigger_than_any_tick_counts_as_the_largest():
    units = [unit("huge", Priority.PERISHABLE, 5.0, cost=4), unit("next", Priority.FRESHNESS, 1.0)]
    selection = select(units, 1, set(), largest=1)
    assert [u.key for u in selection.chosen] == ["huge"]
    assert selection.spent == 4
    assert selection.waiting_due == 1
