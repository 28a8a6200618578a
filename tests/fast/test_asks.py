"""Named asks on a plan's requests, requests a re-plan outdates, and plans computed out of the
write transaction under a time limit (issue 10 parts 3 and 7, issue 13)."""

from __future__ import annotations

import re
import threading

from tests.fast.conftest import ASKS, GIVES, PASSWORD, SOUTH_A


def _incident(site, boats: int = 10):
    r = site.as_("bch40").post(
        "/incidents",
        json={
            "name": "Lũ quét Đông Hà",
            "risk_level": 2,
            "affected": [{"commune": ASKS, "displaced": 0, "needs": {"boats": boats}}],
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def _plan(site, incident, **body):
    r = site.as_("bch40").post(
        f"/incidents/{incident['id']}/plan", json={"create_requests": True, "max_hops": 1, **body}
    )
    assert r.status_code == 200, r.text
    return r.json()


def _requests(site, incident):
    r = site.as_("planner").get("/requests", params={"incident_id": incident["id"]})
    assert r.status_code == 200, r.text
    return sorted(r.json(), key=lambda x: x["id"])


def test_a_plan_request_names_what_the_plan_asks_of_each_giver(site):
    incident = _incident(site, boats=20)
    site.stock(GIVES, "tayson", boats=20)  # 14 to spare (30 % kept at home)
    site.stock(SOUTH_A, "bch42", boats=20)
    plan = _plan(site, incident)
    per_giver = {}
    for t in plan["transfers"]:
        per_giver[t["from"]] = per_giver.get(t["from"], 0) + t["quantity"]
    assert sorted(per_giver) == [GIVES, SOUTH_A]
    (req,) = _requests(site, incident)
    assert req["asks"] == [{"commune": c, "quantity": q} for c, q in sorted(per_giver.items())]
    assert req["quantity"] == 20 and req["to"] == [GIVES, SOUTH_A]
    assert req["outdated"] is False
    # a hand-made request names no asks
    hand = site.ask(incident, 3)
    assert hand["asks"] == [] and hand["outdated"] is False


def test_the_helper_page_shows_the_plan_ask_and_prefills_it(site):
    incident = _incident(site, boats=10)
    site.stock(GIVES, "tayson", boats=20)
    _plan(site, incident)
    (req,) = _requests(site, incident)
    page = _page(site, "tayson")
    assert "Kế hoạch đề nghị xã bạn gửi 10 xuồng, ca nô" in page
    box = re.search(rf'<input name="offer_{req["id"]}"[^>]*>', page).group(0)
    assert 'value="10"' in box  # prefilled with what the plan asks
    assert "Cam kết hỗ trợ" in page and "Đề nghị hỗ trợ" not in page
    assert "Theo kế hoạch số" in page and "(plan " not in page
    # after a part is pledged, the box holds what is left of the ask
    site.offer(req, 4)
    page = _page(site, "tayson")
    box = re.search(rf'<input name="offer_{req["id"]}"[^>]*>', page).group(0)
    assert 'value="6"' in box


def test_each_action_says_what_it_did(site):
    incident = _incident(site, boats=10)
    site.stock(GIVES, "tayson", boats=20)
    _plan(site, incident)
    (req,) = _requests(site, incident)
    _login(site.client, "tayson")
    page = site.client.get("/commune")
    r = site.client.post(
        f"/commune/requests/{req['id']}/offer",
        data={
            **_form(page.text, f"/commune/requests/{req['id']}/offer"),
            f"offer_{req['id']}": "4",
        },
    )
    assert r.status_code == 200, r.text  # followed the redirect
    assert "Đã cam kết gửi 4 xuồng, ca nô cho Xã Đông Hà" in r.text
    assert "Đã lưu" not in r.text
    _login(site.client, "dongha")
    page = site.client.get("/commune").text
    offer_id = site.request_now(req)["offers"][0]["id"]
    r = site.client.post(
        f"/commune/offers/{offer_id}/accept",
        data=_form(page, f"/commune/offers/{offer_id}/accept"),
    )
    assert "Đã nhận lời 4 xuồng, ca nô từ Xã Tây Sơn" in r.text


def _login(client, user):
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post(
        "/login",
        data={"username": user, "password": PASSWORD, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code in (302, 303), r.text


def _page(site, user):
    _login(site.client, user)
    page = site.client.get("/commune")
    assert page.status_code == 200
    return page.text


def _form(page, action):
    """The hidden fields of the form posting to ``action``."""
    form = page.split(f'action="{action}"', 1)[1].split("</form>", 1)[0]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))


def test_a_replan_after_closing_a_link_outdates_the_request_and_asks_another(site):
    incident = _incident(site, boats=10)
    site.stock(GIVES, "tayson", boats=20)
    _plan(site, incident)
    (first,) = _requests(site, incident)
    assert first["asks"] == [{"commune": GIVES, "quantity": 10}]
    offer = site.offer(first, 4)  # an offer made before the link closes is kept
    site.stock(SOUTH_A, "bch42", boats=20)
    r = site.as_("planner").post(
        "/rules",
        json={"reason": "sạt lở", "rule": {"type": "close_link", "a": ASKS, "b": GIVES}},
    )
    assert r.status_code in (200, 201), r.text
    plan = _plan(site, incident)
    assert plan["outdated_requests"] == [first["id"]]
    old, new = _requests(site, incident)
    assert old["id"] == first["id"] and old["outdated"] is True
    assert old["unreachable"] == [GIVES]
    assert [o["id"] for o in old["offers"]] == [offer["id"]]  # nothing lost
    assert new["to"] == [SOUTH_A] and new["asks"] == [{"commune": SOUTH_A, "quantity": 6}]
    assert new["outdated"] is False and new["quantity"] == 6
    # the cut-off addressee may no longer offer on the outdated request
    r = site.as_("tayson").post(
        f"/requests/{first['id']}/offers", json={"commune": GIVES, "quantity": 1}
    )
    assert r.status_code == 409 and r.json()["code"] == "addressee_unreachable"
    # a third plan neither outdates again nor asks twice
    plan = _plan(site, incident)
    assert plan["outdated_requests"] == [] and plan["created_requests"] == []
    assert len(_requests(site, incident)) == 2
    (entry,) = site.audit("request.outdated")
    assert entry["after"]["unreachable"] == [GIVES]
    # visible as such on both communes' pages
    for user in ("dongha", "tayson"):
        assert f'id="outdated-{first["id"]}"' in _page(site, user), user
    # the cut-off helper gets no offer box on the outdated request
    assert f'name="offer_{first["id"]}"' not in _page(site, "tayson")


def test_a_giver_no_longer_asked_makes_the_request_outdated(site):
    incident = _incident(site, boats=10)
    site.stock(GIVES, "tayson", boats=20)
    _plan(site, incident)
    (first,) = _requests(site, incident)
    site.stock(GIVES, "tayson", boats=0)  # it has nothing left to give
    site.stock(SOUTH_A, "bch42", boats=20)
    plan = _plan(site, incident)
    assert plan["outdated_requests"] == [first["id"]]
    old, new = _requests(site, incident)
    assert old["outdated"] is True and old["unreachable"] == []
    assert new["asks"] == [{"commune": SOUTH_A, "quantity": 10}]


def test_the_write_lock_is_not_held_while_the_plan_computes(site, monkeypatch):
    import api.services.plan_run as plan_run

    real = plan_run.compute_plan
    started, release = threading.Event(), threading.Event()
    calls = []

    def slow(*args, **kw):
        calls.append(1)
        started.set()
        assert release.wait(30)
        return real(*args, **kw)

    monkeypatch.setattr(plan_run, "compute_plan", slow)
    incident = _incident(site, boats=10)
    site.stock(GIVES, "tayson", boats=20)
    out = {}

    def plan():
        out["r"] = site.as_("bch40").post(f"/incidents/{incident['id']}/plan", json={})

    t = threading.Thread(target=plan)
    t.start()
    assert started.wait(30)
    # another write goes through while the plan computes (SQLite: no write lock is held)
    r = site.as_("tayson").put(f"/communes/{GIVES}/inventory", json={"boats": 30})
    assert r.status_code == 200, r.text
    release.set()
    t.join(60)
    assert out["r"].status_code == 200, out["r"].text
    assert len(calls) == 2  # the stock changed meanwhile: planned once more, on the new stock
    assert out["r"].json()["transfers"][0]["quantity"] == 10


def test_a_plan_past_its_time_limit_answers_503_with_a_code(site, monkeypatch):
    import api.services.plan_run as plan_run
    from api.state import AppState

    release = threading.Event()
    real = plan_run.compute_plan

    def hung(*args, **kw):
        release.wait(30)
        return real(*args, **kw)

    monkeypatch.setattr(plan_run, "compute_plan", hung)
    monkeypatch.setattr(plan_run, "GRACE_S", 0.0)
    state: AppState = site.client.app.state.lienxa
    monkeypatch.setattr(state.settings, "plan_time_limit_s", 0.3)
    incident = _incident(site)
    try:
        r = site.as_("bch40").post(f"/incidents/{incident['id']}/plan", json={})
        assert r.status_code == 503, r.text
        body = r.json()
        assert body["code"] == "plan_time_limit" and body["params"] == {"limit_s": 0.3}
        assert "Retry-After" in r.headers
        assert site.client.get("/healthz").status_code == 200
    finally:
        release.set()
    assert site.as_("planner").get(f"/incidents/{incident['id']}/plan").json() is None


def test_a_hand_made_request_to_a_cut_off_neighbour_is_outdated_too(site):
    incident = _incident(site, boats=5)
    site.stock(GIVES, "tayson", boats=20)
    hand = site.ask(incident, 5)  # to Tây Sơn, by hand: no asks
    r = site.as_("planner").post(
        "/rules",
        json={"reason": "sạt lở", "rule": {"type": "close_link", "a": ASKS, "b": GIVES}},
    )
    assert r.status_code in (200, 201), r.text
    site.stock(SOUTH_A, "bch42", boats=20)
    plan = _plan(site, incident)
    assert plan["outdated_requests"] == [hand["id"]]
    old, new = _requests(site, incident)
    assert old["outdated"] is True and old["unreachable"] == [GIVES] and old["asks"] == []
    assert new["asks"] == [{"commune": SOUTH_A, "quantity": 5}]


def test_a_repeated_plan_key_replays_without_computing_again(site, monkeypatch):
    import api.services.plan_run as plan_run

    real, calls = plan_run.compute_plan, []

    def counted(*args, **kw):
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(plan_run, "compute_plan", counted)
    incident = _incident(site)
    site.stock(GIVES, "tayson", boats=20)
    key = {"Idempotency-Key": "plan-once-1"}
    path = f"/incidents/{incident['id']}/plan"
    first = site.as_("bch40").post(path, json={"create_requests": True}, headers=key)
    again = site.as_("bch40").post(path, json={"create_requests": True}, headers=key)
    assert first.status_code == again.status_code == 200
    assert again.headers.get("Idempotent-Replay") == "true" and again.json() == first.json()
    assert len(calls) == 1 and len(_requests(site, incident)) == 1
