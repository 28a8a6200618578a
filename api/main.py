"""The FastAPI application: ``create_app(settings)``; ``lienxa serve`` runs it with uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import threading
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import Tokens
from api.compression import Compression
from api.db import make_engine, make_sessionmaker, migration_state, pool_capacity_problem
from api.deps import StateDep
from api.errors import install_handlers
from api.geocache import DiskCache, cache_key, decode_graph, encode_graph
from api.middleware import InputLimits, SecurityHeaders, send_json
from api.services import audit
from api.settings import Settings, get_settings
from api.state import AppState, GeoData
from maps.simplify import DisplayCache

log = logging.getLogger(__name__)


class NotMigrated(RuntimeError):
    """The database is missing tables or behind the code's migrations."""


class BodyLimit:
    """Refuse bodies over ``limit`` bytes with 413, without reading them into memory: at once
    from ``Content-Length``, or as soon as a streamed body passes the limit."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await _json(
                send,
                413,
                f"body of {int(length):,} bytes is over the limit of {self.limit:,} bytes",
                code="body_too_large",
                params={"length": int(length), "limit": self.limit},
            )
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    # an HTTPException, which FastAPI lets through while reading a JSON body
                    # (anything else there becomes "400 There was an error parsing the body")
                    raise HTTPException(413, f"body is over the limit of {self.limit:,} bytes")
            return message

        await self.app(scope, limited, send)


async def _json(
    send: Send, status: int, detail: str, *, code: str, params: Mapping[str, Any]
) -> None:
    """Answer an error straight from the ASGI layer, in the shape of every other error."""
    body = {"detail": detail, "code": code, "field": None, "params": dict(params)}
    await send_json(send, status, body, headers=[(b"connection", b"close")])


def check_migrated(engine: Engine) -> None:
    """Raise :class:`NotMigrated`, saying what to run, unless the database is at the code's head."""
    current, head = migration_state(engine)
    if current != head:
        where = "not created" if current is None else f"at migration {current}"
        raise NotMigrated(
            f"the database {engine.url.render_as_string(hide_password=True)} is "
            f"{where}, the code needs {head}: run `lienxa db upgrade` first"
        )


def geodata_store(settings: Settings, boundaries: Path) -> DiskCache | None:
    """The geodata cache on disk for ``boundaries`` (see :mod:`api.geocache`), or None when
    it is switched off (``LIENXA_GEODATA_CACHE=0``) or its directory cannot be made."""
    if not settings.geodata_cache:
        return None
    directory = settings.cache_dir or settings.data_dir / "cache"
    try:
        return DiskCache(
            directory,
            cache_key(boundaries, settings.boundaries_layer, extra=settings.population),
        )
    except OSError as exc:
        log.warning("geodata cache off: %s", exc)
        return None


def load_geodata(settings: Settings) -> GeoData:
    """Boundaries, graph and display geometry, loaded once per process; the graph and the
    display geometry come from the cache on disk when a worker of this machine computed them
    before for the same file and code."""
    from geo.adjacency import build_graph
    from geo.boundaries import find_boundaries_file, load_boundaries

    path = find_boundaries_file(settings.boundaries)
    gdf = load_boundaries(path, layer=settings.boundaries_layer)
    if settings.population is not None:
        from geo.population import apply_population, load_population_table

        gdf = apply_population(gdf, load_population_table(settings.population))
    store = geodata_store(settings, path)
    # the display geometry's own frame (the same data, no report): building the graph below
    # adds its warnings to the boundaries' report while the display is computed alongside
    display_gdf = gdf.copy(deep=False)
    display_gdf.attrs = {}
    display = DisplayCache(display_gdf, store)
    ready = threading.Event()

    def warm() -> None:  # the whole area's display geometry: ready before /readyz says so
        try:
            display.get()
        finally:
            ready.set()

    # started before the graph is built: GEOS and NumPy release the GIL, so on a cold start
    # the overview's simplification and the graph run on two cores at once
    threading.Thread(target=warm, name="warm-display", daemon=True).start()
    if store is None:
        G = build_graph(gdf)
    else:
        G = store.cached("graph", lambda: build_graph(gdf), encode_graph, decode_graph)
    by_province: dict[str, set[str]] = {}
    for code, prov in gdf["province_code"].items():
        by_province.setdefault(prov, set()).add(code)
    geo = GeoData(gdf=gdf, graph=G, display=display, communes_by_province=by_province)
    geo.ready = ready
    return geo


def add_meta_routes(app: FastAPI, settings: Settings) -> None:
    """``/healthz`` (liveness) and ``/readyz`` (readiness)."""

    @app.get("/healthz", tags=["meta"])
    async def healthz(request: Request) -> dict[str, Any]:
        """Liveness: the process is up and its data loaded (on the event loop, never waiting
        for the database or a worker thread)."""
        return {"ok": True, "communes": request.app.state.lienxa.graph.number_of_nodes()}

    @app.get("/readyz", tags=["meta"])
    def readyz(state: StateDep) -> JSONResponse:
        """Readiness: the database answers and the boundaries and overview map are loaded;
        503 with ``Retry-After`` otherwise (a proxy sends no traffic here meanwhile)."""
        database = True
        try:
            with state.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            database = False
        display = state.geo.ready.is_set()
        ready = database and display
        body = {
            "ready": ready,
            "database": database,
            "boundaries": True,
            "display": display,
            "communes": state.graph.number_of_nodes(),
        }
        if ready:
            return JSONResponse(body)
        retry = {"Retry-After": str(settings.retry_after_seconds)}
        return JSONResponse(body, status_code=503, headers=retry)


class RedactSecret(logging.Filter):
    """Keeps the SMS secret out of the access log (Kannel passes it in get-url's query)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any("secret=" in str(a) for a in record.args):
            record.args = tuple(
                re.sub(r"secret=[^&\s]*", "secret=***", a) if isinstance(a, str) else a
                for a in record.args
            )
        return True


def start_sms_sender(state: AppState) -> asyncio.Task[None] | None:
    """The outbox sender (``LIENXA_SMS_SEND_URL`` set and ``LIENXA_SMS_SENDER`` on): every
    ``LIENXA_SMS_POLL_SECONDS`` it sends what is due (:func:`api.services.sms_out.send_due`,
    in a thread); safe with several workers (rows are claimed with a lease)."""
    settings = state.settings
    if not settings.sms_send_url or not settings.sms_sender:
        return None
    from api.routes.notifications import commune_names
    from api.services.sms_out import send_due

    url = settings.sms_send_url

    async def loop() -> None:
        while True:
            try:
                await asyncio.to_thread(send_due, state.write_session, url, commune_names(state))
            except Exception:  # the database away: try again next round
                log.exception("SMS outbox round failed")
            await asyncio.sleep(settings.sms_poll_seconds)

    return asyncio.create_task(loop(), name="sms-sender")


async def stop_sms_sender(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@functools.cache
def api_router() -> APIRouter:
    """``/api/v1``: every resource's router, gathered once per process.

    Including a router makes FastAPI analyse each of its routes (dependencies, body and
    response models); the resource routers are module-level and the same for every app, so a
    second app in one process (a test's, or ``create_app`` called again) reuses this one
    instead of analysing them all again. Each app still builds its own routes from it.
    """
    from api.routes import (
        admin,
        after_action,
        auth,
        communes,
        exports,
        history,
        incidents,
        inventory,
        notifications,
        offers,
        orders,
        readiness,
        regulations,
        reports,
        requests,
        rules,
        sms,
    )

    v1 = APIRouter(prefix="/api/v1")
    for module in (
        *(auth, communes, inventory, incidents, reports, requests, offers, rules, admin, exports),
        *(regulations, after_action, orders, history, notifications, sms),
        *(readiness,),
    ):
        # each handler's one-line docstring is its OpenAPI summary
        for route in module.router.routes:
            if isinstance(route, APIRoute) and route.summary is None and route.description:
                route.summary = route.description.strip().splitlines()[0].rstrip(".")
        v1.include_router(module.router)
    return v1


def create_app(
    settings: Settings | None = None, *, geodata: GeoData | Mapping[str, Any] | None = None
) -> FastAPI:
    """The application. It refuses to start on a database that is not migrated to head.

    ``geodata`` (a :class:`GeoData`, or a mapping of its fields) replaces the boundaries of
    the settings, for tests on a few communes made in the test.
    """
    settings = settings or get_settings()
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactSecret) for f in access.filters):
        access.addFilter(RedactSecret())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.resolved_database_url(), settings)
        try:
            check_migrated(engine)
            problem = None
            if settings.db_pool_check != "off":
                problem = pool_capacity_problem(engine, settings, settings.db_workers)
        except NotMigrated:
            engine.dispose()
            raise
        if problem:
            log.warning("connection pool: %s", problem)
        read_session, write_session = make_sessionmaker(engine)
        audit.anchor_sessions(  # every committed audit entry is checkpointed (issue 13)
            write_session, audit.Anchor.for_data_dir(settings.data_dir, settings.resolved_secret())
        )
        if geodata is None:
            geo = load_geodata(settings)
        else:
            geo = geodata if isinstance(geodata, GeoData) else GeoData(**geodata)
        state = AppState(
            settings=settings,
            engine=engine,
            read_session=read_session,
            write_session=write_session,
            tokens=Tokens(settings.resolved_secret(), settings.token_minutes),
            geo=geo,
        )
        app.state.lienxa = state  # the one attribute: everything reads it through StateDep
        log.info(
            "Liên Xã ready: %d communes, %d links",
            state.graph.number_of_nodes(),
            state.graph.number_of_edges(),
        )
        sender = start_sms_sender(state)
        yield
        await stop_sms_sender(sender)
        engine.dispose()

    app = FastAPI(
        title="Liên Xã",
        summary="Mutual aid between neighbouring communes in floods (4 on-site principle)",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served below from the local Swagger UI, not a CDN
        redoc_url=None,
    )
    app.include_router(api_router())

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> Any:
        """The OpenAPI documentation, with Swagger UI served by the service itself."""
        from fastapi.openapi.docs import get_swagger_ui_html

        from maps.offline import SWAGGER_URL

        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="Liên Xã API",
            swagger_js_url=f"{SWAGGER_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_URL}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_URL}/favicon-32x32.png",
        )

    add_meta_routes(app, settings)

    try:  # the maps and web pages, when that part is installed
        from api.routes import maps as maps_routes
        from api.routes import readiness_maps
        from api.web import page_not_found
        from api.web import router as web_router
        from api.web.static import mount_static
    except ImportError:  # a service without the web part
        log.info("maps and web pages not installed")
        install_handlers(app)
    else:
        install_handlers(app, not_found_page=page_not_found)
        app.include_router(maps_routes.router)
        app.include_router(readiness_maps.router)
        app.include_router(web_router)
        mount_static(app)
    # the last added runs first: compression (it sees the final body), security headers, then
    # the body limit, then input bounds
    app.add_middleware(InputLimits)
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes)
    app.add_middleware(
        SecurityHeaders,
        trusted_proxies=settings.trusted_proxies,
        nonce_secret=settings.resolved_secret,
    )
    app.add_middleware(Compression, enabled=settings.compression)
    return app


def app_factory() -> FastAPI:
    """For ``uvicorn --factory api.main:app_factory``."""
    return create_app()
