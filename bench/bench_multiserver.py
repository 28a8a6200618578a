"""Benchmark: several application servers on one PostgreSQL behind HAProxy, and the checks that
nothing depends on being in one process.

Creates a PostgreSQL database of its own on 127.0.0.1:5432 (user postgres; dropped at the end),
migrates it and seeds the Nghệ An users and a sample inventory (as ``tests/api/conftest.py``),
then starts ``lienxa serve`` processes, each on its own port with its own data directory: three
with 1 worker (``s1``–``s3``) and one with ``--workers 2`` (``w2``), all with the same secret
key. One HAProxy per configuration is put in front (round robin, keep-alive to the backends:
``tests/api/multiserver.py``):

- ``1 server``: s1; ``2 servers``: s1, s2; ``3 servers``: s1–s3; ``1 server x 2 workers``: w2;
- ``s1 direct``: s1 without a proxy (what the proxy costs).

Rounds drive every configuration in turn (the order rotated per round) from a load generator
in another process (this script with ``--load``: stdlib ``http.client``, ``--concurrency``
keep-alive connections, each sending its share of the requests one after the other) on
``/healthz``, an inventory, a leader's incoming requests and creating offers. Reported: req/s
median and min–max over the rounds, and per 1,000 requests the CPU seconds (user + sys) of the
servers, of HAProxy and of the load generator. Then the checks of
``tests/api/multiserver_checks.py`` run through the 3-server proxy, each recorded as passed or
failed with what it saw.

Run: ``.venv/bin/python bench/bench_multiserver.py [--rounds 5] [--requests 400]``; writes
``bench/results/multiserver.json``. Needs HAProxy (``apt-get install -y haproxy``) and
PostgreSQL; says which is missing and exits 2 otherwise.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: What each measurement asks: label -> (method, path, user whose token is sent, share of
#: ``--requests``). ``{req}`` is the request offers are made to.
ENDPOINTS: dict[str, tuple[str, str, str | None, float]] = {
    "/healthz": ("GET", "/healthz", None, 2.0),
    "inventory": ("GET", "/api/v1/communes/17248/inventory", "chaukhe", 1.0),
    "incoming requests": (
        "GET",
        "/api/v1/requests?commune=17248&direction=incoming",
        "chaukhe",
        1.0,
    ),
    "offers": ("POST", "/api/v1/requests/{req}/offers", "tuongduong", 0.5),
}
#: Offers come from Tương Dương (16876), so that they do not grow Châu Khê's incoming list.
OFFER = json.dumps({"commune": "16876", "quantity": 1})


def load(url: str, method: str, path: str, token: str, n: int, conns: int) -> dict[str, Any]:
    """``n`` requests over ``conns`` keep-alive connections (each made, and used once, before
    the clock starts): req/s, p50/p99 latency, errors, and this process's CPU seconds."""
    host, port = url.removeprefix("http://").split(":")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = OFFER if method == "POST" else None
    if body:
        headers["Content-Type"] = "application/json"
    want = 201 if method == "POST" else 200
    per = n // conns
    lat: list[float] = []
    errors: list[int] = []
    barrier = threading.Barrier(conns + 1)

    def one() -> None:
        c = http.client.HTTPConnection(host, int(port), timeout=120)
        c.connect()
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def ask() -> int:
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            r.read()
            return r.status

        ask()
        barrier.wait()
        for _ in range(per):
            t = time.perf_counter()
            status = ask()
            lat.append(time.perf_counter() - t)
            if status != want:
                errors.append(status)
        c.close()

    threads = [threading.Thread(target=one) for _ in range(conns)]
    for t in threads:
        t.start()
    barrier.wait()
    cpu0 = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    cpu = sum(resource.getrusage(resource.RUSAGE_SELF)[:2]) - cpu0
    lat.sort()
    return {
        "rps": per * conns / wall,
        "p50_ms": 1000 * statistics.median(lat),
        "p99_ms": 1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))],
        "errors": len(errors),
        "error_statuses": sorted(set(errors))[:5],
        "client_cpu_s": cpu,
    }


def run_load(
    url: str, method: str, path: str, token: str, n: int, conns: int, *, processes: int = 1
) -> dict[str, Any]:
    """:func:`load` in ``processes`` other processes (this script with ``--load``), the
    ``conns`` connections and ``n`` requests shared among them; req/s summed, latencies the
    first process's, CPU seconds summed."""
    cmd = [sys.executable, __file__, "--load", url, method, path, token or "-"]
    procs = [
        subprocess.Popen(
            [*cmd, str(n // processes), str(conns // processes)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    outs = []
    for p in procs:
        stdout, _ = p.communicate()
        if p.returncode:
            raise RuntimeError(f"load generator exited with {p.returncode}")
        outs.append(json.loads(stdout))
    result: dict[str, Any] = dict(outs[0])
    for k in ("rps", "errors", "client_cpu_s"):
        result[k] = sum(o[k] for o in outs)
    return result


def spread(xs: list[float], digits: int = 1) -> dict[str, float]:
    return {
        "median": round(statistics.median(xs), digits),
        "min": round(min(xs), digits),
        "max": round(max(xs), digits),
    }


def prepare(url: str, tokens: dict[str, str]) -> int:
    """An incident, a large request to offer on (17254 asks 16876 for life jackets it has a
    million of) and a few requests for 17248's incoming list; the large request's id."""
    import httpx

    from tests.conftest import SCENARIO

    def c(user: str) -> httpx.Client:
        auth = {"Authorization": f"Bearer {tokens[user]}"}
        return httpx.Client(base_url=url + "/api/v1", headers=auth, timeout=60)

    with c("bchqs") as bch, c("tuongduong") as td, c("conc") as conc:
        inc = bch.post("/incidents", json=json.loads(SCENARIO.read_text())).json()
        td.put("/communes/16876/inventory", json={"life_jackets": 10**6}).raise_for_status()
        ask = {"incident_id": inc["id"], "commune": "17254"}
        big = conc.post(
            "/requests",
            json=ask | {"resource": "life_jackets", "quantity": 10**6, "to": ["16876"]},
        )
        big.raise_for_status()
        for _ in range(3):
            conc.post("/requests", json=ask | {"resource": "boats", "quantity": 1, "to": ["17248"]})
        req: int = big.json()["id"]
        return req


def missing_tools() -> list[str]:
    """What the benchmark needs and does not find, worded for the operator."""
    from tests.api.conftest import postgres_available
    from tests.api.multiserver import HAPROXY_MISSING, haproxy_binary
    from tests.conftest import NGHE_AN

    needs = (
        (haproxy_binary() is not None, HAPROXY_MISSING),
        (postgres_available(), "PostgreSQL is not answering on 127.0.0.1:5432"),
        (NGHE_AN.exists(), f"the boundaries {NGHE_AN} are missing (../shared/data)"),
    )
    return [why for ok, why in needs if not ok]


def start_all(tmp: Path, db_url: str, secret: str, gateway: Any) -> tuple[dict, dict]:
    """The backends (s1-s3 with 1 worker, w2 with 2) and one proxy per configuration."""
    from tests.api.conftest import free_port
    from tests.api.multiserver import server_env, start_backend, start_proxy, wait_ready

    b: dict[str, Any] = {}
    for name, workers in (("s1", 1), ("s2", 1), ("s3", 1), ("w2", 2)):
        env = server_env(
            db_url,
            tmp / name,
            secret,
            LIENXA_SMS_SEND_URL=gateway.url(name),
            LIENXA_SMS_POLL_SECONDS="1",
        )
        b[name] = start_backend(name, free_port(), env, workers=workers, log=tmp / f"{name}.log")
        if name == "s1":
            wait_ready([b["s1"]])  # the first one computes the geodata cache, the others read it
    wait_ready(list(b.values()))
    proxies = {}
    for config, members in (
        ("1 server", [b["s1"]]),
        ("2 servers", [b["s1"], b["s2"]]),
        ("3 servers", [b["s1"], b["s2"], b["s3"]]),
        ("1 server x 2 workers", [b["w2"]]),
    ):
        proxies[config] = start_proxy(tmp, free_port(), members)
    return b, proxies


def measure(
    args: argparse.Namespace,
    targets: dict[str, tuple[str, list[int], int | None]],
    tokens: dict[str, str],
    req: int,
) -> tuple[dict[str, Any], int]:
    """Interleaved rounds over ``targets`` (configuration -> url, server pids, proxy pid); per
    configuration the req/s and p50 of each endpoint and the CPU per 1,000 requests; errors."""
    from bench_workers import cpu_seconds

    configs = list(targets)
    rps = {c: {e: [] for e in ENDPOINTS} for c in configs}
    p50 = {c: {e: [] for e in ENDPOINTS} for c in configs}
    cpu = {c: {k: [] for k in ("servers", "haproxy", "load generator")} for c in configs}
    errors = 0
    for r in range(-1, args.rounds):  # round -1 warms every server and proxy up
        for config in configs[r % len(configs) :] + configs[: r % len(configs)]:
            url, pids, hap = targets[config]
            used = {"servers": 0.0, "haproxy": 0.0, "load generator": 0.0}
            total = 0
            for label, (method, path, user, share) in ENDPOINTS.items():
                n = 64 if r < 0 else int(args.requests * share)
                s0, h0 = sum(cpu_seconds(p) for p in pids), cpu_seconds(hap) if hap else 0.0
                token = tokens[user] if user else ""
                out = run_load(
                    url,
                    method,
                    path.format(req=req),
                    token,
                    n,
                    args.concurrency,
                    processes=args.load_processes,
                )
                used["servers"] += sum(cpu_seconds(p) for p in pids) - s0
                used["haproxy"] += (cpu_seconds(hap) - h0) if hap else 0.0
                used["load generator"] += out["client_cpu_s"]
                total += n // args.concurrency * args.concurrency
                errors += out["errors"]
                if out["errors"]:
                    print(f"  {config} {label}: {out['errors']} errors {out['error_statuses']}")
                rps[config][label].append(out["rps"])
                p50[config][label].append(out["p50_ms"])
            for k, v in used.items():
                cpu[config][k].append(1000 * v / total)
            if r < 0:  # the warm-up round is not counted
                for d in (rps[config], p50[config], cpu[config]):
                    for xs in d.values():
                        xs.clear()
        if r >= 0:
            cells = "  ".join(f"{c}: {rps[c]['inventory'][-1]:.0f}" for c in configs)
            print(f"round {r + 1}/{args.rounds} (inventory req/s) {cells}", flush=True)
    out = {
        c: {
            "rps": {e: spread(rps[c][e]) for e in ENDPOINTS},
            "p50_ms": {e: round(statistics.median(p50[c][e]), 1) for e in ENDPOINTS},
            "cpu_s_per_1000_requests": {k: spread(v, 2) for k, v in cpu[c].items()},
        }
        for c in configs
    }
    return out, errors


def run_checks(site: Any, ids: dict[str, int], gateway: Any) -> dict[str, Any]:
    """Every check of ``tests/api/multiserver_checks.py``: passed or not, and what it saw."""
    from tests.api import multiserver_checks as checks

    outcomes: dict[str, Any] = {}
    for check in checks.CHECKS:
        label = check.__name__.removeprefix("check_")
        try:
            outcomes[label] = {"ok": True, "saw": check(site, ids=ids, gateway=gateway)}
        except Exception as exc:  # recorded, not raised: every check runs
            outcomes[label] = {"ok": False, "saw": repr(exc)[:500]}
        print(f"  {'ok  ' if outcomes[label]['ok'] else 'FAIL'} {label}: {outcomes[label]['saw']}")
    return outcomes


def bench(args: argparse.Namespace) -> int:
    """Start everything, measure, check, write ``bench/results/multiserver.json``."""
    from tests.api import multiserver_checks as checks
    from tests.api.conftest import PASSWORD, create_database, drop_database, seed
    from tests.api.multiserver import Site, haproxy_binary, new_secret, stop

    missing = missing_tools()
    for why in missing:
        print(f"bench_multiserver: cannot run: {why}", file=sys.stderr)
    if missing:
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="lienxa-bench-multi-"))
    load_before = [round(x, 2) for x in os.getloadavg()]
    db_url, name = create_database("postgres", tmp)
    gateway = checks.Gateway()
    backends: dict[str, Any] = {}
    proxies: dict[str, Any] = {}
    try:
        seed(db_url)
        ids = checks.add_check_users(db_url)
        secret = new_secret()
        backends, proxies = start_all(tmp, db_url, secret, gateway)
        targets: dict[str, tuple[str, list[int], int | None]] = {
            c: (p.url, [m.proc.pid for m in p.backends], p.proc.pid) for c, p in proxies.items()
        }
        targets["s1 direct"] = (backends["s1"].url, [backends["s1"].proc.pid], None)
        members = {c: p.backends for c, p in proxies.items()} | {"s1 direct": [backends["s1"]]}
        site = Site(proxies["3 servers"], db_url, secret)
        tokens = {u: site.log_in(u, PASSWORD) for u in ("chaukhe", "conc", "bchqs", "tuongduong")}
        req = prepare(site.proxy.url, tokens)
        configurations, errors = measure(args, targets, tokens, req)
        outcomes = run_checks(site, ids, gateway)
    finally:
        for p in proxies.values():
            stop(p.proc)
        for be in backends.values():
            stop(be.proc)
        gateway.close()
        drop_database(name)
    version = subprocess.run(
        [haproxy_binary() or "haproxy", "-v"], capture_output=True, text=True
    ).stdout
    for c, res in configurations.items():
        res["backends"] = [f"{m.name} ({m.workers} worker(s))" for m in members[c]]
    results: dict[str, Any] = {
        "backend": "postgres",
        "proxy": version.splitlines()[0],
        "concurrency": args.concurrency,
        "load_processes": args.load_processes,
        "keep_alive": True,
        "rounds": args.rounds,
        "requests": {e: int(args.requests * s[3]) for e, s in ENDPOINTS.items()},
        "interleaved": "each round drives every configuration in turn, the order rotated",
        "cores": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "errors": errors,
        "configurations": configurations,
        "checks": outcomes,
    }
    out_path = ROOT / "bench/results/multiserver.json"
    out_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(
        f"{args.concurrency} keep-alive connections, {args.rounds} rounds: req/s median [min-max]"
    )
    for c, res in configurations.items():
        cells = "  ".join(
            f"{e} {v['median']:.0f} [{v['min']:.0f}-{v['max']:.0f}]" for e, v in res["rps"].items()
        )
        srv = res["cpu_s_per_1000_requests"]["servers"]["median"]
        print(f"  {c:22s} {cells}  server cpu/1000 {srv} s")
    failed = [k for k, v in outcomes.items() if not v["ok"]]
    print(f"checks: {len(outcomes) - len(failed)}/{len(outcomes)} passed {failed or ''}")
    print(f"written to {out_path}")
    return 1 if failed or errors else 0


def main() -> int:
    if sys.argv[1:2] == ["--load"]:
        url, method, path, token, n, conns = sys.argv[2:8]
        print(
            json.dumps(load(url, method, path, "" if token == "-" else token, int(n), int(conns)))
        )
        return 0
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--requests", type=int, default=400, help="per endpoint and round (x2 healthz)")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument(
        "--load-processes", type=int, default=1, help="load generator processes (share the conns)"
    )
    return bench(ap.parse_args())


if __name__ == "__main__":
    sys.exit(main())
