"""The shape of the house: ``geo`` is pure domain code (no web, database or map library, no
print), and its public functions document what they raise."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

GEO = Path(__file__).resolve().parents[2] / "geo"
MODULES = sorted(p.stem for p in GEO.glob("*.py") if p.stem != "__init__")


def test_geo_imports_no_web_database_or_map_library():
    code = (
        f"import sys; import {', '.join('geo.' + m for m in MODULES)}; "
        "print(sorted(m for m in ('fastapi', 'sqlalchemy', 'folium', 'starlette') "
        "if m in sys.modules))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=GEO.parent,
    )
    assert r.stdout.strip() == "[]"


@pytest.mark.parametrize("module", MODULES)
def test_geo_logs_and_never_prints(module):
    tree = ast.parse((GEO / f"{module}.py").read_text(encoding="utf-8"))
    prints = [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "print"
    ]
    assert prints == [], f"geo/{module}.py calls print on line(s) {prints}: use logging"


# public functions that can raise a domain error, and the error their Raises section names
RAISING = {
    "geo.boundaries": [
        "find_boundaries_file",
        "read_geodata",
        "load_boundaries",
        "normalise_boundaries",
    ],
    "geo.adjacency": ["build_graph"],
    "geo.resources": ["load_catalogue", "validate_inventory_items", "read_inventory_csv"],
    "geo.needs": ["load_needs_profile", "parse_scenario", "load_scenario", "extent_affected"],
    "geo.rules": ["rule_from_dict", "parse_rules", "load_rules", "apply_rules"],
    "geo.planning": ["make_plan", "greedy_plan", "compute_plan", "validate_plan"],
    "geo.plans": ["as_plan"],
    "geo.io": ["parse_structured", "read_structured"],
}


@pytest.mark.parametrize("module, name", [(m, f) for m, fs in RAISING.items() for f in fs])
def test_public_functions_document_what_they_raise(module, name):
    import importlib

    doc = inspect.getdoc(getattr(importlib.import_module(module), name)) or ""
    assert "Raises\n------" in doc, f"{module}.{name} has no numpydoc Raises section"
