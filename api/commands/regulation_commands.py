"""``lienxa regulations import FILE.yaml`` / ``lienxa regulations export ID --out FILE.yaml``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

#: Keys an export carries that the service sets anew on import (a new draft, unsigned).
EXPORT_ONLY = ("id", "version", "status", "signed_on", "signers")


def run_import(args: argparse.Namespace) -> int:
    """Store a JSON or YAML regulation as a new draft (as ``POST /api/v1/regulations``): exit 1
    listing every problem, nothing stored."""
    from api.auth import Principal
    from api.commands.service_commands import _session, _settings
    from api.enums import Role
    from api.main import load_geodata
    from api.services.regulations import create_regulation
    from geo.io import read_structured
    from geo.regulation import RegulationError

    data = read_structured(args.file, what="regulation file", error_type=RegulationError)
    if isinstance(data, dict):
        dropped = [k for k in EXPORT_ONLY if k in data]
        data = {k: v for k, v in data.items() if k not in EXPORT_ONLY}
        if dropped:
            print(f"imported as a new draft: {', '.join(dropped)} set anew by the service")
    geo = load_geodata(_settings())
    actor = Principal(id=0, username=args.author, role=Role.PLANNER)
    try:
        with _session() as s:
            reg = create_regulation(s, actor, data, G=geo.graph, communes=set(geo.gdf.index))
    except RegulationError as exc:
        for p in exc.problems:
            print(f"lienxa regulations import: error: {p.field}: {p.message}", file=sys.stderr)
        print(f"lienxa regulations import: nothing imported from {args.file}", file=sys.stderr)
        return 1
    print(f"regulation {reg.id} ({reg.number}) imported as a draft from {args.file}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Write a regulation's newest version as YAML (or JSON for a ``.json`` name)."""
    import json
    from pathlib import Path

    import yaml

    from api.commands.service_commands import _session
    from api.errors import ServiceError
    from api.services.regulations import as_regulation, versions_of

    try:
        with _session() as s:
            data = as_regulation(versions_of(s, args.id)[-1]).to_dict()
    except ServiceError as exc:  # regulation_not_found
        print(f"lienxa regulations export: error: {exc.detail}", file=sys.stderr)
        return 1
    out = Path(args.out)
    if out.suffix.lower() == ".json":
        out.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    else:
        out.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    print(f"regulation {args.id} version {data['version']} ({data['status']}) written to {out}")
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``regulations import|export``."""
    p = sub.add_parser("regulations", help="coordination regulations (quy chế phối hợp)")
    rsub = p.add_subparsers(dest="regulations_command", metavar="ACTION", required=True)
    imp = rsub.add_parser("import", help="store a JSON or YAML regulation as a new draft")
    imp.add_argument("file", help="the regulation, YAML (.yaml/.yml) or JSON")
    imp.add_argument("--author", default="cli", help="recorded as the author (default: cli)")
    imp.set_defaults(func=run_import)
    exp = rsub.add_parser("export", help="write a regulation's newest version as YAML")
    exp.add_argument("id", type=int)
    exp.add_argument("--out", required=True, help="FILE.yaml (or .json)")
    exp.set_defaults(func=run_export)
