"""The small error family raised by the ``geo`` package, with stable codes.

Every error carries an English ``message`` for logs and the command line, and the parts every
other surface (API, pages, SMS, PDF) needs to word it in its own language without parsing text:

- ``code``: a stable snake_case key (``unknown_commune``, ``quantity_not_integer``), translated
  through the catalogue entry ``error.<code>``;
- ``field``: the input the error is about (``"affected[2].commune"``, ``"quantity"``) or ``None``;
- ``params``: the values the wording needs (``{"commune": "99999"}``), plain JSON types;
- ``problems``: for an error that lists several problems (an inventory file with bad lines, a
  rules file with bad rules), one :class:`Problem` each.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an input: a stable ``code``, the ``field`` it concerns, the ``params``
    its wording needs, the English ``message``, and for files the ``line`` (or rule position)."""

    code: str
    message: str
    field: str | None = None
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The problem as JSON: ``code``, ``field``, ``params``, ``message`` (and ``line``)."""
        out: dict[str, Any] = {
            "code": self.code,
            "field": self.field,
            "params": dict(self.params),
            "message": self.message,
        }
        if self.line is not None:
            out["line"] = self.line
        return out


class LienXaError(ValueError):
    """Base of every domain error: the message says what was wrong and what to do.

    Parameters
    ----------
    message
        English, for logs and the command line.
    code
        Stable key; defaults to the class's ``default_code``.
    field
        The input the error concerns, if any.
    params
        Values the wording needs (plain JSON types).
    problems
        The individual problems of an error that lists several.
    """

    default_code = "invalid_input"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        params: Mapping[str, Any] | None = None,
        problems: Sequence[Problem] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field
        self.params: dict[str, Any] = dict(params or {})
        self.problems: list[Problem] = list(problems)

    def to_dict(self) -> dict[str, Any]:
        """``code``, ``field``, ``params`` (and ``problems`` when there are any), as JSON."""
        out: dict[str, Any] = {"code": self.code, "field": self.field, "params": self.params}
        if self.problems:
            out["problems"] = [p.to_dict() for p in self.problems]
        return out


class BoundaryError(LienXaError):
    """A boundaries file or GeoDataFrame cannot be used as it is."""

    default_code = "bad_boundaries"


class BoundariesNotFoundError(BoundaryError):
    """No boundaries file was given or found."""

    default_code = "boundaries_not_found"


class GraphError(LienXaError):
    """The adjacency graph cannot be built or used as asked."""

    default_code = "bad_graph_input"
