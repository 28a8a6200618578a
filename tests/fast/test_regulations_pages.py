"""The planner's regulations pages, without JavaScript: list, view, edit a card (errors next to
the card, in the page language), sign; the exercise banner on every page."""

from __future__ import annotations

import re

from tests.fast.conftest import Site
from tests.fast.test_isolation import _login
from tests.fast.test_regulations import create, declare


def _form(page: str, action: str) -> dict[str, str]:
    m = re.search(
        rf'action="{re.escape(action)}"[^>]*>\s*<input type="hidden" name="csrf_token" '
        r'value="([^"]+)"><input type="hidden" name="idempotency_key" value="([^"]+)">',
        page,
    )
    assert m, action
    return {"csrf_token": m.group(1), "idempotency_key": m.group(2)}


def test_planner_lists_edits_a_card_and_signs(site: Site):
    reg = create(site)
    rid = reg["id"]
    _login(site.client, "planner")
    listing = site.client.get("/planner/regulations")
    assert listing.status_code == 200 and "01/QC-PH" in listing.text and "Dự thảo" in listing.text
    page = site.client.get(f"/planner/regulations/{rid}")
    assert 'value="boats=2, militia=10"' in page.text
    action = f"/planner/regulations/{rid}/cards/0"
    bad = site.client.post(
        action, data={**_form(page.text, action), "resources": "boats=0", "within_minutes": "45"}
    )
    assert bad.status_code == 422
    assert re.search(r'id="err-card_0">[^<]*số nguyên dương', bad.text), bad.text
    page = site.client.get(f"/planner/regulations/{rid}")
    r = site.client.post(
        action,
        data={
            **_form(page.text, action),
            "resources": "boats=4, militia=10",
            "within_minutes": "45",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    now = site.as_("planner").get(f"/regulations/{rid}").json()
    assert (
        now["version"],
        now["box_cards"][0]["resources"],
        now["box_cards"][0]["within_minutes"],
    ) == (
        2,
        {"boats": 4, "militia": 10},
        45,
    )
    page = site.client.get(f"/planner/regulations/{rid}")
    sign = f"/planner/regulations/{rid}/sign"
    r = site.client.post(sign, data=_form(page.text, sign), follow_redirects=False)
    assert r.status_code == 303, r.text
    assert site.as_("planner").get(f"/regulations/{rid}").json()["status"] == "signed"
    assert "Đã ký" in site.client.get(f"/planner/regulations/{rid}").text


def test_an_exercise_is_marked_on_every_page(site: Site):
    _login(site.client, "bch40")
    assert "exercise-banner" not in site.client.get("/command").text
    drill = declare(site, 1, exercise=True)
    for path in ("/command", "/planner/regulations"):
        page = site.client.get(path)
        assert page.status_code == 200
        assert 'class="exercise-banner"' in page.text and f"#{drill['id']}" in page.text
