"""Benchmark: database round trips of the request and offer endpoints, counted and timed.

Two parts, both able to run another checkout's code as the baseline (``--root DIR``, run with
that checkout's interpreter: ``DIR/.venv/bin/python``):

``counts``
    The service in process (FastAPI's TestClient) on the fast tier's square communes, on SQLite
    or on a fresh PostgreSQL database (``--postgres``), with a ``before_cursor_execute``
    listener (``tests/fast/statements.py``) tallying the statements, transactions, pool
    checkouts (and the most connections held at once; on PostgreSQL the round trips they add
    up to) of each HTTP request: creating a request and an offer, the incoming and outgoing
    lists with 2 and 20 requests, one request with 1 and 10 offers, an inventory, and each move
    of an offer. Prints JSON. The fast tier's fresh database and users
    (``tests.fast.conftest.fresh_database``) and the counter are this checkout's files, loaded
    by path; the code counted is ``--root``'s.

``rps``
    Two real uvicorn servers (one worker each), A = ``--baseline`` (default ``/work/main``,
    its own ``.venv``) and B = this checkout, each on its own database seeded alike (Nghệ An
    boundaries and sample inventories), driven in turn A B A B ... for ``--rounds`` rounds with
    8 concurrent clients: an inventory, a leader's incoming list, one request with its offers,
    creating offers, accepting and dispatching them. req/s median and min–max over the rounds,
    and the servers' CPU seconds (user + sys, from ``/proc``) per 1,000 requests.

Run::

    .venv/bin/python bench/bench_round_trips.py counts [--postgres]
    /work/main/.venv/bin/python bench/bench_round_trips.py counts --root /work/main [--postgres]
    .venv/bin/python bench/bench_round_trips.py rps [--postgres] [--rounds 3] [--requests 300]

``rps`` writes ``bench/results/round_trips-rps[-postgres].json`` (``summarise FILE`` recomputes
its summary: medians, min–max, and B/A in each round); ``all`` runs the four counts (both
checkouts, both backends) and writes ``bench/results/round_trips-counts.json``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent


def _load_here(path: str, name: str) -> Any:
    """``path`` of this checkout, loaded by path as module ``name`` (the baseline may lack it,
    or have an older one); what it imports lazily (``api``) comes from the code counted."""
    spec = importlib.util.spec_from_file_location(name, HERE / path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def counts(root: Path, backend: str) -> dict[str, Any]:
    """Statements per HTTP request of ``root``'s code on ``backend`` (see the module doc)."""
    sys.path.insert(0, str(root))
    from fastapi.testclient import TestClient

    from api.main import create_app
    from tests.api.conftest import drop_database

    counter_mod = _load_here("tests/fast/statements.py", "lienxa_statements")
    # the fast tier's communes, users and fresh database (its one set-up)
    fast = _load_here("tests/fast/conftest.py", "lienxa_fast_conftest")
    ASKS, GIVES = fast.ASKS, fast.GIVES
    tmp = Path(tempfile.mkdtemp(prefix="lienxa-trips-"))
    commit = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    out: dict[str, Any] = {"root": str(root), "commit": commit, "backend": backend, "requests": {}}
    pg_name = None
    try:
        settings, pg_name = fast.fresh_database(tmp, backend=backend, actor="bench")
        with TestClient(create_app(settings)) as client:
            tokens = fast.log_in(client, ("dongha", "tayson", "bch40", "planner"))
            counter = counter_mod.StatementCounter(client.app.state.lienxa.engine)

            def call(label: str | None, user: str, method: str, path: str, **kw: Any) -> Any:
                headers = {"Authorization": f"Bearer {tokens[user]}"}
                with counter.measure() as tally:
                    r = client.request(method, "/api/v1" + path, headers=headers, **kw)
                assert r.status_code < 300, (path, r.status_code, r.text)
                if label is not None:
                    out["requests"][label] = tally.as_dict() | {"locks": tally.locks()}
                    if os.environ.get("LIENXA_TRIPS_SQL"):  # every statement, to read them
                        out["requests"][label]["sql"] = tally.statements
                return r.json()

            call(
                "PUT /communes/{code}/inventory",
                "tayson",
                "PUT",
                f"/communes/{GIVES}/inventory",
                json={"boats": 10_000, "militia": 10_000},
            )
            incident = call(
                None,
                "bch40",
                "POST",
                "/incidents",
                json={
                    "name": "Lũ thử",
                    "risk_level": 2,
                    "duration_days": 1,
                    "affected": [{"commune": ASKS, "displaced": 500}],
                },
            )

            def ask(label: str | None = None) -> dict[str, Any]:
                body = {
                    "incident_id": incident["id"],
                    "commune": ASKS,
                    "resource": "boats",
                    "quantity": 1000,
                    "to": [GIVES],
                }
                return call(label, "dongha", "POST", "/requests", json=body)  # type: ignore[no-any-return]

            def offer(req: dict[str, Any], label: str | None = None) -> dict[str, Any]:
                return call(
                    label,
                    "tayson",
                    "POST",
                    f"/requests/{req['id']}/offers",  # type: ignore[no-any-return]
                    json={"commune": GIVES, "quantity": 1},
                )

            first = ask("POST /requests")
            second = ask()
            offer(first)
            offer(first, "POST /requests/{id}/offers")
            lists = {
                "incoming": ("tayson", GIVES),
                "outgoing": ("dongha", ASKS),
            }
            for n in (2, 20):
                while len(call(None, "planner", "GET", "/requests")) < n:
                    offer(ask())
                for direction, (user, commune) in lists.items():
                    call(
                        f"GET /requests?direction={direction} ({n} requests)",
                        user,
                        "GET",
                        "/requests",
                        params={"commune": commune, "direction": direction},
                    )
            for n in (1, 10):
                req = ask()
                for _ in range(n):
                    offer(req)
                call(
                    f"GET /requests/{{id}} ({n} offers)", "dongha", "GET", f"/requests/{req['id']}"
                )
            call("GET /communes/{code}/inventory", "dongha", "GET", f"/communes/{GIVES}/inventory")
            o = offer(second)
            call("POST /offers/{id}/accept", "dongha", "POST", f"/offers/{o['id']}/accept")
            call("POST /offers/{id}/dispatch", "tayson", "POST", f"/offers/{o['id']}/dispatch")
            call("POST /offers/{id}/arrive", "dongha", "POST", f"/offers/{o['id']}/arrive")
            o = offer(second)
            call("POST /offers/{id}/decline", "dongha", "POST", f"/offers/{o['id']}/decline")
            o = offer(second)
            call(
                "POST /offers/{id}/cancel",
                "tayson",
                "POST",
                f"/offers/{o['id']}/cancel",
                json={"reason": "hết xuồng"},
            )
            call(
                "POST /requests/{id}/cancel",
                "dongha",
                "POST",
                f"/requests/{second['id']}/cancel",
                json={"reason": "đã đủ"},
            )
            counter.close()
    finally:
        drop_database(pg_name)
    return out


def main() -> int:
    """Parse the command line and run the part asked for."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("part", choices=["counts", "rps", "all", "summarise"])
    ap.add_argument("file", nargs="?", type=Path, help="summarise: a results file of rps")
    ap.add_argument("--root", type=Path, default=HERE)
    ap.add_argument("--baseline", type=Path, default=Path("/work/main"))
    ap.add_argument("--postgres", action="store_true")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()
    backend = "postgres" if args.postgres else "sqlite"
    if args.part == "counts":
        print(json.dumps(counts(args.root.resolve(), backend), indent=1, ensure_ascii=False))
        return 0
    if args.part == "all":
        return count_all(args.baseline)
    from round_trips_rps import rps, summarise  # the timed part, beside this file

    if args.part == "summarise":  # recompute the summary of a results file
        return summarise(json.loads(args.file.read_text()), args.file)

    return rps(args, backend)


def count_all(baseline: Path) -> int:
    """The counts of ``baseline`` and this checkout on both backends, side by side."""
    result: dict[str, Any] = {}
    for backend in ("sqlite", "postgres"):
        for name, root in (("before", baseline), ("after", HERE)):
            cmd = [str(root / ".venv/bin/python"), __file__, "counts", "--root", str(root)]
            cmd += ["--postgres"] if backend == "postgres" else []
            done = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                check=True,
                cwd=root,
                env={**os.environ, "PYTHONPATH": str(root)},
            )
            result.setdefault(backend, {})[name] = json.loads(done.stdout)
    path = HERE / "bench/results/round_trips-counts.json"
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    for backend, sides in result.items():
        print(
            f"{backend}: statements per HTTP request (before -> after; transactions, checkouts"
            + (", round trips)" if backend == "postgres" else ")")
        )
        for label, b in sides["before"]["requests"].items():
            a = sides["after"]["requests"].get(label, {})
            trips = (
                f"   rt {b.get('round_trips')}->{a.get('round_trips')}"
                if backend == "postgres"
                else ""
            )
            print(
                f"  {label:50s} {b['statements']:3d} -> {a.get('statements', '?'):>3}"
                f"   tx {b['transactions']}->{a.get('transactions')}"
                f"   co {b['checkouts']}->{a.get('checkouts')}{trips}"
            )
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
