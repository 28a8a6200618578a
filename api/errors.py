"""Service errors, mapped to HTTP in one place (:func:`install_handlers`).

Every error answers ``{"detail": <message or object>, "code": ..., "field": ..., "params": ...}``
(and ``"problems"`` when it lists several): ``detail`` keeps the English message the API always
gave; pages, SMS and PDFs word the error from ``code`` and ``params`` in their own language.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
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

    @classmethod
    def carrying(
        cls,
        exc: BaseException,
        detail: object,
        *,
        code: str | None = None,
        params: Mapping[str, Any] | None = None,
        problems: Sequence[Problem] | None = None,
    ) -> ServiceError:
        """This error for a domain error ``exc`` the service re-raises, with ``exc``'s ``code``,
        ``field``, ``params`` and ``problems`` carried across (each overridable; ``code`` also
        where ``exc`` has only the generic one of :class:`geo.errors.LienXaError`)."""
        own = getattr(exc, "code", None)
        if own == LienXaError.default_code and code is not None:
            own = None
        return cls(
            detail,
            code=own or code,
            field=getattr(exc, "field", None),
            params={**(getattr(exc, "params", None) or {}), **(params or {})},
            problems=getattr(exc, "problems", ()) if problems is None else problems,
        )

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


class ServiceUnavailable(ServiceError):
    status_code = 503
    default_code = "database_unavailable"


#: Seconds a client is told to wait (``Retry-After``) when the database is away or busy.
RETRY_AFTER = 5


def database_unavailable(exc: BaseException, retry_after: int = RETRY_AFTER) -> ServiceError | None:
    """The 503 for a database error that is no fault of the request, or None for any other.

    - ``database_busy``: every connection of the pool in use past ``LIENXA_DB_POOL_TIMEOUT``
      (SQLAlchemy's pool ``TimeoutError``), or SQLite's write lock held past its busy timeout;
    - ``database_unavailable``: the server away or restarting (``OperationalError``, a
      connection lost mid-request, "too many clients"), or on SQLite a read-only file or a
      full disk (``attempt to write a readonly database``, ``database or disk is full``).
    """
    from sqlalchemy import exc as sa

    if isinstance(exc, sa.TimeoutError):
        code, reason = "database_busy", "no free database connection"
    elif isinstance(exc, sa.OperationalError | sa.InterfaceError) or (
        isinstance(exc, sa.DBAPIError) and exc.connection_invalidated
    ):
        orig = str(getattr(exc, "orig", exc)).strip().splitlines()
        reason = orig[0] if orig else type(exc).__name__
        code = "database_busy" if "locked" in reason else "database_unavailable"
    else:
        return None
    return ServiceUnavailable(
        f"the database is not available ({reason}): try again in {retry_after} s",
        code=code,
        params={"retry_after": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


def _plain(value: Any) -> Any:
    """``value`` if JSON can hold it as it is, else its text (pydantic's ``ctx`` may hold an
    exception)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)


def validation_problems(errors: Sequence[Mapping[str, Any]]) -> list[Problem]:
    """Pydantic's errors as problems: pydantic's stable ``type`` is the code (``missing``,
    ``greater_than``...), the location after ``body``/``query``/``path`` the field, ``ctx``
    the params (``{"gt": 0}``)."""
    out = []
    for e in errors:
        loc = [str(x) for x in e.get("loc", ())]
        if loc and loc[0] in ("body", "query", "path", "header", "cookie", "form"):
            loc = loc[1:]
        params = {k: _plain(v) for k, v in (e.get("ctx") or {}).items()}
        out.append(
            Problem(
                str(e.get("type", "invalid")),
                str(e.get("msg", "")),
                field=".".join(loc) or None,
                params=params,
            )
        )
    return out


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
        # the framework's own errors (no route, wrong method) answer as FastAPI does:
        # {"detail": "Not Found"}, which clients already match on
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        problems = validation_problems(errors)
        body = {
            "detail": jsonable_encoder(errors),  # what FastAPI answers, unchanged
            "code": "invalid_request",
            "field": problems[0].field if problems else None,
            "params": {"count": len(problems)},
            "problems": [p.to_dict() for p in problems],
        }
        return JSONResponse(body, status_code=422)

    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
        headers = dict(exc.headers or {})
        if isinstance(exc, NotAuthenticated):
            headers.setdefault("WWW-Authenticate", "Bearer")
        body = {"detail": exc.detail, **exc.to_dict()}
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

    async def _database_error(request: Request, exc: Exception) -> Response:
        state = getattr(request.app.state, "lienxa", None)
        retry = getattr(getattr(state, "settings", None), "retry_after_seconds", RETRY_AFTER)
        err = database_unavailable(exc, retry)
        if err is None:
            raise exc  # a programming error: the server's own 500 and traceback
        return await _service_error(request, err)

    from sqlalchemy import exc as sa

    # only these: a handler for DBAPIError would come before any handler another part
    # registers for a broader class (StatementError, SQLAlchemyError) and hide it
    for kind in (sa.TimeoutError, sa.OperationalError, sa.InterfaceError):
        app.add_exception_handler(kind, _database_error)

    @app.exception_handler(LienXaError)
    async def _domain_error(_: Request, exc: LienXaError) -> JSONResponse:
        body: dict[str, object] = {"detail": exc.message, **exc.to_dict()}
        errors = [p.message for p in exc.problems] or list(getattr(exc, "errors", None) or [])
        if len(errors) > 1:
            body["errors"] = errors
        status = 500 if isinstance(exc, BoundaryError) else 422
        return JSONResponse(body, status_code=status)
