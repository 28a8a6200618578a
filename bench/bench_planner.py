"""Benchmark: the optimal planner vs the greedy baseline (unmet units, travel cost) and vs the
same instance solved as linear programs with HiGHS (time, objective), in one run.

Instances: the Nghệ An scenario with the sample inventory, the real-data scenario of 25 July
2025 (data/scenarios: isolated communes, a recovery phase), and a generated nationwide one (500
affected communes in clusters across several provinces, all 16 resources, max_hops 3, one in ten
cut off, a third with damaged houses). Wall and CPU time per planner run (median and spread).

Run: ``.venv/bin/python bench/bench_planner.py [--repeat 5]``; writes bench/results/planner.json.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, vstack

from geo.adjacency import build_graph
from geo.boundaries import load_boundaries
from geo.needs import compute_needs, compute_recovery_needs, load_scenario, parse_scenario
from geo.paths import isolate
from geo.planning import PlanParameters, greedy_plan, hop_limited_paths, make_plan, validate_plan
from geo.resources import load_catalogue, sample_inventory
from geo.rules import apply_rules

ROOT = Path(__file__).resolve().parent.parent


SHARED = ROOT.parent / "shared" / "data"


def generated_scenario(G, *, n=500, clusters=12, seed=7):
    """``n`` affected communes in ``clusters`` connected clusters (floods follow valleys), each
    with 200-6,000 displaced people and, for a third, explicit boat needs."""
    rng = random.Random(seed)
    nodes = sorted(c for c in G if G.degree[c] > 0)
    chosen: list[str] = []
    while len(chosen) < n:
        start = rng.choice(nodes)
        frontier, seen = [start], {start}
        target = min(n - len(chosen), n // clusters + rng.randint(-10, 10))
        while frontier and len(seen) < target:
            u = frontier.pop(0)
            for v in sorted(G[u]):
                if v not in seen and v not in chosen and len(seen) < target:
                    seen.add(v)
                    frontier.append(v)
        chosen += [c for c in sorted(seen) if c not in chosen]
    chosen = chosen[:n]
    affected = []
    for c in chosen:
        pop = G.nodes[c].get("population")
        displaced = rng.randint(200, 6000)
        if pop is not None and pop == pop:  # not above a known population (an error now)
            displaced = min(displaced, int(pop))
        entry = {"commune": c, "displaced": displaced}
        if rng.random() < 0.33:
            entry["needs"] = {"boats": rng.randint(2, 30)}
        if rng.random() < 0.33:
            entry["houses_flooded"] = rng.randint(10, 400)
            entry["houses_collapsed"] = rng.randint(0, 40)
        roll = rng.random()
        if roll < 0.1:
            entry["isolated"] = "full" if roll < 0.04 else "partial"
        affected.append(entry)
    return {
        "name": f"generated nationwide ({n} communes, seed {seed})",
        "risk_level": 3,
        "duration_days": 3,
        "affected": affected,
    }


def lp_highs(G, scenario, inventory, params):
    """The same problem as LPs solved by HiGHS (two phases per resource: least unmet, then
    least cost), built from the same cheapest hop-limited paths."""
    H = apply_rules(
        G,
        (),
        closed_links=scenario.closed_links,
        speed_kmh=params.speed_kmh,
        agreement_factor=params.agreement_factor,
    )
    H = isolate(H, scenario.isolated("full"))
    unmet_total, cost_total = 0.0, 0.0
    for needs in (compute_needs(scenario), compute_recovery_needs(scenario)):
        u, c = _lp_phase(H, scenario, needs, inventory, params)
        unmet_total += u
        cost_total += c
    return {"unmet_units": round(unmet_total), "transport": round(cost_total, 3)}


def _lp_phase(H, scenario, needs, inventory, params):
    silent = scenario.isolated("partial")
    receivers_all = sorted(needs)
    paths = {c: hop_limited_paths(H, c, params.max_hops) for c in receivers_all}
    unmet_total, cost_total = 0.0, 0.0
    for r in load_catalogue():
        gaps = {
            c: needs[c].get(r, 0) - min(needs[c].get(r, 0), inventory.get(c, {}).get(r, 0))
            for c in receivers_all
        }
        gaps = {c: g for c, g in gaps.items() if g > 0}
        spare = {}
        for c, items in inventory.items():
            q, need = items.get(r, 0), needs.get(c, {}).get(r, 0)
            s = params.sendable(r, q, need)  # the planner's one reserve rule
            if s > 0 and c not in silent:
                spare[c] = s
        if not gaps:
            continue
        arcs = [
            (g, rc, paths[rc][g][0]) for rc in gaps for g in spare if g != rc and g in paths[rc]
        ]
        nx_, nu = len(arcs), len(gaps)
        if nx_ == 0:
            unmet_total += sum(gaps.values())
            continue
        ri = {c: i for i, c in enumerate(gaps)}
        gi = {c: i for i, c in enumerate(spare)}
        k = np.arange(nx_)
        A_eq = coo_matrix(
            (
                np.ones(nx_ + nu),
                (
                    np.r_[[ri[rc] for _, rc, _ in arcs], np.arange(nu)],
                    np.r_[k, nx_ + np.arange(nu)],
                ),
            ),
            shape=(nu, nx_ + nu),
        ).tocsr()
        A_ub = coo_matrix(
            (np.ones(nx_), ([gi[g] for g, _, _ in arcs], k)), shape=(len(spare), nx_ + nu)
        ).tocsr()
        b_eq = np.array(list(gaps.values()), float)
        b_ub = np.array(list(spare.values()), float)
        c1 = np.r_[np.zeros(nx_), np.ones(nu)]
        r1 = linprog(c1, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, method="highs")
        c2 = np.r_[[c for *_, c in arcs], np.zeros(nu)]
        r2 = linprog(
            c2,
            A_ub=vstack([A_ub, coo_matrix(c1)]).tocsr(),
            b_ub=np.r_[b_ub, r1.fun + 1e-6],
            A_eq=A_eq,
            b_eq=b_eq,
            method="highs",
        )
        unmet_total += r1.fun
        cost_total += r2.fun / 1000
    return unmet_total, cost_total


def measure(name, G, scenario, inventory, params, repeat):
    runs, cpu, plan = [], [], None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        plan = make_plan(G, scenario, inventory, params=params)
        runs.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    t = time.perf_counter()
    greedy = greedy_plan(G, scenario, inventory, params=params)
    t_greedy = time.perf_counter() - t
    lp_runs = []
    lp = None
    for _ in range(max(1, repeat // 2)):
        t = time.perf_counter()
        lp = lp_highs(G, scenario, inventory, params)
        lp_runs.append(time.perf_counter() - t)
    violations = validate_plan(plan, G, scenario, inventory, params=params)
    return {
        "instance": name,
        "affected": len(scenario.affected),
        "resources": len({row["resource"] for row in plan["ledger"]}),
        "max_hops": params.max_hops,
        "optimal_ms": {
            "median": round(statistics.median(runs) * 1000, 1),
            "runs": [round(x * 1000, 1) for x in runs],
            "spread": round((max(runs) - min(runs)) * 1000, 1),
        },
        "optimal_cpu_ms": {
            "median": round(statistics.median(cpu) * 1000, 1),
            "spread": round((max(cpu) - min(cpu)) * 1000, 1),
        },
        "isolated": {m: len(scenario.isolated(m)) for m in ("full", "partial")},
        "recovery_rows": sum(1 for row in plan["ledger"] if row.get("phase") == "recovery"),
        "greedy_ms": round(t_greedy * 1000, 1),
        "lp_highs_ms": {"median": round(statistics.median(lp_runs) * 1000, 1)},
        "optimal": plan["cost"],
        "greedy": greedy["cost"],
        "lp_highs": lp,
        "equal_to_lp_optimum": plan["cost"]["unmet_units"] == lp["unmet_units"]
        and abs(plan["cost"]["transport"] - lp["transport"]) <= max(0.01, 1e-7 * lp["transport"]),
        "never_worse_than_greedy": (plan["cost"]["unmet_units"], plan["cost"]["transport"])
        <= (greedy["cost"]["unmet_units"], greedy["cost"]["transport"]),
        "validator_violations": len(violations),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "bench/results/planner.json"))
    args = ap.parse_args()
    results = []

    gdf = load_boundaries(SHARED / "boundaries/nghe-an-2025.geojson")
    G = build_graph(gdf)
    sc = load_scenario(SHARED / "scenarios/nghe-an-western-floods.json", gdf=gdf)
    results.append(
        measure(
            "Nghệ An western floods (sample inventory, seed 0)",
            G,
            sc,
            sample_inventory(gdf, seed=0),
            PlanParameters(),
            args.repeat,
        )
    )

    sc = load_scenario(ROOT / "data/scenarios/nghe-an-2025-07-25.json", gdf=gdf)
    results.append(
        measure(
            "Nghệ An 25 July 2025 (isolation, recovery; sample inventory, seed 0)",
            G,
            sc,
            sample_inventory(gdf, seed=0),
            PlanParameters(),
            args.repeat,
        )
    )

    gdf = load_boundaries(SHARED / "boundaries/vietnam-2025.gpkg")
    G = build_graph(gdf)
    sc = parse_scenario(generated_scenario(G), gdf=gdf)
    results.append(
        measure(
            "nationwide generated (500 communes, all resources)",
            G,
            sc,
            sample_inventory(gdf, seed=0),
            PlanParameters(max_hops=3),
            args.repeat,
        )
    )

    Path(args.out).write_text(
        json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    for r in results:
        print(
            f"{r['instance']}: {r['affected']} affected, {r['resources']} resources, "
            f"max_hops {r['max_hops']}"
        )
        print(
            f"  optimal {r['optimal_ms']['median']} ms  unmet {r['optimal']['unmet_units']}  "
            f"cost {r['optimal']['transport']}"
        )
        print(
            f"  greedy  {r['greedy_ms']} ms  unmet {r['greedy']['unmet_units']}  "
            f"cost {r['greedy']['transport']}"
        )
        print(
            f"  HiGHS LP {r['lp_highs_ms']['median']} ms  unmet {r['lp_highs']['unmet_units']}  "
            f"cost {r['lp_highs']['transport']}"
        )
        print(
            f"  equal to LP optimum: {r['equal_to_lp_optimum']}; never worse than greedy: "
            f"{r['never_worse_than_greedy']}; validator violations: {r['validator_violations']}"
        )
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
