"""Service errors, mapped to HTTP in one place (:func:`install_handlers`)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

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


def install_handlers(app: FastAPI) -> None:
    """Map service and domain errors to JSON responses ``{"detail": ...}``."""

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
