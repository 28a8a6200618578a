"""``lienxa plan`` and ``lienxa sample-inventory``: the planner offline, no server or database."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from api.commands.geo_commands import Progress, add_boundaries_options, load_from_args


def run_plan(args: argparse.Namespace) -> int:
    """Compute a plan, print a readable summary and write the JSON."""
    from geo.adjacency import build_graph
    from geo.needs import load_needs_profile, load_scenario
    from geo.planning import PlanParameters, make_plan, summarise_plan
    from geo.resources import SAMPLE_LABEL, read_inventory_csv, sample_inventory
    from geo.rules import load_rules

    progress = Progress(quiet=args.quiet)
    gdf = load_from_args(args, progress)
    progress("building the adjacency graph")
    G = build_graph(gdf)
    scenario = load_scenario(args.scenario, gdf=gdf)
    if args.inventory:
        inventory = read_inventory_csv(args.inventory, communes=gdf.index)
        sample = Path(args.inventory).read_text(encoding="utf-8-sig").lstrip().startswith("# SAMPLE")
    else:
        inventory, sample = sample_inventory(gdf, seed=args.seed), True
    rules = load_rules(args.rules, communes=gdf.index) if args.rules else []
    profile = load_needs_profile(args.needs_profile, province=args.province) if args.needs_profile else None
    regions = json.loads(Path(args.regions).read_text(encoding="utf-8")) if args.regions else {}
    params = PlanParameters(max_hops=args.max_hops, reserve_share=args.reserve_share,
                            agreement_factor=args.agreement_factor, speed_kmh=args.speed)
    progress(f"planning {len(scenario.affected)} affected commune(s)")
    plan = make_plan(G, scenario, inventory, rules=rules, params=params, needs_profile=profile, regions=regions)
    plan["sample_inventory"] = sample
    if sample:
        print(f"!! {SAMPLE_LABEL} — dữ liệu mẫu, không phải số liệu khảo sát")
    print("\n".join(summarise_plan(plan, G)))
    if args.out:
        Path(args.out).write_text(json.dumps(plan, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"plan written to {args.out}")
    return 0


def run_sample_inventory(args: argparse.Namespace) -> int:
    """Write a generated, labelled sample inventory CSV."""
    from geo.resources import SAMPLE_LABEL, sample_inventory, write_inventory_csv

    gdf = load_from_args(args)
    if args.province:
        gdf = gdf[gdf["province_code"] == args.province.zfill(2)]
        if gdf.empty:
            print(f"no commune in province {args.province}", file=sys.stderr)
            return 1
    inv = sample_inventory(gdf, seed=args.seed)
    write_inventory_csv(inv, args.out, sample=True)
    rows = sum(len(v) for v in inv.values())
    print(f"{SAMPLE_LABEL}: {len(inv)} communes, {rows} rows written to {args.out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``plan`` and ``sample-inventory`` to the CLI."""
    p = sub.add_parser("plan", help="compute a mutual-aid plan offline")
    add_boundaries_options(p)
    p.add_argument("--inventory", metavar="CSV",
                   help="inventory CSV commune,resource,quantity (default: a generated SAMPLE inventory)")
    p.add_argument("--scenario", metavar="JSON", required=True, help="flood scenario (CONTRACT.md)")
    p.add_argument("--rules", metavar="FILE", help="adjacency rules, JSON or YAML")
    p.add_argument("--regions", metavar="JSON", help='regional defence commands: {"Khu vực 3": ["16777", ...]}')
    p.add_argument("--needs-profile", metavar="FILE", help="needs profile, JSON or YAML")
    p.add_argument("--province", help="province whose needs profile applies")
    p.add_argument("--out", metavar="PLAN.json", help="write the plan JSON here")
    p.add_argument("--max-hops", type=int, default=2)
    p.add_argument("--reserve-share", type=float, default=0.3)
    p.add_argument("--agreement-factor", type=float, default=0.8)
    p.add_argument("--speed", type=float, default=30.0, help="road speed for default travel times, km/h")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample inventory")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=run_plan)

    p = sub.add_parser("sample-inventory", help="write a generated, labelled SAMPLE inventory CSV")
    add_boundaries_options(p)
    p.add_argument("--out", metavar="CSV", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--province", help="only this province (2-digit code)")
    p.set_defaults(func=run_sample_inventory)
