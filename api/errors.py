"""Service errors, mapped to HTTP in one place (:func:`install_handlers`)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from geo.errors import BoundaryError, LienXaError


class ServiceError(Exception):
    """Base of errors that carry an HTTP status and a JSON ``detail``."""

    status_code = 400

    def __init__(self, detail: object, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(str(detail))
        self.detail = detail
        self.headers = headers


class NotAuthenticated(ServiceError):
    status_code = 401


class Forbidden(ServiceError):
    status_code = 403


class NotFound(ServiceError):
    status_code = 404


class Conflict(ServiceError):
    status_code = 409


class TooManyAttempts(ServiceError):
    status_code = 429


class BadInput(ServiceError):
    status_code = 422


def wants_html(request: Request) -> bool:
    """A browser asking for a page (not the API, not a script or stylesheet)."""
    path = request.url.path
    return (not path.startswith(("/api/", "/static/", "/openapi")) and path != "/api"
            and "text/html" in request.headers.get("accept", ""))


def install_handlers(app: FastAPI) -> None:
    """Map service and domain errors to JSON responses ``{"detail": ...}``; a browser asking for
    an address that is no page gets the web part's 404 page in its language."""

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and wants_html(request):
            try:
                from api.web import page_not_found
            except ImportError:  # a service without the web part
                pass
            else:
                return page_not_found(request)
        return await http_exception_handler(request, exc)

    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
        headers = dict(exc.headers or {})
        if isinstance(exc, NotAuthenticated):
            headers.setdefault("WWW-Authenticate", "Bearer")
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(LienXaError)
    async def _domain_error(_: Request, exc: LienXaError) -> JSONResponse:
        errors = getattr(exc, "errors", None)
        body: dict[str, object] = {"detail": str(exc)}
        if errors and len(errors) > 1:
            body["errors"] = errors
        status = 500 if isinstance(exc, BoundaryError) else 422
        return JSONResponse(body, status_code=status)
