"""The fast tier's ``site`` fixture: the tests share one application object, never its state.

Each test below first checks that it starts clean (no incident, no checkpoint, the graph as
loaded, fresh settings, no cached page), then leaves all of that dirty: whichever runs second
would see the first one's leftovers if anything leaked from one test's service to the next.
"""

from __future__ import annotations

import pytest

from tests.fast.conftest import ASKS, Site


def _starts_clean_then_dirties(site: Site, tmp_path) -> None:
    state = site.client.app.state.lienxa
    assert state.settings.data_dir == tmp_path
    assert str(tmp_path) in state.settings.resolved_database_url()
    assert site.as_("planner").get("/incidents").json() == []
    assert not (tmp_path / "audit_checkpoints.jsonl").exists()
    assert "leaked" not in state.graph.nodes[ASKS]
    assert state.settings.plan_time_limit_s != 0.123
    assert state.geo.geojson_cache == {} and state.geo.short_names == {}

    site.incident(affected=ASKS)
    assert (tmp_path / "audit_checkpoints.jsonl").exists()
    state.graph.nodes[ASKS]["leaked"] = True
    state.settings.plan_time_limit_s = 0.123  # not through monkeypatch: left as it is
    state.geo.short_names["x"] = "y"
    state.geo.geojson_cache["x"] = "y"


@pytest.mark.parametrize("turn", ["first", "second"])
def test_a_site_starts_clean_whatever_the_test_before_it_did(site, tmp_path, turn):
    _starts_clean_then_dirties(site, tmp_path)


def test_the_app_object_is_shared_but_each_test_has_its_own_state(site, site_app):
    assert site.client.app is site_app
    assert site.as_("planner").get("/incidents").status_code == 200
