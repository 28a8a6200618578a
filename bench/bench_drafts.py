"""Benchmark: drafting the coordination regulations of Nghệ An (130 communes, SAMPLE inventory)
and how much of the communes' modelled needs their own stock plus the drafted cards cover.

Interleaved A/B/C runs of :func:`geo.regulation_draft.draft_regulations`: A with one partner
per commune, B with two (the default), C with two and ``flooded_helpers_excused``; wall and CPU
seconds per run (median and spread). Coverage
(:func:`geo.readiness.readiness`, the drafts counted as if signed) at levels 1–3: the mean share
of the modelled needs covered, and the share of communes covered fully and at 90 % or more, for
own stock alone and with each variant's cards. The check that no helper is asked more than its
spare in any library scenario is run on each variant's drafts.

Run: ``.venv/bin/python bench/bench_drafts.py [--repeat 5]``; writes bench/results/drafts.json.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import write_results  # noqa: E402  # the one results writer
from geo.adjacency import build_graph  # noqa: E402
from geo.boundaries import load_boundaries  # noqa: E402
from geo.readiness import readiness  # noqa: E402
from geo.regulation_check import cards_over_spare  # noqa: E402
from geo.regulation_draft import draft_regulations  # noqa: E402
from geo.resources import sample_inventory  # noqa: E402

NGHE_AN = ROOT.parent / "shared" / "data" / "boundaries" / "nghe-an-2025.geojson"
#: name -> keyword arguments of draft_regulations (C: cards of a helper under the same incident
#: do not fire, so only the scenarios leaving it dry size them)
VARIANTS: dict[str, dict[str, object]] = {
    "A_one_partner": {"partners": 1},
    "B_two_partners": {"partners": 2},
    "C_two_partners_flooded_helpers_excused": {"partners": 2, "flooded_helpers_excused": True},
}


def summary(xs: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(xs), 4),
        "min": round(min(xs), 4),
        "max": round(max(xs), 4),
        "spread": round(max(xs) - min(xs), 4),
    }


def coverage(rows) -> dict[str, dict[str, float]]:
    out = {}
    n = len(rows)
    for level in ("1", "2", "3"):
        shares = [r.coverage[level] for r in rows]
        out[level] = {
            "mean_share": round(sum(shares) / n, 4),
            "communes_full": round(sum(s >= 1.0 for s in shares) / n, 4),
            "communes_90": round(sum(s >= 0.9 for s in shares) / n, 4),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "drafts.json"))
    args = ap.parse_args()
    gdf = load_boundaries(NGHE_AN)
    G = build_graph(gdf)
    communes = [str(c) for c in gdf.index]
    inventory = sample_inventory(gdf)
    times: dict[str, dict[str, list[float]]] = {k: {"wall": [], "cpu": []} for k in VARIANTS}
    drafts = {}
    for _ in range(args.repeat):
        for name, kw in VARIANTS.items():  # interleaved: A, B, C, A, B, C, ...
            w, c = time.perf_counter(), time.process_time()
            regs = draft_regulations(G, communes=communes, inventory=inventory, **kw)  # type: ignore[arg-type]
            times[name]["wall"].append(time.perf_counter() - w)
            times[name]["cpu"].append(time.process_time() - c)
            drafts[name] = regs
    own = readiness(G, communes=communes, inventory=inventory, regulations=[])
    result = {
        "what": "draft_regulations on Nghệ An (130 communes, SAMPLE inventory, reserve 0.3)",
        "command": ".venv/bin/python bench/bench_drafts.py --repeat " + str(args.repeat),
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "repeat": args.repeat,
        "coverage_own_stock_only": coverage(own),
        "variants": {},
    }
    for name, kw in VARIANTS.items():
        js = [r.to_json() for r in drafts[name]]
        excused = bool(kw.get("flooded_helpers_excused", False))
        rows = readiness(
            G, communes=communes, inventory=inventory, regulations=js, statuses=("draft",)
        )
        result["variants"][name] = {
            "arguments": kw,
            "wall_s": summary(times[name]["wall"]),
            "cpu_s": summary(times[name]["cpu"]),
            "regulations": len(js),
            "box_cards": sum(len(r["box_cards"]) for r in js),
            "communes_party": len({p for r in js for p in r["parties"]}),
            "communes_receiving_cards": len({c["to"] for r in js for c in r["box_cards"]}),
            "over_spare_violations": len(
                cards_over_spare(
                    G,
                    js,
                    communes=communes,
                    inventory=inventory,
                    reserve=0.3,
                    flooded_helpers_excused=excused,
                )
            ),
            "coverage_own_plus_cards": coverage(rows),
        }
    write_results(args.out, result)


if __name__ == "__main__":
    main()
