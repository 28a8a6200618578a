"""A card edited past the helper's spare after its reserve: the API's answer and the planner's
page warn, naming the helper, the resource, committed and spare; signing stays possible and the
sign step shows the warning too."""

from __future__ import annotations

import re

from tests.fast.conftest import ASKS, GIVES, Site
from tests.fast.test_isolation import _login
from tests.fast.test_regulations import create
from tests.fast.test_regulations_pages import _form


def _cards(boats: int) -> list[dict]:
    """One level-2 card: Tây Sơn sends Đông Hà ``boats`` boats."""
    return [
        {
            "hazard": "flood",
            "level": 2,
            "from": GIVES,
            "to": ASKS,
            "order": 1,
            "resources": {"boats": boats},
        }
    ]


def test_the_api_warns_of_a_card_past_the_helpers_spare_and_still_signs(site: Site):
    # 100 - ⌈0.3 × 100⌉ = 70 to spare when Đông Hà floods alone; 61 when its level-3 valley
    # floods Tây Sơn too (9 boats for its own people)
    site.stock(GIVES, "tayson", boats=100)
    reg = create(site)
    r = site.as_("planner").request(
        "PATCH", f"/regulations/{reg['id']}", json={"box_cards": _cards(61)}
    )
    assert r.status_code == 200, r.text
    assert r.json()["warnings"] == []
    r = site.as_("planner").request(
        "PATCH", f"/regulations/{reg['id']}", json={"box_cards": _cards(80)}
    )
    assert r.status_code == 200, r.text  # a warning, not a refusal
    (w,) = r.json()["warnings"]
    assert w["code"] == "card_over_spare" and w["field"] == "box_cards"
    p = w["params"]
    assert (p["helper"], p["resource"], p["committed"], p["spare"]) == (GIVES, "boats", 80, 61)
    assert p["level"] == 3 and p["scenario"] == f"{ASKS}:valley:3"  # where it is most over
    r = site.as_("planner").post(f"/regulations/{reg['id']}/sign")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "signed"
    assert [x["params"]["helper"] for x in r.json()["warnings"]] == [GIVES]
    # what is read back is the regulation, as before
    assert "warnings" not in site.as_("planner").get(f"/regulations/{reg['id']}").json()


def test_the_planner_page_shows_the_warning_on_the_edit_and_the_sign_step(site: Site):
    site.stock(GIVES, "tayson", boats=100, militia=1000)
    site.stock(ASKS, "dongha", boats=100)  # the sample's card back to Tây Sơn fits too
    reg = create(site)
    rid = reg["id"]
    _login(site.client, "planner")
    page = site.client.get(f"/planner/regulations/{rid}")
    assert 'id="over-spare"' not in page.text  # the sample's cards fit
    action = f"/planner/regulations/{rid}/cards/0"
    r = site.client.post(
        action,
        data={
            **_form(page.text, action),
            "resources": "boats=80, militia=10",
            "within_minutes": "",
        },
    )
    assert r.status_code == 200, r.text  # saved: the redirect lands on the page
    assert 'id="over-spare"' in r.text
    item = re.search(rf'<li id="over-spare-{GIVES}-boats">([^<]*)</li>', r.text)
    assert item, r.text
    text = item.group(1)
    # level 3 fires both Tây Sơn cards: 80 + 3 boats, against 61 to spare then
    assert "Xã Tây Sơn" in text and "xuồng" in text, text
    assert "83 chiếc" in text and "(61 chiếc)" in text and "cấp độ rủi ro 3" in text, text
    assert 'id="sign"' in r.text  # signing stays possible, with the warning shown
    sign = f"/planner/regulations/{rid}/sign"
    done = site.client.post(sign, data=_form(r.text, sign))
    assert done.status_code == 200 and "Đã ký" in done.text
    assert f'id="over-spare-{GIVES}-boats"' in done.text
    en = site.client.get(f"/planner/regulations/{rid}?lang=en").text
    assert re.search(rf'id="over-spare-{GIVES}-boats">[^<]*can spare', en), en
