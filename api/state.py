"""What the application loads once and holds for its lifetime, typed.

The lifespan builds one :class:`AppState` per process; routes, maps and pages reach it through
:data:`api.deps.StateDep` (or :func:`state_of` where there is no dependency injection, e.g. in an
exception handler).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import Request

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from api.auth import Tokens
    from api.map_cache import RenderedPages
    from api.settings import Settings
    from geo.names import NameIndex
    from maps.simplify import DisplayCache


@dataclass
class GeoData:
    """The boundaries and what is derived from them, loaded once per process."""

    gdf: gpd.GeoDataFrame
    graph: nx.Graph
    display: DisplayCache
    communes_by_province: dict[str, set[str]]
    #: rendered GeoJSON answers, by request (filled lazily)
    geojson_cache: dict[Any, Any] = field(default_factory=dict)
    #: rendered map pages, by what they show (:mod:`api.map_cache`)
    map_pages: RenderedPages = field(default_factory=lambda: _pages())
    #: commune code -> name (filled lazily, for notifications and SMS)
    short_names: dict[str, str] = field(default_factory=dict)
    #: set once the overview's display geometry is ready (``/readyz``); given geodata is ready
    ready: threading.Event = field(default_factory=lambda: _set(threading.Event()))
    #: the communes' folded names for search and name pickers (built on first use:
    #: :func:`api.services.commune_names.name_index`)
    names: NameIndex | None = None


def _pages() -> RenderedPages:
    from api.map_cache import RenderedPages

    return RenderedPages()


def _set(event: threading.Event) -> threading.Event:
    event.set()
    return event


@dataclass
class AppState:
    """Settings, database, token signer and geodata of one running application."""

    settings: Settings
    engine: Engine
    read_session: sessionmaker[Session]
    write_session: sessionmaker[Session]
    tokens: Tokens
    geo: GeoData

    @property
    def graph(self) -> nx.Graph:
        """The adjacency graph (``geo.graph``)."""
        return self.geo.graph

    @property
    def gdf(self) -> gpd.GeoDataFrame:
        """The validated boundaries (``geo.gdf``)."""
        return self.geo.gdf

    @property
    def display(self) -> DisplayCache:
        """The display geometry cache (``geo.display``)."""
        return self.geo.display

    @property
    def communes_by_province(self) -> dict[str, set[str]]:
        """Commune codes by province code (``geo.communes_by_province``)."""
        return self.geo.communes_by_province

    @property
    def geojson_cache(self) -> dict[Any, Any]:
        """Rendered GeoJSON answers (``geo.geojson_cache``)."""
        return self.geo.geojson_cache


def state_of(request: Request) -> AppState:
    """The application's state, for code that has a request but no dependency injection."""
    state: AppState = request.app.state.lienxa
    return state
