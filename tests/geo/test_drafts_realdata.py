"""Drafts and readiness for all of Nghệ An (130 communes) on the generated SAMPLE inventory."""

from __future__ import annotations

import pytest

from geo.readiness import readiness, readiness_gaps
from geo.regulation_draft import draft_regulations
from geo.resources import sample_inventory
from tests.geo.drafts_helpers import open_neighbours, over_spare


@pytest.fixture(scope="module")
def drafted(nghe_an_gdf, nghe_an_graph):
    communes = [str(c) for c in nghe_an_gdf.index]
    inventory = sample_inventory(nghe_an_gdf)
    regs = draft_regulations(nghe_an_graph, communes=communes, inventory=inventory)
    return communes, inventory, regs


def test_drafts_cover_every_commune_with_an_open_neighbour(nghe_an_graph, drafted):
    communes, _, regs = drafted
    assert len(communes) == 130
    nbrs, H = open_neighbours(nghe_an_graph, communes)
    parties = {p for r in regs for p in r.parties}
    assert parties == {c for c in communes if nbrs[c]}
    assert all(H.has_edge(*r.parties) for r in regs)
    received = {c.receiver for r in regs for c in r.box_cards}
    assert len(received) > 100, "most communes get cards on the sample inventory"


def test_no_helper_is_asked_more_than_its_spare_and_every_draft_says_why(nghe_an_graph, drafted):
    communes, inventory, regs = drafted
    js = [r.to_json() for r in regs]
    assert over_spare(nghe_an_graph, js, communes=communes, inventory=inventory, reserve=0.3) == []
    assert all(r["rationale"] and r["status"] == "draft" for r in js)
    assert all(r.rationale("en") for r in regs)


def test_readiness_of_the_drafted_province(nghe_an_graph, drafted):
    communes, inventory, regs = drafted
    js = [r.to_json() for r in regs]
    rows = readiness(
        nghe_an_graph,
        communes=communes,
        inventory=inventory,
        regulations=js,
        statuses=("draft",),
    )
    own = readiness(nghe_an_graph, communes=communes, inventory=inventory, regulations=[])
    assert len(rows) == 130
    assert readiness_gaps(rows)["over_holdings"] == []
    for level in "123":
        with_cards = sum(r.coverage[level] for r in rows)
        alone = sum(r.coverage[level] for r in own)
        assert with_cards > alone, level
