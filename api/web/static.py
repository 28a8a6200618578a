"""Static files served by the service itself: Leaflet from npm (maps/assets) and page assets."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.web.assets import PAGE_STATIC, FingerprintedFiles
from maps.offline import LEAFLET_DIST, SWAGGER_DIST, SWAGGER_URL, VENDOR_URL


def mount_static(app: FastAPI) -> None:
    """Mount ``/static/vendor/leaflet`` (Leaflet's dist from npm) and ``/static/app``, both
    cached for a year when asked for by their fingerprinted URL (:mod:`api.web.assets`).

    Raises
    ------
    RuntimeError
        When Leaflet is not installed: run ``bash scripts/setup`` (it runs ``npm ci`` in
        maps/assets). The maps would not render offline without it.
    """
    if not (LEAFLET_DIST / "leaflet.js").exists():
        raise RuntimeError(
            f"Leaflet is missing from {LEAFLET_DIST}: "
            "run `bash scripts/setup` (npm ci in maps/assets)"
        )
    app.mount(VENDOR_URL, FingerprintedFiles(directory=LEAFLET_DIST), name="vendor-leaflet")
    if SWAGGER_DIST.exists():
        app.mount(SWAGGER_URL, StaticFiles(directory=SWAGGER_DIST), name="vendor-swagger")
    app.mount("/static/app", FingerprintedFiles(directory=PAGE_STATIC), name="app-static")
