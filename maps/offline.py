"""Offline Leaflet: every script and stylesheet comes from the service itself.

Leaflet is installed from the npm registry by ``scripts/setup`` into ``maps/assets/node_modules``
(never committed) and served under :data:`VENDOR_URL`. Folium's defaults (CDN copies of Leaflet,
jQuery, Bootstrap, Font Awesome, awesome-markers) are replaced by the local Leaflet alone; the
map builders use nothing else.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "assets"
LEAFLET_DIST = ASSETS / "node_modules" / "leaflet" / "dist"
VENDOR_URL = "/static/vendor/leaflet"
SWAGGER_DIST = ASSETS / "node_modules" / "swagger-ui-dist"
SWAGGER_URL = "/static/vendor/swagger-ui"


def fingerprint(path: Path) -> str:
    """The first 10 hex digits of a file's content hash ("" when it is missing): the ``?v=``
    of its URL, so that a browser may keep it for a year and a new version has a new URL."""
    try:
        return hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()[:10]
    except OSError:
        return ""


def versioned(base: str, directory: Path, name: str) -> str:
    """``base/name?v=<fingerprint>`` (plain ``base/name`` when the file is missing)."""
    v = fingerprint(directory / name)
    return f"{base}/{name}?v={v}" if v else f"{base}/{name}"


#: Computed once at import: the maps reference Leaflet by its fingerprinted URL.
LEAFLET_JS = versioned(VENDOR_URL, LEAFLET_DIST, "leaflet.js")
LEAFLET_CSS = versioned(VENDOR_URL, LEAFLET_DIST, "leaflet.css")
LOCAL_JS = [("leaflet", LEAFLET_JS)]
LOCAL_CSS = [("leaflet_css", LEAFLET_CSS)]

#: Credit for the boundary data, shown on every map (text only: no outside link).
ATTRIBUTION = (
    "Ranh giới xã: thanglequoc/vietnamese-provinces-database (MIT), theo Bản đồ đơn vị hành chính "
    "của Bộ Nông nghiệp và Môi trường"
)


def leaflet_available() -> bool:
    """Whether the npm assets are installed (``bash scripts/setup``)."""
    return (LEAFLET_DIST / "leaflet.js").exists()
