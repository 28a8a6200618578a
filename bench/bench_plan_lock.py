"""Benchmark: how long a plan holds the database's write lock, before and after issue 13's split.

On the Nghệ An boundaries (``../shared/data``) with a sample inventory in SQLite, the shared
western-floods scenario is planned in interleaved rounds (A B, B A, ...):

- A, "in the write transaction" (before): :func:`api.services.incidents.plan_incident` in one
  write session, as ``POST /incidents/{id}/plan`` did: the lock is held for reading, solving
  and storing;
- B, "out of it" (after): :func:`api.services.plan_run.read_plan_inputs` in a read session,
  :func:`~api.services.plan_run.compute` with no session, then
  :func:`~api.services.plan_run.store_plan` in the write session: the lock is held for the
  store only.

Per variant: the write transaction's wall time (what blocks every other writer on SQLite), the
whole plan's wall and CPU seconds; median and spread (min-max) over the rounds.

Run: ``.venv/bin/python bench/bench_plan_lock.py [--rounds 5]``; writes
``bench/results/plan_lock.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
BOUNDARIES = SHARED / "boundaries" / "nghe-an-2025.geojson"
SCENARIO = SHARED / "scenarios" / "nghe-an-western-floods.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    from fastapi.testclient import TestClient

    from api.auth import Principal
    from api.db import session_scope, upgrade
    from api.enums import Role
    from api.main import create_app
    from api.models import Incident, InventoryItem
    from api.services.incidents import plan_incident
    from api.services.plan_run import compute, read_plan_inputs, store_plan
    from api.settings import Settings
    from geo.boundaries import load_boundaries
    from geo.planning import PlanParameters
    from geo.resources import sample_inventory

    tmp = Path(tempfile.mkdtemp(prefix="bench-plan-lock-"))
    url = f"sqlite:///{tmp / 'lienxa.db'}"
    upgrade(url)
    settings = Settings(
        boundaries=BOUNDARIES, data_dir=tmp, database_url=url, secret_key="bench-plan-lock"
    )
    who = Principal(id=0, username="bench", role=Role.ADMIN)
    params = PlanParameters()
    runs: dict[str, list[dict[str, float]]] = {"A_in_transaction": [], "B_out_of_it": []}
    with TestClient(create_app(settings)) as client:
        state = client.app.state.lienxa  # type: ignore[attr-defined]
        gdf = load_boundaries(BOUNDARIES)
        with session_scope(state.write_session) as s:
            for commune, items in sample_inventory(gdf, seed=0).items():
                for key, q in items.items():
                    s.add(InventoryItem(commune_code=commune, resource=key, quantity=q))
            scenario = json.loads(SCENARIO.read_text(encoding="utf-8"))
            i = Incident(
                name=scenario["name"],
                risk_level=scenario["risk_level"],
                scenario=scenario,
                created_by="bench",
            )
            s.add(i)
            s.flush()
            incident_id = i.id

        def variant_a() -> dict[str, float]:
            w0, c0 = time.perf_counter(), time.process_time()
            with session_scope(state.write_session) as s:
                plan_incident(s, who, incident_id, state.graph, state.gdf, params=params)
            wall = time.perf_counter() - w0
            return {"lock_s": wall, "wall_s": wall, "cpu_s": time.process_time() - c0}

        def variant_b() -> dict[str, float]:
            w0, c0 = time.perf_counter(), time.process_time()
            with session_scope(state.read_session) as s:
                inputs = read_plan_inputs(s, who, incident_id, state.gdf, params=params)
            computed = compute(state.graph, inputs, time_limit_s=None)
            l0 = time.perf_counter()
            with session_scope(state.write_session) as s:
                store_plan(s, who, inputs, computed, state.gdf, create_requests=False)
            end = time.perf_counter()
            return {"lock_s": end - l0, "wall_s": end - w0, "cpu_s": time.process_time() - c0}

        variant_a(), variant_b()  # warm-up: catalogue, caches
        for k in range(args.rounds):
            order = [("A_in_transaction", variant_a), ("B_out_of_it", variant_b)]
            for name, fn in order if k % 2 == 0 else order[::-1]:
                runs[name].append(fn())

    def summary(rows: list[dict[str, float]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("lock_s", "wall_s", "cpu_s"):
            xs = [r[key] for r in rows]
            out[key] = {
                "median": round(statistics.median(xs), 4),
                "min": round(min(xs), 4),
                "max": round(max(xs), 4),
            }
        return out

    result = {
        "benchmark": "plan_lock",
        "command": f"python bench/bench_plan_lock.py --rounds {args.rounds}",
        "data": {"boundaries": BOUNDARIES.name, "scenario": SCENARIO.name, "db": "sqlite"},
        "rounds": args.rounds,
        "results": {name: summary(rows) for name, rows in runs.items()},
    }
    out = ROOT / "bench" / "results" / "plan_lock.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(result["results"], indent=2))


if __name__ == "__main__":
    main()
