"""Shared test helpers: where the real data is, skipping (or failing in CI) without it, and the
markers of the slow tiers.

``pytest -m "not slow"`` is the fast tier: the in-process service tests (``tests/fast/``) and
the tests on tiny hand-built data (``tests/geo/`` and the like). Everything that runs a real
server, needs PostgreSQL, the shared real data or a browser is marked here, centrally, by the
fixtures it uses and the folder it is in (see :func:`pytest_collection_modifyitems`), so a new
test in those places is marked without anyone remembering to.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
NGHE_AN = SHARED_DATA / "boundaries" / "nghe-an-2025.geojson"
VIETNAM = SHARED_DATA / "boundaries" / "vietnam-2025.gpkg"
SCENARIO = SHARED_DATA / "scenarios" / "nghe-an-western-floods.json"

#: Fixtures that read ``../shared/data`` (directly or through another of them).
REALDATA_FIXTURES = frozenset(
    {
        "nghe_an_path",
        "vietnam_path",
        "scenario_path",
        "nghe_an_gdf",
        "nghe_an_graph",
        "vietnam_gdf",
        "vietnam_graph",
    }
)
#: Folders of ``tests/`` whose tests run real servers (subprocess uvicorn or the CLI) over the
#: shared Nghệ An data, with the markers that says; the page tests also need Chromium.
FOLDER_MARKERS = {
    "api": ("server", "realdata"),
    "web": ("server", "realdata", "browser"),
}
#: Markers that make a test slow.
SLOW_MARKERS = ("server", "postgres", "realdata", "browser")


def markers_for(item: pytest.Item) -> set[str]:
    """The tier markers ``item`` gets from its folder, its fixtures and its parameters."""
    names = set(getattr(item, "fixturenames", ()))
    try:
        folder = item.path.relative_to(REPO / "tests").parts[0]
    except ValueError:  # a test outside tests/ (named on the command line)
        folder = ""
    marks = set(FOLDER_MARKERS.get(folder, ()))
    if names & REALDATA_FIXTURES:
        marks.add("realdata")
    if "browser" in names:
        marks.add("browser")
    callspec = getattr(item, "callspec", None)  # the ``server`` fixture's "postgres" backend
    if callspec is not None and "postgres" in callspec.params.values():
        marks.add("postgres")
    return marks


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its tiers, and ``slow`` when any of them (or its own mark) is slow."""
    for item in items:
        have = {m.name for m in item.iter_markers()}
        wanted = markers_for(item)
        if (have | wanted) & set(SLOW_MARKERS):
            wanted.add("slow")
        for name in sorted(wanted - have):
            item.add_marker(name)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move what collection made (imported modules, test functions, parameters: a quarter of a
    million objects, alive for the whole run) out of the garbage collector's way: every full
    collection during the run, and pytest's five at the end, would walk them all again."""
    gc.collect()
    gc.freeze()


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
