"""Benchmark: does a plan cost what the incident costs, whatever the loaded boundaries? And the
whole country at once.

Cases, each planned with ``compute_plan`` (max_hops 3, the SAMPLE inventory, seed 0):

- ``seven@nghe-an``  — the western Nghệ An scenario (7 communes) on the Nghệ An graph (130);
- ``seven@vietnam``  — the same scenario on the nationwide graph (3,321);
- ``all@vietnam``    — a typhoon over all 3,321 communes, 6 explicit needs each (all 16
  resources between them) plus the displaced people's.

Code under test: this checkout (``new``) against ``--baseline REV`` (``old``: that revision's
``geo/`` extracted with ``git archive``), each case run in fresh worker processes, **interleaved**
``old new old new …`` (``--rounds`` pairs), so that the machine's drift falls on both alike.
The two seven-commune cases, whose ratio to each other is issue 15's criterion, run in the same
rounds (old and new on Nghệ An, then on Việt Nam, ``--seven-rounds`` times, ``--seven-repeat``
plans per worker: a plan takes milliseconds, and one process's speed varies by ±30 % on this
machine). Each worker loads the graphs from one pickle made here, plans the case once to warm
up, then ``--repeat`` times, and reports CPU seconds (``time.process_time``) and wall per plan.
We record medians and spreads (max − min) per side, the ratio ``new / old`` of the medians,
the seven-commune ratio of medians and round by round, and that both sides found plans of the
same cost (unmet units, transport).

``all@vietnam`` is also solved once as linear programs by HiGHS (``bench_planner.lp_highs``:
least unmet, then least cost, per resource) and the plan is checked to equal that optimum.

Run: ``.venv/bin/python bench/bench_plan_scale.py [--baseline ae24e97] [--rounds 5] [--no-lp]``;
writes bench/results/plan_scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
CASES = ("seven@nghe-an", "seven@vietnam", "all@vietnam")

SCENARIO = r"""
import json, pickle, random, sys, time
from geo.needs import parse_scenario
from geo.planning import PlanParameters, compute_plan
from geo.resources import load_catalogue

case, blob = sys.argv[1], sys.argv[2]
data = pickle.load(open(blob, "rb"))
what, where = case.split("@")
G, inventory = data[where]
if what == "seven":
    scenario = parse_scenario(data["seven"], communes=set(G))
else:
    rng = random.Random(3)
    cat = list(load_catalogue())
    affected = [
        {
            "commune": c,
            "displaced": min(int(G.nodes[c].get("population") or 1000), rng.randint(50, 3000)),
            "needs": {r: rng.randint(1, 40) for r in rng.sample(cat, 6)},
        }
        for c in sorted(G)
    ]
    scenario = parse_scenario(
        {"name": "all", "risk_level": 5, "duration_days": 3, "affected": affected},
        communes=set(G), max_affected=4000,
    )
"""

WORKER = (
    SCENARIO
    + r"""
repeat = int(sys.argv[3])
params = PlanParameters(max_hops=3)
plan = compute_plan(G, scenario, inventory, params=params)  # warm-up (imports, caches)
cpu, wall = [], []
for _ in range(repeat):
    c, t = time.process_time(), time.perf_counter()
    plan = compute_plan(G, scenario, inventory, params=params)
    cpu.append(time.process_time() - c)
    wall.append(time.perf_counter() - t)
print(json.dumps({"cpu": cpu, "wall": wall, "unmet": plan.cost.unmet_units,
                  "transport": plan.cost.transport, "transfers": len(plan.transfers)}))
"""
)

#: The same case solved as linear programs by HiGHS (``bench_planner.lp_highs``) and by the
#: planner once, in this checkout: is the plan exactly the LP's optimum?
LP_WORKER = (
    SCENARIO
    + r"""
sys.path.insert(0, "bench")
from bench_planner import lp_highs
params = PlanParameters(max_hops=3)
plan = compute_plan(G, scenario, inventory, params=params)
t = time.process_time()
lp = lp_highs(G, scenario, inventory, params)
lp_cpu = time.process_time() - t
ours = {"unmet_units": plan.cost.unmet_units, "transport": plan.cost.transport}
same = ours["unmet_units"] == lp["unmet_units"] and abs(
    ours["transport"] - lp["transport"]) <= max(0.01, 1e-7 * lp["transport"])
print(json.dumps({"plan": ours, "lp_highs": lp, "lp_cpu_s": round(lp_cpu, 2),
                  "equal_to_lp_optimum": same}))
"""
)


def _stats(xs: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(xs), 4), "spread": round(max(xs) - min(xs), 4)}


def _row(case: str, runs_of: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """One case's record: per side the medians and spreads of every plan's CPU and wall
    seconds, the plan's cost, and the ratio new / old of the CPU medians."""
    row: dict[str, Any] = {"case": case}
    for side, runs in runs_of.items():
        cpu = [x for r in runs for x in r["cpu"]]
        wall = [x for r in runs for x in r["wall"]]
        row[side] = {
            "cpu_s": _stats(cpu),
            "wall_s": _stats(wall),
            "unmet": runs[0]["unmet"],
            "transport": runs[0]["transport"],
            "transfers": runs[0]["transfers"],
        }
    old, new = row["old"], row["new"]
    row["cpu_ratio_new_over_old"] = round(new["cpu_s"]["median"] / old["cpu_s"]["median"], 3)
    row["same_cost"] = (old["unmet"], old["transport"]) == (new["unmet"], new["transport"])
    return row


def graphs_blob(path: Path) -> None:
    """Both graphs and their SAMPLE inventories, and the seven-commune scenario, pickled once."""
    from geo.adjacency import build_graph
    from geo.boundaries import load_boundaries
    from geo.resources import sample_inventory

    data: dict[str, object] = {}
    for name, file in (
        ("nghe-an", "boundaries/nghe-an-2025.geojson"),
        ("vietnam", "boundaries/vietnam-2025.gpkg"),
    ):
        gdf = load_boundaries(SHARED / file)
        data[name] = (build_graph(gdf), sample_inventory(gdf, seed=0))
    data["seven"] = json.loads((SHARED / "scenarios/nghe-an-western-floods.json").read_text())
    path.write_bytes(pickle.dumps(data))


def baseline_tree(rev: str, into: Path) -> Path:
    """``rev``'s ``geo/`` package, extracted under ``into``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "geo"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def run_worker(code_root: Path, case: str, blob: Path, repeat: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    out = subprocess.run(
        [sys.executable, "-c", WORKER, case, str(blob), str(repeat)],
        env=env,
        cwd=code_root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def run_lp(blob: Path) -> dict[str, object]:
    """``all@vietnam`` planned by this checkout and solved as LPs by HiGHS, in one process."""
    out = subprocess.run(
        [sys.executable, "-c", LP_WORKER, "all@vietnam", str(blob)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    print(json.dumps({"all_vietnam_lp": result}))
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default="ae24e97", help="the revision to compare against")
    ap.add_argument("--rounds", type=int, default=5, help="old/new pairs per case")
    ap.add_argument("--repeat", type=int, default=3, help="plans per worker")
    ap.add_argument(
        "--seven-rounds", type=int, default=8, help="rounds of the two seven-commune cases"
    )
    ap.add_argument("--seven-repeat", type=int, default=20, help="plans per seven-commune worker")
    ap.add_argument("--out", default=str(ROOT / "bench/results/plan_scale.json"))
    ap.add_argument(
        "--no-lp", action="store_true", help="skip solving all@vietnam as LPs with HiGHS"
    )
    args = ap.parse_args()
    if not (SHARED / "boundaries/vietnam-2025.gpkg").exists():
        print("bench_plan_scale: ../shared/data is missing", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        blob = Path(tmp) / "graphs.pkl"
        graphs_blob(blob)
        old_root = baseline_tree(args.baseline, Path(tmp))
        sides = {"old": old_root, "new": ROOT}
        results = []
        per_round: dict[str, list[float]] = {"old": [], "new": []}
        # the two seven-commune cases are compared with each other: they run interleaved in
        # the same rounds (old and new of Nghệ An, then of Việt Nam, round after round), more
        # rounds and plans than the whole country's, since each plan takes milliseconds
        for group, rounds, repeat in (
            (("seven@nghe-an", "seven@vietnam"), args.seven_rounds, args.seven_repeat),
            (("all@vietnam",), args.rounds, args.repeat),
        ):
            got: dict[str, dict[str, list[dict[str, Any]]]] = {
                case: {"old": [], "new": []} for case in group
            }
            for _ in range(rounds):
                for case in group:
                    for side in ("old", "new"):  # interleaved: old new old new ...
                        got[case][side].append(run_worker(sides[side], case, blob, repeat))
                if len(group) == 2:
                    for side in ("old", "new"):
                        na, vn = (statistics.median(got[c][side][-1]["cpu"]) for c in group)
                        per_round[side].append(vn / na)
            for case in group:
                results.append(_row(case, got[case]))
                print(json.dumps(results[-1], ensure_ascii=False))
        lp_check = None if args.no_lp else run_lp(blob)
    by_case = {r["case"]: r for r in results}
    seven_ratio = {
        side: round(
            by_case["seven@vietnam"][side]["cpu_s"]["median"]
            / by_case["seven@nghe-an"][side]["cpu_s"]["median"],
            2,
        )
        for side in ("old", "new")
    }
    record = {
        "bench": "plan_scale",
        "baseline": args.baseline,
        "rounds": args.rounds,
        "repeat": args.repeat,
        "seven_rounds": args.seven_rounds,
        "seven_repeat": args.seven_repeat,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_avg_at_end": os.getloadavg(),
            "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        },
        "seven_vietnam_over_nghe_an_cpu": seven_ratio,
        # the same ratio round by round (each round's two medians): median and spread
        "seven_vietnam_over_nghe_an_cpu_per_round": {
            side: _stats(xs) for side, xs in per_round.items()
        },
        "all_vietnam_lp": lp_check,
        "cases": results,
    }
    Path(args.out).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({"seven_vietnam_over_nghe_an_cpu": seven_ratio}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
