"""Benchmark: weight and build time of the second round's pages (issue 10), against the old
commune page without an incident as the baseline.

In process (FastAPI's TestClient, SQLite in a temporary directory, the fast tier's five square
communes), two services: one with an incident on Đông Hà (a situation report, a plan made with
requests that asks Tây Sơn for boats, a hand-made request and its offer), one with no incident
at all (the baseline). Each page is fetched with its user's session cookie, interleaved
(A B C ... A B C ...) for ``--rounds`` rounds after one warm-up round; wall and CPU seconds
(the server runs in this process, so CPU time is the page's), median and min-max; bytes raw,
gzip (level 6) and brotli (quality 5, what a web server would use on the fly).

Run: ``.venv/bin/python bench/bench_pages.py [--rounds 15]``; writes bench/results/pages.json.
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import brotli

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.inprocess_service import (  # noqa: E402  # the benchmarks' shared service
    API,
    as_browser,
    bearer,
    service,
    summary,
    tokens,
)
from bench.report import write_results  # noqa: E402  # the one results writer
from tests.fast.conftest import ASKS, GIVES  # noqa: E402  # the fast tier's communes


def seed_incident(client: Any, tok: dict[str, str]) -> int:
    """Đông Hà's flood with a report, a plan with requests (Tây Sơn asked for boats), and a
    hand-made request Tây Sơn has offered on."""

    def h(user: str) -> dict[str, str]:
        return bearer(tok[user])

    r = client.post(
        API + "/incidents",
        headers=h("bch40"),
        json={
            "name": "Lũ Khe Bố",
            "risk_level": 3,
            "affected": [{"commune": ASKS, "displaced": 300, "needs": {"boats": 6}}],
        },
    )
    assert r.status_code == 201, r.text
    n = r.json()["id"]
    r = client.post(
        f"{API}/incidents/{n}/reports",
        headers=h("dongha"),
        json={"commune": ASKS, "displaced": 450, "needs": {"boats": 8}},
    )
    assert r.status_code in (200, 201), r.text
    r = client.put(f"{API}/communes/{GIVES}/inventory", headers=h("tayson"), json={"boats": 40})
    assert r.status_code == 200, r.text
    r = client.post(f"{API}/incidents/{n}/plan", headers=h("bch40"), json={"create_requests": True})
    assert r.status_code == 200, r.text
    assert any(t["resource"] == "boats" for t in r.json()["transfers"]), r.text
    r = client.post(
        API + "/requests",
        headers=h("dongha"),
        json={
            "incident_id": n,
            "commune": ASKS,
            "resource": "life_jackets",
            "quantity": 5,
            "to": [GIVES],
        },
    )
    assert r.status_code == 201, r.text
    return n


def weights(content: bytes) -> dict[str, int]:
    return {
        "bytes": len(content),
        "gzip_bytes": len(gzip.compress(content, 6)),
        "br_bytes": len(brotli.compress(content, quality=5)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "pages.json")
    args = ap.parse_args()

    from fastapi.testclient import TestClient

    from api.main import create_app

    live = service(Path(tempfile.mkdtemp(prefix="lienxa-bench-pages-")))
    quiet = service(Path(tempfile.mkdtemp(prefix="lienxa-bench-pages-base-")))
    with TestClient(create_app(live)) as a, TestClient(create_app(quiet)) as b:
        ta, tb = tokens(a), tokens(b)
        t0 = time.perf_counter()
        n = seed_incident(a, ta)
        seed_s = time.perf_counter() - t0

        def as_(app_client: Any, tok: dict[str, str], user: str) -> Any:
            return as_browser(app_client, tok[user])

        # name: (client, path)
        pages = {
            "commune_baseline (no incident)": (as_(b, tb, "dongha"), "/commune"),
            "commune_receiver (report card, plan)": (as_(a, ta, "dongha"), "/commune"),
            "commune_helper (the plan's asks)": (as_(a, ta, "tayson"), "/commune"),
            "command (incidents)": (as_(a, ta, "bch40"), "/command"),
            "command_incident (map, orders)": (as_(a, ta, "bch40"), f"/command?incident={n}"),
            "history": (as_(a, ta, "dongha"), f"/history?incident={n}"),
            "account": (as_(a, ta, "dongha"), "/account"),
            "inbox": (as_(a, ta, "dongha"), "/inbox"),
            "planner_regulations": (as_(a, ta, "planner"), "/planner/regulations"),
        }
        wall: dict[str, list[float]] = {k: [] for k in pages}
        cpu: dict[str, list[float]] = {k: [] for k in pages}
        body: dict[str, bytes] = {}
        for k in range(args.rounds + 1):  # the first round warms templates and caches up
            for name, (client, path) in pages.items():
                w, c = time.perf_counter(), time.process_time()
                r = client.get(path)
                dw, dc = time.perf_counter() - w, time.process_time() - c
                assert r.status_code == 200, (path, r.status_code, r.text[:300])
                assert "/login" not in str(r.url), (path, "not logged in")
                if k:
                    wall[name].append(dw)
                    cpu[name].append(dc)
                body[name] = r.content
        # what every page also loads once (cached after): the stylesheet and the script
        baseline = body["commune_baseline (no incident)"].decode()
        assets = {}
        for path in sorted(set(re.findall(r'(?:href|src)="(/static/[^"?]+)', baseline))):
            r = a.get(path)
            assert r.status_code == 200, path
            assets[path] = weights(r.content)
        assert "Kế hoạch đề nghị xã bạn gửi" in body["commune_helper (the plan's asks)"].decode()
        assert f'id="my-plan-{n}"' in body["commune_receiver (report card, plan)"].decode()
        assert 'id="my-incident-' not in body["commune_baseline (no incident)"].decode()

    base = len(body["commune_baseline (no incident)"])
    out = {
        "what": "second-round pages vs the commune page without an incident, in process",
        "rounds": args.rounds,
        "seed_s": round(seed_s, 2),
        "pages": {
            name: {
                "path": path,
                "wall_s": summary(wall[name]),
                "cpu_s": summary(cpu[name]),
                **weights(body[name]),
                "vs_baseline": round(len(body[name]) / base, 2),
            }
            for name, (_, path) in pages.items()
        },
        "assets (every page, cached)": assets,
        "maps": "the command page's map is an iframe: see bench/results/maps.json",
        "python": sys.version.split()[0],
    }
    write_results(args.out, out)


if __name__ == "__main__":
    main()
