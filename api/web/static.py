"""Static files served by the service itself: Leaflet from npm (maps/assets) and page assets."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from maps.offline import LEAFLET_DIST, SWAGGER_DIST, SWAGGER_URL, VENDOR_URL

PAGE_STATIC = Path(__file__).resolve().parent / "static"


def mount_static(app: FastAPI) -> None:
    """Mount ``/static/vendor/leaflet`` (Leaflet's dist from npm) and ``/static/app``.

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
    app.mount(VENDOR_URL, StaticFiles(directory=LEAFLET_DIST), name="vendor-leaflet")
    if SWAGGER_DIST.exists():
        app.mount(SWAGGER_URL, StaticFiles(directory=SWAGGER_DIST), name="vendor-swagger")
    app.mount("/static/app", StaticFiles(directory=PAGE_STATIC), name="app-static")
