"""Static assets with fingerprinted URLs, the web app manifest and the service worker.

Every file under ``/static/app`` and Leaflet's under ``/static/vendor/leaflet`` is referenced
as ``…/name?v=<content hash>`` (hashed once at start-up, :func:`asset`). A request carrying the
file's current hash is answered with ``Cache-Control: public, max-age=31536000, immutable``: the
browser keeps it for a year and never asks again, and a changed file has a new URL. Any other
request for it (no ``v``, an old one) gets ``no-cache`` and its ETag, so it is revalidated.

The service worker (``static/sw.js``) is served from ``/sw.js`` so that it may control every
page; its list of assets to keep (their fingerprinted URLs) is filled in here, so a new version
of any asset is a new service worker, which drops the old copies.
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from api.web.render import lang_of, templates
from geo import i18n
from maps.offline import LEAFLET_CSS, LEAFLET_JS, fingerprint

PAGE_STATIC = Path(__file__).resolve().parent / "static"
PAGE_URL = "/static/app"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

router = APIRouter(include_in_schema=False)


@cache
def _hash(directory: Path, name: str) -> str:
    return fingerprint(directory / name)


def asset(name: str) -> str:
    """The fingerprinted URL of a page asset: ``asset("app.js")`` → ``/static/app/app.js?v=…``."""
    v = _hash(PAGE_STATIC, name)
    return f"{PAGE_URL}/{name}?v={v}" if v else f"{PAGE_URL}/{name}"


templates.env.globals["asset"] = asset


class FingerprintedFiles(StaticFiles):
    """Static files cached for a year when asked for by their current hash, else revalidated."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            sent = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v", [""])[0]
            current = _hash(Path(str(self.directory)), path) if sent else ""
            response.headers["cache-control"] = (
                IMMUTABLE if sent and sent == current else REVALIDATE
            )
        return response


def kept_assets() -> list[str]:
    """What the service worker keeps for a page to work without a link."""
    return [asset("app.css"), asset("app.js"), asset("icon.svg"), LEAFLET_JS, LEAFLET_CSS]


@lru_cache(maxsize=1)
def _worker() -> bytes:
    source = (PAGE_STATIC / "sw.js").read_text(encoding="utf-8")
    urls = kept_assets()
    version = (
        fingerprint(PAGE_STATIC / "sw.js") + "-" + "-".join(u.rsplit("=", 1)[-1] for u in urls)
    )
    filled = source.replace("/*ASSETS*/[]", json.dumps(urls)).replace("/*VERSION*/", version)
    return filled.encode()


@router.get("/sw.js")
def service_worker() -> Response:
    """The service worker, at the root so that it controls every page; always revalidated."""
    return Response(
        _worker(),
        media_type="text/javascript",
        headers={"Cache-Control": REVALIDATE, "Service-Worker-Allowed": "/"},
    )


@router.get("/manifest.webmanifest")
def manifest(request: Request) -> Response:
    """The web app manifest, in the page language."""
    lang = lang_of(request)
    body = {
        "name": i18n.gettext(lang, "app.name"),
        "short_name": i18n.gettext(lang, "app.name"),
        "lang": lang,
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#f4f5f2",
        "theme_color": "#1d3557",
        "icons": [{"src": asset("icon.svg"), "sizes": "any", "type": "image/svg+xml"}],
    }
    return Response(
        json.dumps(body, ensure_ascii=False).encode(),
        media_type="application/manifest+json",
        headers={"Cache-Control": REVALIDATE},
    )
