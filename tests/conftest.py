"""Shared test helpers: where the real data is, and skipping (or failing in CI) without it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
NGHE_AN = SHARED_DATA / "boundaries" / "nghe-an-2025.geojson"
VIETNAM = SHARED_DATA / "boundaries" / "vietnam-2025.gpkg"
SCENARIO = SHARED_DATA / "scenarios" / "nghe-an-western-floods.json"


def require_file(path: Path) -> Path:
    """Return ``path``; skip the test with a reason when it is missing, or fail when
    ``LIENXA_REQUIRE_REALDATA=1`` (CI), so real-data tests cannot silently not run."""
    if path.exists():
        return path
    reason = f"real data {path} is missing (put ../shared beside the repo)"
    if os.environ.get("LIENXA_REQUIRE_REALDATA") == "1":
        pytest.fail(reason + " and LIENXA_REQUIRE_REALDATA=1")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def nghe_an_path() -> Path:
    return require_file(NGHE_AN)


@pytest.fixture(scope="session")
def vietnam_path() -> Path:
    return require_file(VIETNAM)


@pytest.fixture(scope="session")
def scenario_path() -> Path:
    return require_file(SCENARIO)


@pytest.fixture(scope="session")
def nghe_an_gdf(nghe_an_path):
    from geo.boundaries import load_boundaries

    return load_boundaries(nghe_an_path)


@pytest.fixture(scope="session")
def nghe_an_graph(nghe_an_gdf):
    from geo.adjacency import build_graph

    return build_graph(nghe_an_gdf)


@pytest.fixture(scope="session")
def vietnam_gdf(vietnam_path):
    from geo.boundaries import load_boundaries

    return load_boundaries(vietnam_path)


@pytest.fixture(scope="session")
def vietnam_graph(vietnam_gdf):
    from geo.adjacency import build_graph

    return build_graph(vietnam_gdf)
