"""The readiness map page: a province's communes coloured by the share of their modelled needs
at one level that their own stock plus their regulations' cards cover (Folium, offline)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.auth import authenticate
from api.db import session_scope
from api.deps import StateDep
from api.map_cache import page_key
from api.routes.maps import _html, _lang, _tiles
from api.services.regulation_drafts import names_of, readiness_of
from maps.readiness import readiness_map

router = APIRouter(prefix="/maps", tags=["maps"])


@router.get("/readiness", response_class=HTMLResponse)
def readiness_page(
    request: Request,
    state: StateDep,
    province: str = Query(..., pattern=r"^\d{1,2}$"),
    level: str = Query("2", pattern=r"^[123]$"),
    lang: str | None = None,
) -> Response:
    """Communes by coverage at ``level``; grey without a regulation, red outline over holdings."""
    with session_scope(state.read_session) as s:
        authenticate(request, s)
        rows, gaps = readiness_of(s, state.graph, province)
    data = [r.to_json() for r in rows]
    exceeds = sorted({o["commune"] for o in gaps["over_holdings"]})
    partners = {p for r in data for p in r["partners"]}
    lang = _lang(request, lang)
    area = str(province).zfill(2)
    key = page_key(
        "readiness", province=area, level=level, rows=data, exceeds=exceeds, lang=lang,
        tiles=_tiles(state),
    )  # fmt: skip

    def build() -> Any:
        communes, provinces = state.display.get(area)
        return readiness_map(
            communes, provinces, data, level=level, exceeds=exceeds,
            names=names_of(state.graph, partners), lang=lang, **_tiles(state),
        )  # fmt: skip

    return _html(request, state, key, build)
