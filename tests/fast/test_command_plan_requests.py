"""The command's "plan" button on its page can send the plan's requests, as the JSON API's
``create_requests`` does (issue 10: the command plans from its page and the helper then sees
what the plan asks of it); without the box ticked the page plans only."""

from __future__ import annotations

import re

from tests.fast.conftest import ASKS, GIVES
from tests.fast.test_incident_pages import _form_tokens, _login


def _incident(site):
    r = site.as_("bch40").post(
        "/incidents",
        json={
            "name": "Lũ Khe Bố",
            "risk_level": 3,
            "affected": [{"commune": ASKS, "displaced": 0, "needs": {"boats": 3}}],
        },
    )
    assert r.status_code == 201, r.text
    site.stock(GIVES, "tayson", boats=20)
    return r.json()["id"]


def _plan_from_page(site, n, extra):
    client = site.client
    _login(client, "bch40")
    page = client.get("/command")
    action = f"/command/incidents/{n}/plan"
    assert 'name="create_requests"' in page.text
    assert "Gửi đề nghị đến các xã hỗ trợ" in page.text
    r = client.post(action, data=_form_tokens(page.text, action) | extra, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert site.as_("bch40").get(f"/incidents/{n}/plan").json() is not None
    return site.as_("planner").get("/requests", params={"incident_id": n}).json()


def test_the_page_plans_and_sends_the_requests_when_asked(site):
    n = _incident(site)
    (req,) = _plan_from_page(site, n, {"create_requests": "1"})
    assert (req["resource"], req["quantity"], req["to"]) == ("boats", 3, [GIVES])
    assert req["asks"] == [{"commune": GIVES, "quantity": 3}]


def test_without_the_box_the_page_only_plans(site):
    n = _incident(site)
    assert _plan_from_page(site, n, {}) == []


def test_declaring_on_an_unknown_commune_says_so_next_to_the_field(site):
    """The words of ``form.unknown_communes`` were lost between two merges: the page showed
    the bare key."""
    from tests.fast.test_incident_pages import _tokens

    client = site.client
    _login(client, "bch40")
    page = client.get("/command")
    data = _tokens(page.text, "declare-form") | {
        "name": "Lũ thử",
        "hazard": "flood",
        "risk_level": "2",
        "affected": "Xã Không Có",
    }
    r = client.post("/command/incidents", data=data)
    assert r.status_code == 422, r.text
    m = re.search(r'id="err-inc-affected"[^>]*>([^<]+)<', r.text)
    assert m and m.group(1).startswith("Không tìm thấy xã: "), m
    assert site.as_("bch40").get("/incidents").json() == []


def test_the_pages_plan_computes_outside_the_write_transaction(site, monkeypatch):
    """While the page's plan computes, another write goes through (SQLite: no write lock held),
    as for the API's route (issue 13)."""
    import threading

    import api.services.plan_run as plan_run

    real = plan_run.compute_plan
    started, release = threading.Event(), threading.Event()

    def slow(*args, **kw):
        started.set()
        assert release.wait(30)
        return real(*args, **kw)

    monkeypatch.setattr(plan_run, "compute_plan", slow)
    n = _incident(site)
    client = site.client
    _login(client, "bch40")
    page = client.get("/command")
    action = f"/command/incidents/{n}/plan"
    out = {}

    def post():
        out["r"] = client.post(action, data=_form_tokens(page.text, action), follow_redirects=False)

    t = threading.Thread(target=post)
    t.start()
    assert started.wait(30)
    r = site.as_("bacly").put("/communes/90003/inventory", json={"boats": 4})
    assert r.status_code == 200, r.text
    release.set()
    t.join(60)
    # the stock changed while it computed: nothing stored, the page says so next to the form
    assert out["r"].status_code == 409, out["r"].text
    assert "đã thay đổi; hãy lập lại kế hoạch" in out["r"].text
    assert site.as_("bch40").get(f"/incidents/{n}/plan").json() is None
    monkeypatch.setattr(plan_run, "compute_plan", real)
    page = client.get("/command")  # planned again: stored
    again = client.post(action, data=_form_tokens(page.text, action), follow_redirects=False)
    assert again.status_code == 303, again.text
    assert site.as_("bch40").get(f"/incidents/{n}/plan").json() is not None
