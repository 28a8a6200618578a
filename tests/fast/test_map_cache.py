"""Rendered maps are kept per worker by what they show (api/map_cache.py): the same map is not
rendered twice, a change in what it shows renders it again, and a browser that has the page
gets a 304 with no body."""

from __future__ import annotations

from api.map_cache import RenderedPages, page_key
from tests.fast.conftest import GIVES


def _renders(site) -> int:
    return site.client.app.state.lienxa.geo.map_pages.renders


def test_the_same_overview_is_rendered_once_and_a_new_request_renders_it_again(site):
    auth = site.as_("bch40").headers
    first = site.client.get("/maps/overview", headers=auth)
    assert first.status_code == 200 and "leaflet" in first.text.lower()
    n = _renders(site)
    again = site.client.get("/maps/overview", headers=auth)
    assert again.status_code == 200 and again.content == first.content  # the same nonce too
    assert _renders(site) == n  # kept, not rendered again
    site.ask(site.incident(), 3)  # a new incident and an open request change what it shows
    changed = site.client.get("/maps/overview", headers=auth)
    assert _renders(site) == n + 1
    assert changed.headers["etag"] != first.headers["etag"]


def test_each_language_is_its_own_page(site):
    auth = site.as_("bch40").headers
    vi = site.client.get("/maps/overview?lang=vi", headers=auth)
    en = site.client.get("/maps/overview?lang=en", headers=auth)
    assert vi.headers["etag"] != en.headers["etag"]


def test_a_browser_with_the_page_gets_304_without_a_body(site):
    auth = site.as_("bch40").headers
    r = site.client.get(f"/maps/communes/{GIVES}", headers=auth)
    assert r.status_code == 200
    tag = r.headers["etag"]
    again = site.client.get(f"/maps/communes/{GIVES}", headers={**auth, "If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    # the CSP of the 304 still lets the kept page's scripts run: the same nonce
    assert again.headers["content-security-policy"] == r.headers["content-security-policy"]
    assert "nonce-" in r.headers["content-security-policy"]
    assert "x-lienxa-nonce-seed" not in r.headers
    site.stock(GIVES, "tayson", boats=7)  # the commune's stock changes: the page is new
    after = site.client.get(f"/maps/communes/{GIVES}", headers={**auth, "If-None-Match": tag})
    assert after.status_code == 200 and after.headers["etag"] != tag


def test_a_map_still_needs_a_login(site):
    assert site.client.get("/maps/overview").status_code == 401


def test_the_cache_is_bounded_by_bytes_and_drops_the_least_recently_used():
    pages = RenderedPages(max_bytes=10)
    pages.get("a", lambda: "aaaa")
    pages.get("b", lambda: "bbbb")
    pages.get("a", lambda: "not rendered again")  # a is now the most recent
    pages.get("c", lambda: "cccc")  # 12 bytes > 10: b goes
    assert pages.get("a", lambda: "x") == b"aaaa"
    assert pages.get("b", lambda: "new b") == b"new b"
    assert pages.renders == 4


def test_the_key_does_not_depend_on_the_order_of_a_dicts_keys():
    assert page_key("m", risk={"1": 2, "3": 4}) == page_key("m", risk={"3": 4, "1": 2})
    assert page_key("m", risk={"1": 2}) != page_key("m", risk={"1": 3})


def test_a_large_map_page_is_compressed_once_and_a_different_body_again(monkeypatch):
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route
    from starlette.testclient import TestClient

    import api.compression
    from api.compression import KEEP_PAGES_FROM, Compression

    calls: list[int] = []
    real = api.compression.compress

    def counting(body, encoding, **kw):
        calls.append(len(body))
        return real(body, encoding, **kw)

    monkeypatch.setattr(api.compression, "compress", counting)
    body = {"n": 0}

    def page(request):
        html = b"<html>" + str(body["n"]).encode() + b"x" * KEEP_PAGES_FROM
        headers = {"ETag": '"map"', "Cache-Control": "private, max-age=30"}
        return Response(html, media_type="text/html", headers=headers)

    client = TestClient(Compression(Starlette(routes=[Route("/", page)])))
    gz = {"Accept-Encoding": "gzip"}
    first = client.get("/", headers=gz)
    assert client.get("/", headers=gz).content == first.content
    assert len(calls) == 1  # the second answer is the kept compressed body
    body["n"] = 1  # another body under the same tag (another nonce): compressed anew
    assert client.get("/", headers=gz).content.startswith(b"<html>1")
    assert len(calls) == 2
    assert first.headers["content-encoding"] == "gzip"  # (the client has decompressed it)
    assert first.content.startswith(b"<html>0")


def test_callers_asking_for_a_page_while_it_renders_wait_for_that_one_render():
    import time
    from concurrent.futures import ThreadPoolExecutor

    pages = RenderedPages()

    def slow() -> str:
        time.sleep(0.3)
        return "the overview"

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: pages.get("overview", slow), range(4)))
    assert results == [b"the overview"] * 4
    assert pages.renders == 1
