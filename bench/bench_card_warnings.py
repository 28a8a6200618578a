"""Benchmark: what the reserve check of an edited regulation (``card_over_spare`` warnings,
read before the write transaction) costs ``PATCH /api/v1/regulations/{id}`` on Nghệ An (130
communes, SAMPLE inventory).

In process (FastAPI's TestClient, SQLite in a temporary directory, the shared Nghệ An
boundaries): the province's regulations are drafted once (``POST /regulations/draft``), then one
draft's first card is edited ``--rounds`` times (every other draft signed first, so the check
reads 180 regulations in force), interleaved A B A B: A the route as it is (the
check reads before the write transaction, over the library of the parties' province with the other
regulations in force), B the same route with the check replaced by nothing (what the PATCH cost
before). Wall and CPU seconds of the process (the server runs in it), median and min-max.

Run: ``.venv/bin/python bench/bench_card_warnings.py [--rounds 15]``; writes
bench/results/card_warnings.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.inprocess_service import API, bearer, service, summary, tokens  # noqa: E402
from bench.report import write_results  # noqa: E402  # the one results writer

NGHE_AN = ROOT.parent / "shared" / "data" / "boundaries" / "nghe-an-2025.geojson"


def seed_sample_inventory(settings: Any) -> None:
    """Nghệ An's SAMPLE inventory, as ``lienxa inventory sample`` stores it."""
    from api.db import make_engine, make_sessionmaker, session_scope
    from api.models import InventoryItem
    from geo.boundaries import load_boundaries
    from geo.resources import sample_inventory

    engine = make_engine(settings.resolved_database_url())
    with session_scope(make_sessionmaker(engine)[1]) as s:
        for commune, items in sample_inventory(load_boundaries(NGHE_AN), seed=0).items():
            for key, q in items.items():
                s.add(InventoryItem(commune_code=commune, resource=key, quantity=q, reserved=0))
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "card_warnings.json")
    args = ap.parse_args()
    if not NGHE_AN.exists():
        sys.exit(f"needs {NGHE_AN} (../shared/data)")

    from fastapi.testclient import TestClient

    import api.routes.regulations as routes
    from api.main import create_app

    settings = service(Path(tempfile.mkdtemp(prefix="lienxa-bench-cards-")), boundaries=NGHE_AN)
    seed_sample_inventory(settings)
    checked = routes.edit_warnings
    with TestClient(create_app(settings)) as client:
        h = bearer(tokens(client, ("planner",))["planner"])
        r = client.post(API + "/regulations/draft", headers=h, json={"province": "40"})
        assert r.status_code == 201, r.text
        drafts = r.json()
        reg = next(d for d in drafts if d["box_cards"])
        card = reg["box_cards"][0]
        for d in drafts:  # the others signed: the check reads them as in force
            if d["id"] != reg["id"]:
                r = client.post(f"{API}/regulations/{d['id']}/sign", headers=h)
                assert r.status_code == 200, r.text
        wall: dict[str, list[float]] = {"A_with_check": [], "B_without": []}
        cpu: dict[str, list[float]] = {k: [] for k in wall}
        warnings = 0
        for k in range(args.rounds + 1):  # the first round warms up
            for name in wall:
                routes.edit_warnings = (  # type: ignore[assignment]
                    checked if name == "A_with_check" else (lambda s, G, rid, changes: [])
                )
                # a quantity never asked before: every PATCH is a new version
                resources = {key: q + k + 1 for key, q in card["resources"].items()}
                cards = [{**card, "resources": resources}, *reg["box_cards"][1:]]
                w, c = time.perf_counter(), time.process_time()
                r = client.patch(
                    f"{API}/regulations/{reg['id']}", headers=h, json={"box_cards": cards}
                )
                dw, dc = time.perf_counter() - w, time.process_time() - c
                assert r.status_code == 200, r.text
                if name == "A_with_check":
                    warnings = len(r.json()["warnings"])
                if k:
                    wall[name].append(dw)
                    cpu[name].append(dc)
        routes.edit_warnings = checked
    out = {
        "what": "PATCH /regulations/{id} (one card edited) with and without the reserve check, "
        "Nghệ An, SAMPLE inventory, in process, SQLite",
        "command": f".venv/bin/python bench/bench_card_warnings.py --rounds {args.rounds}",
        "regulations": len(drafts),
        "in_force": len(drafts) - 1,
        "parties": reg["parties"],
        "warnings_last_round": warnings,
        "rounds": args.rounds,
        "wall_s": {k: summary(v) for k, v in wall.items()},
        "cpu_s": {k: summary(v) for k, v in cpu.items()},
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
    }
    write_results(args.out, out)


if __name__ == "__main__":
    main()
