"""Pages and maps in a real headless Chromium (Debian's, driven by Playwright) against a real
server, with every outside request blocked and recorded."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import PASSWORD
from tests.conftest import REPO
from tests.web.conftest import site_with_incident

#: where the tests put their screenshots; never tracked files (docs/screenshots is refreshed on
#: purpose, by scripts/update-screenshots)
ARTIFACTS = REPO / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with site_with_incident(tmp_path_factory.mktemp("web")) as s:
        yield s


class Watch:
    """A page whose requests outside the server are blocked and recorded, as are failures."""

    def __init__(self, browser, base: str, *, phone: bool = False) -> None:
        if phone:
            self.ctx = browser.new_context(
                viewport={"width": 360, "height": 740},
                locale="vi-VN",
                is_mobile=True,
                has_touch=True,
            )
        else:
            self.ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
        self.page = self.ctx.new_page()
        self.outside: list[str] = []
        self.failed: list[str] = []
        self.base = base

        def route(r):
            if r.request.url.startswith(base) or r.request.url.startswith("data:"):
                r.continue_()
            else:
                self.outside.append(r.request.url)
                r.abort()

        self.page.route("**/*", route)
        # a same-origin load cut short by the page navigating on (an iframe while a form is
        # posted) is not a failure of the service; anything else is
        self.page.on(
            "requestfailed",
            lambda req: (
                None
                if req.failure == "net::ERR_ABORTED" and req.url.startswith(base)
                else self.failed.append(f"{req.url} {req.failure}")
            ),
        )
        self.page.on(
            "response",
            lambda resp: (
                self.failed.append(f"{resp.status} {resp.url}") if resp.status >= 500 else None
            ),
        )

    def login(self, user: str) -> None:
        self.page.goto(self.base + "/login")
        self.page.fill("input[name=username]", user)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state("networkidle")

    def shot(self, name: str, *, full_page: bool = False) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def close(self) -> None:
        assert self.outside == [], f"requests left the service: {self.outside}"
        assert self.failed == [], f"requests failed: {self.failed}"
        self.ctx.close()


#: true once the map's canvas has painted something: Leaflet draws all its paths in one frame
MAP_PAINTED = """() => {
  const c = document.querySelector(".leaflet-overlay-pane canvas");
  if (!c || !c.width || !c.height) return false;
  const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < px.length; i += 4 * 97) if (px[i] > 0) return true;
  return false;
}"""


def wait_for_maps(page, timeout: float = 30000) -> None:
    """Until every map on the page (itself, or in its iframes) has painted its polygons."""
    frames = [f for f in page.frames if "/maps/" in f.url]
    for frame in frames or [page.main_frame]:
        frame.wait_for_selector(".leaflet-overlay-pane canvas", state="attached", timeout=timeout)
        frame.wait_for_function(MAP_PAINTED, timeout=timeout)


def colour_share(path: Path, rgb: tuple[int, int, int], tol: int = 12) -> float:
    """The share of the screenshot's pixels within ``tol`` of ``rgb``."""
    import numpy as np
    from PIL import Image

    px = np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)
    hit = np.all(np.abs(px - np.asarray(rgb, dtype=np.int16)) <= tol, axis=-1)
    return float(hit.mean())


def blend(
    fill: tuple[int, int, int], alpha: float = 0.75, bg: tuple[int, int, int] = (207, 227, 239)
):
    """A polygon's colour as drawn: its fill at ``alpha`` over the map's background."""
    return tuple(round(alpha * f + (1 - alpha) * b) for f, b in zip(fill, bg, strict=True))


def test_leader_requests_neighbour_offers_requester_accepts(site, browser):
    conc = Watch(browser, site["url"])
    conc.login("conc")
    page = conc.page
    assert page.url.endswith("/commune")
    assert page.locator("h1").inner_text().startswith("Xã Con Cuông")
    # a form error keeps what was typed and shows the error next to the field
    page.fill("#request-form input[name=to]", "17248")
    page.fill("#request-form textarea[name=note]", "Thôn Tiên Thành ngập sâu")
    page.fill("#request-form input[name=quantity]", "-5")
    page.click("#request-form button[type=submit]")
    assert "số nguyên dương" in page.locator("#err-quantity").inner_text()
    assert page.input_value("#request-form textarea[name=note]") == "Thôn Tiên Thành ngập sâu"
    assert page.input_value("#request-form input[name=to]") == "17248"
    page.select_option("#request-form select[name=resource]", "boats")
    page.fill("#request-form input[name=quantity]", "3")
    page.click("#request-form button[type=submit]")
    page.wait_for_url("**/commune?code=17254&done=request")
    # the page says what happened, not just "saved"
    assert page.locator("#notice").inner_text() == "Đã gửi đề nghị 3 xuồng, ca nô tới Xã Châu Khê"
    outgoing = page.locator("[id^=outgoing-]").first
    assert "xuồng, ca nô → Xã Châu Khê" in outgoing.inner_text()
    request_id = outgoing.get_attribute("id").split("-")[1]
    conc.shot("leader-request")

    ck = Watch(browser, site["url"])
    ck.login("chaukhe")
    card = ck.page.locator(f"#incoming-{request_id}")
    assert "Thôn Tiên Thành ngập sâu" in card.inner_text()
    # the requester by its name, as a new chairman knows it, not its five-digit code
    assert "Xã Con Cuông" in card.inner_text() and "17254" not in card.inner_text()
    card.locator(f"input[name=offer_{request_id}]").fill("2")
    card.locator("button", has_text="Cam kết hỗ trợ").click()
    ck.page.wait_for_url("**done=offer")
    assert (
        ck.page.locator("#notice").inner_text() == "Đã cam kết gửi 2 xuồng, ca nô cho Xã Con Cuông"
    )
    ck.shot("neighbour-offer")

    page.reload()
    offer = page.locator(f"#outgoing-{request_id} li").first
    assert "đã cam kết" in offer.inner_text()
    offer.locator("button", has_text="Chấp nhận").click()
    page.wait_for_url("**done=accept")
    assert page.locator("#notice").inner_text() == "Đã nhận lời 2 xuồng, ca nô từ Xã Châu Khê"
    assert "đã chấp nhận" in page.locator(f"#outgoing-{request_id} li").first.inner_text()

    # the neighbour sends what it offered from its own page; the requester sees it on its way
    ck.page.reload()
    mine = ck.page.locator("[id^=my-offer-]", has_text=f"#{request_id}")
    assert "đã chấp nhận" in mine.inner_text()
    mine.locator("button", has_text="Xuất phát").click()
    ck.page.wait_for_url("**done=dispatch")
    assert (
        "đang vận chuyển"
        in ck.page.locator("[id^=my-offer-]", has_text=f"#{request_id}").inner_text()
    )
    ck.close()
    page.reload()
    assert "2 xuồng, ca nô từ Xã Châu Khê" in page.locator("#on-way").inner_text()
    page.locator(f"#outgoing-{request_id} li").first.locator("button", has_text="Đã đến").click()
    page.wait_for_url("**done=arrive")
    assert page.locator("#notice").inner_text() == "Đã nhận 2 xuồng, ca nô từ Xã Châu Khê"
    assert "Không có" in page.locator("#on-way").inner_text()
    conc.close()


@pytest.mark.parametrize(
    "path, name, fill, least",
    [
        (
            "/maps/overview",
            "map-overview",
            (232, 232, 227),
            0.07,
        ),  # neutral communes (14% measured)
        (
            "/maps/incidents/{incident}",
            "map-incident",
            (255, 159, 28),
            0.004,
        ),  # risk level 3: orange (0.9%)
        ("/maps/communes/17254", "map-commune", (255, 159, 28), 0.012),  # the commune itself (2.4%)
        ("/maps/rules", "map-rules", (232, 232, 227), 0.07),  # (13.5%)
    ],
)
def test_maps_render_polygons_offline(site, browser, path, name, fill, least):
    w = Watch(browser, site["url"])
    w.login("bchqs")
    w.page.goto(site["url"] + path.format(incident=site["incident"]))
    wait_for_maps(w.page)
    shot = w.shot(name)
    # the polygons are drawn: their fill colour covers a real part of the picture
    share = colour_share(shot, blend(fill))
    assert share > least, f"{name}: only {share:.1%} of pixels in the fill colour"
    html = w.page.content()
    assert "Ranh giới xã: thanglequoc/vietnamese-provinces-database" in html
    w.close()


def test_search_finds_communes_without_diacritics(site, browser):
    w = Watch(browser, site["url"])
    w.login("bchqs")
    w.page.goto(site["url"] + "/maps/overview")
    w.page.fill("#lx-q", "chau khe")
    hits = w.page.locator("#lx-hits li")
    assert hits.first.inner_text() == "Xã Châu Khê (17248)"
    w.close()


def test_command_and_planner_pages(site, browser):
    w = Watch(browser, site["url"])
    w.login("bchqs")
    assert w.page.url.endswith("/command")
    assert w.page.locator("#live-escalations li").count() >= 1
    # escalations per resource, never a sum of litres and boats
    escalated = w.page.locator("#live-escalations").inner_text()
    assert "nước uống" in escalated and "Nghệ An" in escalated
    # each resource with its unit, as the incident map lists them
    assert re.search(r"nước uống: [\d.]+ lít", escalated), escalated
    assert re.search(
        r"\d lít$",
        w.page.locator("#live-unmet tr", has_text="nước uống")
        .first.locator("td")
        .nth(2)
        .inner_text(),
    )
    # the live list refreshes itself from the feed, in the page's language
    w.page.evaluate("document.querySelector('#live-requests tbody').innerHTML = ''")
    w.page.evaluate("window.lxRefresh()")
    w.page.wait_for_selector("#live-requests tbody tr")
    assert "Xã Châu Khê: 2 (đã đến)" in w.page.locator("#live-requests").inner_text()
    assert w.page.locator("#live-escalations").inner_text() == escalated
    w.page.wait_for_load_state("networkidle")  # the maps' iframes are loaded...
    wait_for_maps(w.page)  # ...and have drawn, for the picture
    w.shot("command")
    w.close()
    p = Watch(browser, site["url"])
    p.login("planner")
    assert p.page.url.endswith("/planner")
    p.page.select_option("#rule-form select[name=type]", "add_link")
    p.page.fill("#rule-form input[name=a]", "16876")
    p.page.fill("#rule-form input[name=b]", "16816")
    p.page.fill("#rule-form input[name=travel_minutes]", "abc")
    p.page.fill("#rule-form input[name=reason]", "phà mới")
    p.page.click("#rule-form button[type=submit]")
    assert "số" in p.page.locator("#err-travel_minutes").inner_text()
    assert p.page.input_value("#rule-form input[name=reason]") == "phà mới"
    # an unknown commune is shown next to the field that holds it
    p.page.fill("#rule-form input[name=travel_minutes]", "45")
    p.page.fill("#rule-form input[name=b]", "99999")
    p.page.click("#rule-form button[type=submit]")
    assert "99999" in p.page.locator("#err-b").inner_text()
    assert p.page.input_value("#rule-form input[name=reason]") == "phà mới"
    p.page.fill("#rule-form input[name=b]", "16816")
    p.page.fill("#rule-form input[name=travel_minutes]", "45")
    p.page.click("#rule-form button[type=submit]")
    p.page.wait_for_url("**/planner?done=rule")
    # the rule's communes by name, not by code
    assert "Xã Tương Dương – Xã Mỹ Lý" in p.page.locator("table").last.inner_text()
    # edit it: the form comes back filled (the communes by name); the change is a new version
    p.page.locator("table").last.locator("a", has_text="Sửa").last.click()
    assert p.page.input_value("#rule-form input[name=travel_minutes]") == "45"
    assert p.page.input_value("#rule-form input[name=a]") == "Xã Tương Dương"
    assert (
        p.page.locator("#rule-form select[name=type] option:checked").inner_text()
        == "thêm liên kết"
    )
    p.page.fill("#rule-form input[name=travel_minutes]", "60")
    p.page.fill("#rule-form input[name=reason]", "đường phà chậm hơn")
    p.page.click("#rule-form button[type=submit]")
    p.page.wait_for_url("**/planner?done=rule")
    row = p.page.locator("table").last.locator("tr", has_text="Xã Tương Dương – Xã Mỹ Lý")
    assert ".2" in row.locator("td").first.inner_text()  # version 2
    p.close()


def test_english_switch(site, browser):
    w = Watch(browser, site["url"])
    w.login("conc")
    w.page.goto(site["url"] + "/lang/en")
    w.page.goto(site["url"] + "/commune")
    assert "Incoming requests" in w.page.content()
    w.close()


def test_english_pages_write_english_numbers(site, browser):
    """1,556 L on an English page (1.556 would read as one and a half), also after the live
    refresh."""
    w = Watch(browser, site["url"])
    w.login("bchqs")
    w.page.goto(site["url"] + "/lang/en")
    w.page.goto(site["url"] + "/command")
    assert w.page.locator("#live-unmet th").nth(3).inner_text() == "Escalated to"
    unmet = w.page.locator("#live-unmet").inner_text()
    assert re.search(r"drinking water\t\d{1,3},\d{3} L", unmet), unmet
    assert not re.search(r"\d\.\d{3}", unmet)
    escalated = w.page.locator("#live-escalations").inner_text()
    assert re.search(r"drinking water: \d{1,3},\d{3} L", escalated), escalated
    w.page.evaluate("window.lxRefresh()")  # its promise: settled once the lists are redrawn
    assert w.page.locator("#live-unmet").inner_text() == unmet
    assert w.page.locator("#live-escalations").inner_text() == escalated
    w.close()


def test_suggestions_leave_out_what_was_already_asked_for(site, browser):
    """The plan's suggestion shows only what the commune has not asked for yet, so a leader does
    not send the same request twice."""
    w = Watch(browser, site["url"])
    w.login("conc")
    link = w.page.locator("a.prefill").first
    resource, before = link.get_attribute("data-resource"), int(link.get_attribute("data-quantity"))
    assert before > 1
    w.page.goto(site["url"] + link.get_attribute("href"))
    w.page.fill("#request-form input[name=quantity]", "1")
    w.page.click("#request-form button[type=submit]")
    w.page.wait_for_url("**done=request")
    after = w.page.locator(f"a.prefill[data-resource={resource}]")
    assert int(after.get_attribute("data-quantity")) == before - 1
    w.close()


def test_openapi_docs_render_offline(site, browser):
    w = Watch(browser, site["url"])
    w.page.goto(site["url"] + "/docs")
    w.page.wait_for_selector('.opblock-summary-path[data-path="/api/v1/requests"]', timeout=30000)
    assert "Liên Xã" in w.page.content()
    w.close()


@pytest.mark.parametrize(
    "user, path, name",
    [
        (None, "/login", "phone-login"),
        ("conc", "/commune", "phone-commune"),
        ("bchqs", "/command", "phone-command"),
        ("planner", "/planner", "phone-planner"),
    ],
)
def test_pages_fit_a_phone(site, browser, user, path, name):
    w = Watch(browser, site["url"], phone=True)
    if user:
        w.login(user)
    w.page.goto(site["url"] + path)
    w.page.wait_for_load_state("networkidle")
    # nothing wider than the screen: no sideways scrolling to reach a field or a button
    width = w.page.evaluate("document.documentElement.scrollWidth")
    w.shot(name, full_page=True)
    assert width <= 360, f"{path} is {width} px wide on a 360 px phone"
    w.close()


def test_suggestion_fills_the_request_form_without_script(site, browser):
    w = Watch(browser, site["url"])
    w.login("conc")
    link = w.page.locator("a.prefill").first
    href = link.get_attribute("href")
    w.page.goto(site["url"] + href)  # what a browser without script does with the link
    assert w.page.input_value("#request-form input[name=quantity]") == link.get_attribute(
        "data-quantity"
    )
    assert w.page.input_value("#request-form input[name=to]") == link.get_attribute("data-to")
    assert w.page.input_value("#request-form select[name=resource]") == link.get_attribute(
        "data-resource"
    )
    w.close()


def test_no_page_or_map_names_an_outside_url(site):
    """The HTML of every page and map, and the page assets, name no outside address."""
    import re

    url_re = re.compile(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
    base = site["url"]
    seen = {}
    for user, paths in {
        None: ["/login", "/docs"],
        "conc": ["/commune", "/maps/communes/17254", "/static/app/app.css", "/static/app/app.js"],
        "bchqs": [
            "/command",
            "/command/feed",
            "/maps/overview",
            f"/maps/incidents/{site['incident']}",
            "/maps/overview?lang=en",
            "/maps/overview?lang=xx",
        ],
        "planner": ["/planner", "/maps/rules", "/maps/rules?lang=en"],
    }.items():
        with httpx.Client(base_url=base, follow_redirects=True, timeout=60) as c:
            if user:  # through the login form, with its CSRF token
                csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(
                    1
                )
                c.post("/login", data={"username": user, "password": PASSWORD, "csrf_token": csrf})
            for path in paths:
                r = c.get(path)
                assert r.status_code == 200, f"{path}: {r.status_code}"
                seen[path] = url_re.findall(r.text)
    assert {p: u for p, u in seen.items() if u} == {}


def test_map_panels_fold_on_a_phone(site, browser):
    w = Watch(browser, site["url"], phone=True)
    w.login("conc")
    w.page.goto(site["url"] + "/maps/communes/17254")
    w.page.wait_for_selector(".lx-panel")
    # the inventory and request panels would cover the map: they start folded to their title
    assert w.page.locator(".lx-panel.lx-closed").count() == w.page.locator(".lx-panel").count() >= 1
    assert not w.page.locator(".lx-panel ul, .lx-panel div").first.is_visible()
    w.page.locator(".lx-panel h4").first.click()
    assert w.page.locator(".lx-panel:not(.lx-closed)").count() == 1
    w.shot("phone-map-commune")
    w.close()


def test_pages_print_without_navigation_or_forms(site, browser):
    w = Watch(browser, site["url"])
    w.login("conc")
    w.page.emulate_media(media="print")
    assert not w.page.locator(".top nav").is_visible()
    assert not w.page.locator("#request-form").is_visible()
    assert not w.page.locator("iframe").first.is_visible()
    assert w.page.locator("h1").is_visible() and "Xã Con Cuông" in w.page.locator("h1").inner_text()
    w.close()
