"""Readiness on the hand-made 5-commune case (issue 11, part 4): coverage worked out by hand."""

from __future__ import annotations

import pytest

from geo.readiness import readiness, readiness_gaps
from tests.geo.drafts_helpers import (
    INVENTORY,
    MILITIA,
    POPULATIONS,
    A,
    B,
    C,
    D,
    E,
    draft,
    five_communes,
)


@pytest.fixture
def G():
    return five_communes()


AREA = [A, B, C, D, E]


def rows_of(G, regs, *, inventory=INVENTORY, statuses=("draft",)):
    return readiness(
        G,
        communes=AREA,
        inventory=inventory,
        regulations=regs,
        needs_profile=MILITIA,
        populations=POPULATIONS,
        statuses=statuses,
    )


def test_coverage_is_own_stock_plus_the_cards_of_each_level(G):
    """A needs 20/50/100 militia and holds 10; its cards bring 10 by level 1, 30 by level 2 and
    34 by level 3 (C's 30 and D's 4): 20/20, 40/50, 44/100. B: 51/100 at level 3 (E's 11)."""
    rows = {r.commune: r.to_json() for r in rows_of(G, draft(G))}
    assert rows[A] == {
        "commune": A,
        "regulations": ["#0", "#1"],
        "partners": [C, D],
        "coverage": {"1": 1.0, "2": 0.8, "3": 0.44},
    }
    assert rows[B]["coverage"] == {"1": 1.0, "2": 0.8, "3": 0.51}
    assert rows[B]["partners"] == [C, E]
    assert rows[C]["partners"] == [A, B] and rows[C]["coverage"] == {"1": 1.0, "2": 1.0, "3": 1.0}
    assert readiness_gaps(rows_of(G, draft(G))) == {"without_regulation": [], "over_holdings": []}


def test_only_signed_regulations_count_by_default(G):
    rows = rows_of(G, draft(G), statuses=("signed",))
    assert [r.commune for r in rows if r.without_regulation] == AREA
    a = next(r for r in rows if r.commune == A)
    assert a.coverage == {"1": 0.5, "2": 0.2, "3": 0.1}  # own 10 of 20/50/100
    signed = [{**r, "status": "signed", "id": 7 + i} for i, r in enumerate(draft(G))]
    a = next(r for r in rows_of(G, signed, statuses=("signed",)) if r.commune == A)
    assert a.regulations == (7, 8)


def test_a_card_larger_than_the_helper_now_spares_is_listed_and_counted_at_the_spare(G):
    """C now holds 20 militia, so it may send 14 (a reserve of 6): its cumulative card of 30
    to A is listed, and A counts 14 of it: 24/50 at level 2, 28/100 at level 3."""
    regs = draft(G)
    poorer = {**INVENTORY, C: {"militia": 20}}
    rows = rows_of(G, regs, inventory=poorer)
    a = next(r for r in rows if r.commune == A)
    assert a.coverage == {"1": 1.0, "2": 0.48, "3": 0.28}
    gaps = readiness_gaps(rows)
    assert {
        (o["commune"], o["helper"], o["card"], o["spare"], o["stock"])
        for o in gaps["over_holdings"]
    } == {(A, C, 30, 14, 20), (B, C, 30, 14, 20)}


def test_a_regulation_out_of_force_does_not_count(G):
    import datetime as dt

    signed = [
        {**r, "status": "signed", "valid_from": "2026-01-01", "valid_to": "2026-12-31"}
        for r in draft(G)
    ]
    for day, counted in ((dt.date(2026, 6, 1), True), (dt.date(2027, 1, 1), False)):
        rows = readiness(
            G,
            communes=AREA,
            inventory=INVENTORY,
            regulations=signed,
            needs_profile=MILITIA,
            populations=POPULATIONS,
            at=day,
        )
        assert all(r.without_regulation != counted for r in rows), day
