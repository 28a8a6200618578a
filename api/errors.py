"""Service errors, mapped to HTTP in one place (:func:`install_handlers`).

Every error answers ``{"detail": <message or object>, "code": ..., "field": ..., "params": ...}``
(and ``"problems"`` when it lists several): ``detail`` keeps the English message the API always
gave; pages, SMS and PDFs word the error from ``code`` and ``params`` in their own language.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from geo.errors import BoundaryError, LienXaError, Problem


class ServiceError(Exception):
    """Base of errors that carry an HTTP status, a JSON ``detail`` and a stable ``code``.

    Parameters
    ----------
    detail
        The English message (or an object holding one under ``"message"``), as the API gave it.
    code
        Stable key, translated through the catalogue entry ``error.<code>``; defaults to the
        class's ``default_code``.
    field, params, problems
        As for :class:`geo.errors.LienXaError`.
    headers
        Extra response headers.
    """

    status_code = 400
    default_code = "bad_request"

    def __init__(
        self,
        detail: object,
        *,
        code: str | None = None,
        field: str | None = None,
        params: Mapping[str, Any] | None = None,
        problems: Sequence[Problem] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(str(detail))
        self.detail = detail
        self.code = code or self.default_code
        self.field = field
        self.params: dict[str, Any] = dict(params or {})
        self.problems: list[Problem] = list(problems)
        self.headers = headers

    @property
    def message(self) -> str:
        """The English message, whether ``detail`` is a string or an object holding one."""
        d = self.detail
        return str(d.get("message", d)) if isinstance(d, dict) else str(d)

    def to_dict(self) -> dict[str, Any]:
        """``code``, ``field``, ``params`` (and ``problems``), as JSON."""
        out: dict[str, Any] = {"code": self.code, "field": self.field, "params": self.params}
        if self.problems:
            out["problems"] = [p.to_dict() for p in self.problems]
        return out


class NotAuthenticated(ServiceError):
    status_code = 401
    default_code = "not_authenticated"


class Forbidden(ServiceError):
    status_code = 403
    default_code = "forbidden"


class NotFound(ServiceError):
    status_code = 404
    default_code = "not_found"


class Conflict(ServiceError):
    status_code = 409
    default_code = "conflict"


class TooManyAttempts(ServiceError):
    status_code = 429
    default_code = "too_many_attempts"


class BadInput(ServiceError):
    status_code = 422
    default_code = "bad_input"


def wants_html(request: Request) -> bool:
    """A browser asking for a page (not the API, not a script or stylesheet)."""
    path = request.url.path
    return (
        not path.startswith(("/api/", "/static/", "/openapi"))
        and path != "/api"
        and "text/html" in request.headers.get("accept", "")
    )


def install_handlers(
    app: FastAPI, *, not_found_page: Callable[[Request], Response] | None = None
) -> None:
    """Map service and domain errors to JSON responses ``{"detail": ..., "code": ...}``.

    ``not_found_page``, given by the web part when it is installed, answers a browser asking for
    an address that is no page (a 404 page in its language); this module knows nothing of pages.
    """

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and not_found_page is not None and wants_html(request):
            return not_found_page(request)
        return await http_exception_handler(request, exc)

    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
        headers = dict(exc.headers or {})
        if isinstance(exc, NotAuthenticated):
            headers.setdefault("WWW-Authenticate", "Bearer")
        body = {"detail": exc.detail, **exc.to_dict()}
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

    @app.exception_handler(LienXaError)
    async def _domain_error(_: Request, exc: LienXaError) -> JSONResponse:
        body: dict[str, object] = {"detail": exc.message, **exc.to_dict()}
        errors = [p.message for p in exc.problems] or list(getattr(exc, "errors", None) or [])
        if len(errors) > 1:
            body["errors"] = errors
        status = 500 if isinstance(exc, BoundaryError) else 422
        return JSONResponse(body, status_code=status)
