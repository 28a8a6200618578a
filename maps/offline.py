"""Offline Leaflet: every script and stylesheet comes from the service itself.

Leaflet is installed from the npm registry by ``scripts/setup`` into ``maps/assets/node_modules``
(never committed) and served under :data:`VENDOR_URL`. Folium's defaults (CDN copies of Leaflet,
jQuery, Bootstrap, Font Awesome, awesome-markers) are replaced by the local Leaflet alone; the
map builders use nothing else.
"""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "assets"
LEAFLET_DIST = ASSETS / "node_modules" / "leaflet" / "dist"
VENDOR_URL = "/static/vendor/leaflet"
SWAGGER_DIST = ASSETS / "node_modules" / "swagger-ui-dist"
SWAGGER_URL = "/static/vendor/swagger-ui"

LOCAL_JS = [("leaflet", f"{VENDOR_URL}/leaflet.js")]
LOCAL_CSS = [("leaflet_css", f"{VENDOR_URL}/leaflet.css")]

#: Credit for the boundary data, shown on every map (text only: no outside link).
ATTRIBUTION = (
    "Ranh giới xã: thanglequoc/vietnamese-provinces-database (MIT), theo Bản đồ đơn vị hành chính "
    "của Bộ Nông nghiệp và Môi trường"
)


def leaflet_available() -> bool:
    """Whether the npm assets are installed (``bash scripts/setup``)."""
    return (LEAFLET_DIST / "leaflet.js").exists()
