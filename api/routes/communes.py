"""Communes: boundaries as GeoJSON, one commune, its neighbours, and its inventory."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import Response

from api.deps import CurrentUser, ReadSessionDep, StateDep, WriterDep
from api.errors import NotFound
from api.schemas import Detail, InventoryOut
from api.services.commune_names import name_index, neighbours
from api.services.inventory import inventory_of, set_inventory
from api.state import AppState

router = APIRouter(prefix="/communes", tags=["communes"])


class JsonText:
    """A JSON string where a number was due: refused as a quantity, shown as it was sent."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return repr(self.text)

    def __str__(self) -> str:
        return self.text


def _commune(state: AppState, code: str) -> dict[str, Any]:
    """The commune's node attributes (404 ``unknown_commune`` for a code not in the graph)."""
    if code not in state.graph:
        raise NotFound(
            f"commune {code} not found",
            code="unknown_commune",
            field="code",
            params={"commune": code},
        )
    return {"code": code, **state.graph.nodes[code]}


@router.get("", responses={200: {"content": {"application/geo+json": {}}}})
def read_communes(
    state: StateDep,
    province: str | None = Query(None, pattern=r"^\d{2}$"),
    q: str | None = Query(
        None, max_length=100, description="name search, with or without diacritics"
    ),
    near: str | None = Query(
        None,
        pattern=r"^\d{5}$",
        description="a commune code: its neighbours come first among the name matches",
    ),
    limit: int = Query(50, ge=1, le=200, description="at most this many name matches"),
    simplified: bool = True,
) -> Response:
    """All communes (or one province's, or a name search, best match first) as GeoJSON.

    A search ranks exact names first, then ``near``'s neighbours, then names that start with
    the query; each feature of a search carries ``neighbour`` (whether it borders ``near``).
    Boundaries do not change while the service runs: each answer is built once and cached."""
    from geo.text import fold

    key = (province, fold(q) if q else None, near if q else None, limit, simplified)
    cache = state.geojson_cache
    if key not in cache:
        gdf = state.display.get(province)[0] if simplified else state.gdf
        if province and not simplified:
            gdf = gdf[gdf["province_code"] == province]
        if q:
            close = set(neighbours(state.graph, near))
            hits = name_index(state).search(q, near=close, limit=limit)
            codes = [c.code for c in hits if c.code in gdf.index]
            gdf = gdf.loc[codes].assign(neighbour=[c in close for c in codes])
        if len(cache) > 256:
            cache.clear()
        cache[key] = (
            gdf.drop(columns=["name_folded"])
            .reset_index()
            .to_json(na="null", drop_id=True)
            .encode()
        )
    return Response(cache[key], media_type="application/geo+json")


@router.get("/{code}", responses={404: {"model": Detail}})
def read_commune(code: str, state: StateDep) -> dict[str, Any]:
    """One commune's attributes (name, province, population, area, representative point)."""
    return _commune(state, code)


@router.get("/{code}/neighbours", responses={404: {"model": Detail}})
def read_neighbours(code: str, state: StateDep) -> list[dict[str, Any]]:
    """Neighbours with the link's kind, border length, gap and distance."""
    _commune(state, code)
    G = state.graph
    return [
        {"code": n, "name": G.nodes[n].get("full_name"), **G.edges[code, n]}
        for n in sorted(G[code])
    ]


@router.get(
    "/{code}/inventory",
    response_model=InventoryOut,
    responses={401: {"model": Detail}, 404: {"model": Detail}},
)
def read_inventory(
    code: str, state: StateDep, user: CurrentUser, session: ReadSessionDep
) -> dict[str, Any]:
    """A commune's on-site inventory (``sample`` true when generated, not surveyed)."""
    _commune(state, code)
    return inventory_of(session, code)


@router.put(
    "/{code}/inventory",
    response_model=InventoryOut,
    responses={
        401: {"model": Detail},
        403: {"model": Detail},
        404: {"model": Detail},
        409: {"model": Detail},
        422: {"model": Detail},
    },
)
def update_inventory(
    code: str,
    state: StateDep,
    user: CurrentUser,
    writer: WriterDep,
    items: Annotated[dict[str, Any], Body(examples=[{"boats": 6, "militia": 450}])],
) -> Any:
    """Set the listed resources of a commune's inventory (its leader, or a defence command)."""
    _commune(state, code)
    # quantities are JSON integers: "12" is refused, as any other non-number (a CSV's text,
    # and a page's form fields, are parsed from text elsewhere)
    typed = {k: JsonText(v) if isinstance(v, str) else v for k, v in items.items()}
    return writer.run(lambda s: set_inventory(s, user, code, typed))
