"""An offer that leaves the giver less at home than its reserve (⌈30 %⌉ of its stock, CONTRACT.md
rule 2) is made knowingly: the API says so, the commune page asks first, the audit records it."""

from __future__ import annotations

import re

from tests.fast.conftest import ASKS, GIVES, PASSWORD


def _request_for(site, quantity: int, *, boats: int = 10):
    incident = site.incident()
    site.stock(GIVES, "tayson", boats=boats)
    return site.ask(incident, quantity)


def test_an_offer_within_the_reserve_says_what_stays_at_home(site):
    request = _request_for(site, 7)
    offer = site.offer(request, 7)  # 10 boats, 7 offered: 3 stay, the reserve is ⌈3⌉
    assert (offer["below_reserve"], offer["reserve_kept"], offer["left_at_home"]) == (False, 3, 3)


def test_an_offer_below_the_reserve_is_flagged_and_audited_when_nobody_asked(site):
    request = _request_for(site, 8)
    offer = site.offer(request, 8)  # API clients that do not ask: made, and flagged
    assert (offer["below_reserve"], offer["reserve_kept"], offer["left_at_home"]) == (True, 3, 2)
    (entry,) = site.audit("offer.create")
    assert (entry["after"]["below_reserve"], entry["after"]["confirmed"]) == (True, False)


def test_asking_first_refuses_with_the_figures_and_reserves_nothing(site):
    request = _request_for(site, 8)
    gives = site.as_("tayson")
    body = {"commune": GIVES, "quantity": 8, "confirm_below_reserve": False}
    r = gives.post(f"/requests/{request['id']}/offers", json=body)
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "below_home_reserve" and r.json()["field"] == "quantity"
    assert r.json()["params"] == {
        "quantity": 8,
        "left": 2,
        "keep": 3,
        "stock": 10,
        "resource": "boats",
        "commune": GIVES,
    }
    assert site.inventory(GIVES)["reserved"] == {} and site.audit("offer.create") == []
    r = gives.post(f"/requests/{request['id']}/offers", json=body | {"confirm_below_reserve": True})
    assert r.status_code == 201 and r.json()["below_reserve"] is True, r.text
    (entry,) = site.audit("offer.create")
    assert (entry["after"]["below_reserve"], entry["after"]["confirmed"]) == (True, True)


def _page(site, user: str):
    client = site.client
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post(
        "/login",
        data={"username": user, "password": PASSWORD, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return client


def _offer_form(html: str, request_id: int, form_id: str | None = None) -> dict[str, str]:
    """The hidden fields of the request's offer form (or of the form with ``form_id``)."""
    where = f'id="{form_id}"' if form_id else f'action="/commune/requests/{request_id}/offer"'
    start = html.index(where)
    form = html[start : html.index("</form>", start)]
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form))


def test_the_commune_page_asks_before_sending_below_the_reserve_and_then_sends(site):
    request = _request_for(site, 8)
    page = _page(site, "tayson")
    html = page.get("/commune").text
    fields = _offer_form(html, request["id"])
    r = page.post(
        f"/commune/requests/{request['id']}/offer", data=fields | {f"offer_{request['id']}": "8"}
    )
    # nothing sent yet: the page says what would stay at home and offers to send anyway
    assert r.status_code == 422
    assert "Gửi 8 thì xã chỉ còn 2 ở nhà, ít hơn mức dự phòng 3 (30% của 10)" in r.text
    assert site.inventory(GIVES)["reserved"] == {} and site.audit("offer.create") == []
    confirm = _offer_form(r.text, request["id"], form_id=f"confirm-{request['id']}")
    assert (confirm[f"offer_{request['id']}"], confirm["confirm_below_reserve"]) == ("8", "1")
    assert "Vẫn gửi" in r.text
    r = page.post(f"/commune/requests/{request['id']}/offer", data=confirm, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert site.inventory(GIVES)["reserved"] == {"boats": 8}
    (entry,) = site.audit("offer.create")
    assert (entry["after"]["below_reserve"], entry["after"]["confirmed"]) == (True, True)
    assert entry["after"]["commune"] == GIVES and site.request_now(request)["commune"] == ASKS


def test_an_offer_within_the_reserve_is_sent_from_the_page_at_once(site):
    request = _request_for(site, 5)
    page = _page(site, "tayson")
    fields = _offer_form(page.get("/commune").text, request["id"])
    r = page.post(
        f"/commune/requests/{request['id']}/offer",
        data=fields | {f"offer_{request['id']}": "5"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert site.inventory(GIVES)["reserved"] == {"boats": 5}
