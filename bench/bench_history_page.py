"""Benchmark: the history page's weight and build time, against the commune page as reference.

In process (FastAPI's TestClient, SQLite in a temporary directory, the fast tier's five square
communes): one incident with ``--chains`` requests, each offered, accepted, dispatched and
received (five events each). The history page (the asking leader's), its CSV and the commune
page are fetched interleaved (A B C A B C ...) for ``--rounds`` rounds; wall and CPU seconds
(the server runs in this process, so CPU time is the page's), median and min-max; bytes raw and
gzipped.

Run: ``.venv/bin/python bench/bench_history_page.py [--chains 100] [--rounds 15]``; writes
bench/results/history_page.json.
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.inprocess_service import (  # noqa: E402  # the benchmarks' shared service
    API,
    bearer,
    service,
    summary,
    tokens,
)
from bench.report import write_results  # noqa: E402  # the one results writer
from tests.fast.conftest import ASKS, GIVES, PASSWORD  # noqa: E402  # the fast tier's communes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chains", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "history_page.json")
    args = ap.parse_args()

    from fastapi.testclient import TestClient

    from api.main import create_app

    settings = service(Path(tempfile.mkdtemp(prefix="lienxa-bench-history-")))
    with TestClient(create_app(settings)) as client:
        h = {u: bearer(t) for u, t in tokens(client, ("bch40", "dongha", "tayson")).items()}
        api = API
        incident = client.post(
            api + "/incidents",
            headers=h["bch40"],
            json={
                "name": "Lũ thử",
                "risk_level": 2,
                "duration_days": 1,
                "affected": [{"commune": ASKS, "displaced": 500}],
            },
        ).json()
        client.put(f"{api}/communes/{GIVES}/inventory", headers=h["tayson"], json={"boats": 10**6})
        t0 = time.perf_counter()
        for _ in range(args.chains):
            req = client.post(
                api + "/requests",
                headers=h["dongha"],
                json={
                    "incident_id": incident["id"],
                    "commune": ASKS,
                    "resource": "boats",
                    "quantity": 3,
                    "to": [GIVES],
                },
            ).json()
            offer = client.post(
                f"{api}/requests/{req['id']}/offers",
                headers=h["tayson"],
                json={"commune": GIVES, "quantity": 3, "confirm_below_reserve": True},
            ).json()
            steps = (("dongha", "accept"), ("tayson", "dispatch"), ("dongha", "arrive"))
            for user, action in steps:
                r = client.post(f"{api}/offers/{offer['id']}/{action}", headers=h[user])
                assert r.status_code == 200, r.text
        seed_s = time.perf_counter() - t0

        login = client.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        assert csrf is not None
        client.post(
            "/login",
            data={"username": "dongha", "password": PASSWORD, "csrf_token": csrf.group(1)},
        )
        pages = {
            "history_page": f"/history?incident={incident['id']}",
            "history_csv": f"{api}/incidents/{incident['id']}/history.csv",
            "history_json": f"{api}/incidents/{incident['id']}/history",
            "commune_page (reference)": "/commune",
        }
        wall: dict[str, list[float]] = {k: [] for k in pages}
        cpu: dict[str, list[float]] = {k: [] for k in pages}
        body: dict[str, bytes] = {}
        for _ in range(args.rounds):
            for name, path in pages.items():  # interleaved: every page in every round
                w, c = time.perf_counter(), time.process_time()
                r = client.get(path)
                wall[name].append(time.perf_counter() - w)
                cpu[name].append(time.process_time() - c)
                assert r.status_code == 200, (path, r.status_code)
                body[name] = r.content
        events = len(client.get(pages["history_json"]).json())

    out = {
        "what": "history page (leader of the asking commune) vs its commune page, in process",
        "chains": args.chains,
        "events": events,
        "rounds": args.rounds,
        "seed_s": round(seed_s, 1),
        "pages": {
            name: {
                "wall_s": summary(wall[name]),
                "cpu_s": summary(cpu[name]),
                "kb": round(len(body[name]) / 1024, 1),
                "gzip_kb": round(len(gzip.compress(body[name], 6)) / 1024, 1),
            }
            for name in pages
        },
        "python": sys.version.split()[0],
    }
    write_results(args.out, out)


if __name__ == "__main__":
    main()
