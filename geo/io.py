"""The one reader of the JSON and YAML documents ``geo`` reads (catalogue, needs profiles,
rules, scenarios), from a file or from text, with errors of the caller's kind."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from geo.errors import LienXaError

YAML_SUFFIXES = (".yaml", ".yml")


def is_yaml_name(name: str | os.PathLike[str] | None) -> bool:
    """Whether a file name says YAML (``.yaml``, ``.yml``, any case)."""
    return str(name or "").lower().endswith(YAML_SUFFIXES)


class _SyntaxProblem(Exception):
    def __init__(self, fmt: str, exc: Exception) -> None:
        super().__init__(f"not valid {fmt}: {exc}")
        self.fmt, self.detail = fmt, str(exc)


def _parse(text: str, *, yaml: bool) -> Any:
    if yaml:
        import yaml as pyyaml

        try:
            return pyyaml.safe_load(text)
        except pyyaml.YAMLError as exc:
            raise _SyntaxProblem("YAML", exc) from exc
    try:
        return json.loads(text)
    except ValueError as exc:
        raise _SyntaxProblem("JSON", exc) from exc


def _syntax_error(
    message: str, name: str, problem: _SyntaxProblem, error_type: type[LienXaError]
) -> LienXaError:
    return error_type(
        message,
        code="invalid_syntax",
        params={"name": name, "format": problem.fmt, "detail": problem.detail},
    )


def parse_structured(
    text: str, *, yaml: bool, label: str, error_type: type[LienXaError] = LienXaError
) -> Any:
    """Parse a JSON or YAML document (YAML: ``yaml.safe_load``).

    Parameters
    ----------
    text
        The document.
    yaml
        YAML when true, JSON otherwise.
    label
        What the document is called in the error (a file name, "the rules file").
    error_type
        The :class:`~geo.errors.LienXaError` subclass raised.

    Returns
    -------
    Any
        The parsed value (``None`` for an empty YAML document).

    Raises
    ------
    LienXaError
        Of ``error_type``, code ``invalid_syntax`` {name, format, detail}: ``"<label> is not
        valid JSON|YAML: <parser message>"``.
    """
    try:
        return _parse(text, yaml=yaml)
    except _SyntaxProblem as problem:
        raise _syntax_error(
            f"{label} is not valid {problem.fmt}: {problem.detail}", label, problem, error_type
        ) from problem.__cause__


def read_structured(
    path: str | os.PathLike[str],
    *,
    what: str,
    error_type: type[LienXaError] = LienXaError,
    allow_yaml: bool = True,
) -> Any:
    """Read a JSON file, or a YAML one (by its suffix, ``.yaml``/``.yml``) when ``allow_yaml``.

    Parameters
    ----------
    path
        The file (UTF-8, a byte-order mark allowed).
    what
        What the file is, for the errors: ``"rules file"``, ``"needs profile"``.
    error_type
        The :class:`~geo.errors.LienXaError` subclass raised.
    allow_yaml
        Whether a ``.yaml``/``.yml`` file is read as YAML (otherwise every file is JSON).

    Returns
    -------
    Any
        The parsed value.

    Raises
    ------
    LienXaError
        Of ``error_type``: ``file_not_found`` {path} (``"<what> <path> does not exist"``),
        ``file_unreadable`` {path, detail} (``"cannot read <what> <path>: ..."``: not
        readable, not UTF-8), ``invalid_syntax`` {name, format, detail} (``"cannot read
        <what>: <path> is not valid JSON|YAML: ..."``).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise error_type(
            f"{what} {p} does not exist", code="file_not_found", params={"path": str(p)}
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise error_type(
            f"cannot read {what} {p}: {exc}",
            code="file_unreadable",
            params={"path": str(p), "detail": str(exc)},
        ) from exc
    try:
        return _parse(text, yaml=allow_yaml and is_yaml_name(p))
    except _SyntaxProblem as problem:
        raise _syntax_error(
            f"cannot read {what}: {p} is not valid {problem.fmt}: {problem.detail}",
            str(p),
            problem,
            error_type,
        ) from problem.__cause__
