"""Lengths on the WGS84 ellipsoid from lon/lat, without reprojecting whole data sets."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

_A = 6378137.0  # WGS84 semi-major axis (m)
_E2 = 6.69437999014e-3  # WGS84 first eccentricity squared


def metres_per_degree(lat_deg: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Metres per degree of longitude and of latitude at ``lat_deg`` on WGS84."""
    phi = np.radians(lat_deg)
    s = np.sin(phi)
    w2 = 1 - _E2 * s * s
    inv_w = 1 / np.sqrt(w2)
    n = _A * inv_w  # prime vertical radius
    m = _A * (1 - _E2) * inv_w / w2  # meridional radius: a(1-e²)/w³
    return n * np.cos(phi) * (np.pi / 180), m * (np.pi / 180)


#: Segments measured per block by :func:`segment_lengths_m`: its dozen temporaries then stay
#: a few MB each instead of each as long as the data (fresh memory is what costs in a short run).
_BLOCK = 1 << 18


def segment_lengths_m(x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray) -> np.ndarray:
    """Lengths in metres of lon/lat segments (local ellipsoidal approximation)."""
    n = len(x0)
    if n > _BLOCK:
        out = np.empty(n)
        for k in range(0, n, _BLOCK):
            s = slice(k, k + _BLOCK)
            out[s] = segment_lengths_m(x0[s], y0[s], x1[s], y1[s])
        return out
    kx, ky = metres_per_degree((y0 + y1) * 0.5)
    dx = (x1 - x0) * kx
    dy = (y1 - y0) * ky
    lengths: np.ndarray = np.sqrt(dx * dx + dy * dy)  # no overflow at these magnitudes: not hypot
    return lengths


def local_metric_frame(lat0: float, lon0: float) -> Callable[[np.ndarray], np.ndarray]:
    """A function mapping lon/lat coordinate arrays to metres in a tangent frame at
    ``(lon0, lat0)``: accurate to ~1e-6 relative within a few kilometres of it."""
    kx, ky = metres_per_degree(lat0)

    def to_m(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(((coords[:, 0] - lon0) * kx, (coords[:, 1] - lat0) * ky))

    return to_m
