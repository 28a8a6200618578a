"""The page benchmarks share one in-process service set-up (bench/inprocess_service.py)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.fast.conftest import USERS

BENCH = Path(__file__).resolve().parents[2] / "bench"
SHARED = ("service", "tokens", "summary")


def test_the_shared_service_is_migrated_with_every_user(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from api.main import create_app
    from bench.inprocess_service import as_browser, bearer, service, summary, tokens

    settings = service(tmp_path)
    with TestClient(create_app(settings)) as client:
        tok = tokens(client)
        assert set(tok) == set(USERS)
        r = client.get("/api/v1/communes", headers=bearer(tok["planner"]))
        assert r.status_code == 200, r.text
        page = as_browser(client, tok["dongha"]).get("/commune")
        assert page.status_code == 200 and "/login" not in str(page.url)
    assert summary([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0}


def test_the_page_benchmarks_do_not_repeat_the_set_up() -> None:
    for name in ("bench_pages.py", "bench_history_page.py"):
        tree = ast.parse((BENCH / name).read_text(encoding="utf-8"))
        defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert not defined & set(SHARED), (name, defined & set(SHARED))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert "bench.inprocess_service" in imported, name
        assert "add_user" not in (BENCH / name).read_text(encoding="utf-8"), name
