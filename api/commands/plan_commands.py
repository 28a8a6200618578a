"""``lienxa plan`` and ``lienxa sample-inventory``: the planner offline, no server or database."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import os
import sys
from collections.abc import Collection, Iterator
from pathlib import Path

from api.commands.geo_commands import (
    Progress,
    add_boundaries_options,
    load_from_args,
    quiet_broken_pipe,
)
from geo.errors import LienXaError


@contextlib.contextmanager
def catalogue_from(path: str | None) -> Iterator[None]:
    """Use the catalogue file ``path`` (``--catalogue``) everywhere while the command runs, as
    ``LIENXA_CATALOGUE`` would (checked first, so a bad file fails before any work)."""
    from geo.resources import CATALOGUE_ENV, load_catalogue

    if not path:
        yield
        return
    load_catalogue(path)
    before = os.environ.get(CATALOGUE_ENV)
    os.environ[CATALOGUE_ENV] = path
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(CATALOGUE_ENV, None)
        else:
            os.environ[CATALOGUE_ENV] = before


def load_regions(path: str, communes: Collection[str]) -> dict[str, list[str]]:
    """Read ``{"region name": ["commune", ...]}`` (regional defence commands).

    Raises
    ------
    LienXaError
        If the file cannot be read, is not such a mapping, or names an unknown commune.
    """
    from geo.io import read_structured

    p = Path(path)
    data = read_structured(p, what="regions file", allow_yaml=False)
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise LienXaError(
            f'{p.name}: regions must be an object {{"region name": ["commune", ...]}}',
            code="regions_invalid",
            field="regions",
        )
    known = set(communes)
    for region, members in data.items():
        unknown = [c for c in members if c not in known]
        if unknown:
            raise LienXaError(
                f"{p.name}: region {region!r} names unknown commune(s) "
                f"{', '.join(map(repr, unknown))}",
                code="unknown_commune",
                field="regions",
                params={"region": region, "commune": ", ".join(map(str, unknown))},
            )
    return {str(k): list(v) for k, v in data.items()}


def reserve_from_args(default: float, items: list[str] | None) -> float | dict[str, float]:
    """The reserve share from ``--reserve-share`` and the repeatable ``--reserve RESOURCE=SHARE``:
    one share, or ``{"default": share, resource: share, ...}`` (see
    :func:`geo.planning.check_reserve_share`), checked against the catalogue in use.

    Raises
    ------
    LienXaError
        Naming the item: a malformed or repeated ``--reserve``, an unknown resource, a share
        outside [0, 1].
    """
    from geo.planning import RESERVE_DEFAULT_KEY, check_reserve_share
    from geo.resources import load_catalogue

    try:
        check_reserve_share(default)
    except LienXaError as exc:
        raise LienXaError(
            f"--reserve-share {default}: the share must be between 0 and 1",
            code="share_out_of_range",
            field="reserve_share",
            params={"value": str(default)},
        ) from exc
    if not items:
        return float(default)
    catalogue = load_catalogue()
    shares: dict[str, float] = {RESERVE_DEFAULT_KEY: float(default)}
    for item in items:
        key, sep, value = (part.strip() for part in item.partition("="))
        if not sep or not key or not value:
            raise LienXaError(
                f"--reserve takes RESOURCE=SHARE (e.g. boats=0.5), got {item!r}",
                code="reserve_item_malformed",
                field="reserve",
                params={"value": item},
            )
        if key == RESERVE_DEFAULT_KEY:
            raise LienXaError(
                f"--reserve {item}: set the share of the other resources with --reserve-share",
                code="reserve_default_key",
                field="reserve",
            )
        if key not in catalogue:
            raise LienXaError(
                f"--reserve {item}: unknown resource {key!r} (known: {', '.join(catalogue)})",
                code="unknown_resource",
                field="reserve",
                params={"resource": key},
            )
        if key in shares:
            raise LienXaError(
                f"--reserve {item}: {key} is given twice",
                code="reserve_repeated",
                field="reserve",
                params={"resource": key},
            )
        try:
            share = float(value)
        except ValueError:
            share = float("nan")
        if not 0 <= share <= 1:
            raise LienXaError(
                f"--reserve {item}: the share must be a number between 0 and 1",
                code="share_out_of_range",
                field="reserve",
                params={"value": value, "resource": key},
            )
        shares[key] = share
    return check_reserve_share(shares, catalogue=catalogue)


def iso_date(text: str) -> dt.date:
    """``--at``: a date YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes a date YYYY-MM-DD, got {text!r}") from None


@quiet_broken_pipe
def run_plan(args: argparse.Namespace) -> int:
    """Compute a plan, print a readable summary and write the JSON."""
    with catalogue_from(args.catalogue):
        return _run_plan(args)


def _run_plan(args: argparse.Namespace) -> int:
    from geo.adjacency import build_graph
    from geo.needs import load_needs_profile, load_scenario
    from geo.planning import PlanParameters, compute_plan, summarise_plan
    from geo.resources import SAMPLE_LABEL, read_inventory_csv, sample_inventory
    from geo.rules import load_rules

    reserve_share = reserve_from_args(args.reserve_share, args.reserve)  # before any slow work
    progress = Progress(quiet=args.quiet)
    gdf = load_from_args(args, progress)
    if args.population:  # the official figures replace the file's, and clear the flag
        from geo.population import apply_population, load_population_table

        gdf = apply_population(gdf, load_population_table(args.population))
    progress("building the adjacency graph")
    G = build_graph(gdf)
    scenario = load_scenario(args.scenario, gdf=gdf)
    if args.inventory:
        inventory = read_inventory_csv(args.inventory, communes=gdf.index)
        sample = (
            Path(args.inventory).read_text(encoding="utf-8-sig").lstrip().startswith("# SAMPLE")
        )
    else:
        inventory, sample = sample_inventory(gdf, seed=args.seed), True
    rules = load_rules(args.rules, communes=gdf.index) if args.rules else []
    province = args.province
    if args.needs_profile and not province:  # the affected communes' province, when they share one
        provinces = {str(gdf.at[c, "province_code"]) for c in scenario.affected_codes}
        province = provinces.pop() if len(provinces) == 1 else None
    profile = (
        load_needs_profile(args.needs_profile, province=province) if args.needs_profile else None
    )
    regions = load_regions(args.regions, gdf.index) if args.regions else {}
    params = PlanParameters(
        max_hops=args.max_hops,
        reserve_share=reserve_share,
        agreement_factor=args.agreement_factor,
        speed_kmh=args.speed,
        at=args.at,
    )
    progress(f"planning {len(scenario.affected)} affected commune(s)")
    plan = compute_plan(
        G, scenario, inventory, rules=rules, params=params, needs_profile=profile, regions=regions
    )
    plan = dataclasses.replace(plan, sample_inventory=sample)
    if args.out:  # written before the summary, so a closed output (| head) cannot lose it
        Path(args.out).write_text(
            json.dumps(plan.to_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    if sample:
        print(f"!! {SAMPLE_LABEL} — dữ liệu mẫu, không phải số liệu khảo sát")
    print("\n".join(summarise_plan(plan, G)))
    if args.out:
        print(f"plan written to {args.out}")
    return 0


@quiet_broken_pipe
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


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``plan`` and ``sample-inventory`` to the CLI."""
    p = sub.add_parser("plan", help="compute a mutual-aid plan offline")
    add_boundaries_options(p)
    p.add_argument(
        "--inventory",
        metavar="CSV",
        help="inventory CSV commune,resource,quantity (default: a generated SAMPLE inventory)",
    )
    p.add_argument("--scenario", metavar="JSON", required=True, help="flood scenario (CONTRACT.md)")
    p.add_argument("--rules", metavar="FILE", help="adjacency rules, JSON or YAML")
    p.add_argument(
        "--population",
        metavar="CSV",
        help="official population table (code,population,source,date): replaces the "
        "boundaries' figures and clears their suspect flag (LIENXA_POPULATION for the service)",
    )
    p.add_argument(
        "--regions", metavar="JSON", help='regional defence commands: {"Khu vực 3": ["16777", ...]}'
    )
    p.add_argument("--needs-profile", metavar="FILE", help="needs profile, JSON or YAML")
    p.add_argument(
        "--province",
        help="province whose needs profile applies "
        "(default: the affected communes' province, when they share one)",
    )
    p.add_argument(
        "--catalogue",
        metavar="FILE",
        help="resource catalogue extension, JSON or YAML (default: $LIENXA_CATALOGUE)",
    )
    p.add_argument("--out", metavar="PLAN.json", help="write the plan JSON here")
    p.add_argument("--max-hops", type=int, default=2)
    p.add_argument(
        "--reserve-share",
        type=float,
        default=0.3,
        metavar="SHARE",
        help="share of each resource a commune keeps and never sends (default 0.3)",
    )
    p.add_argument(
        "--reserve",
        action="append",
        metavar="RESOURCE=SHARE",
        help="the reserve share of one resource, e.g. boats=0.5 (repeatable; "
        "the others keep --reserve-share)",
    )
    p.add_argument(
        "--at",
        type=iso_date,
        metavar="YYYY-MM-DD",
        help="judge the rules' validity dates on this day, to plan an exercise or replay "
        "a past event (default: today)",
    )
    p.add_argument("--agreement-factor", type=float, default=0.8)
    p.add_argument(
        "--speed", type=float, default=30.0, help="road speed for default travel times, km/h"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the sample inventory")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=run_plan)

    p = sub.add_parser("sample-inventory", help="write a generated, labelled SAMPLE inventory CSV")
    add_boundaries_options(p)
    p.add_argument("--out", metavar="CSV", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--province", help="only this province (2-digit code)")
    p.set_defaults(func=run_sample_inventory)
