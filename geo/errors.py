"""The small error family raised by the ``geo`` package."""

from __future__ import annotations


class LienXaError(ValueError):
    """Base of every domain error: the message says what was wrong and what to do."""


class BoundaryError(LienXaError):
    """A boundaries file or GeoDataFrame cannot be used as it is."""


class BoundariesNotFoundError(BoundaryError):
    """No boundaries file was given or found."""


class GraphError(LienXaError):
    """The adjacency graph cannot be built or used as asked."""
