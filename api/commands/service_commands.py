"""``lienxa serve``, ``db upgrade``, ``inventory import|sample``, ``rules import`` (``users`` and
``audit`` are in :mod:`api.commands.admin_commands`)."""

from __future__ import annotations

import argparse
import sys
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from api.settings import Settings


def _settings() -> Settings:
    from api.settings import get_settings

    return get_settings()


def run_serve(args: argparse.Namespace) -> int:
    """Run the web service with uvicorn, in one process or ``--workers`` processes, on a
    socket whose connections have ``TCP_NODELAY`` (:mod:`api.serving`).

    The database is checked first: on one that is not migrated the command says so and exits
    with 1 before any worker starts; so it does when the workers' connection pools could
    exceed PostgreSQL's ``max_connections`` and ``LIENXA_DB_POOL_CHECK=refuse`` (a warning
    otherwise). With several workers the secret key is settled before they start, so that a
    token issued by one worker is valid in all of them.
    """
    from api.db import make_engine, pool_capacity_problem
    from api.main import NotMigrated, check_migrated, create_app
    from api.serving import serve

    settings = _settings()
    if args.workers < 1:
        print("lienxa serve: error: --workers must be at least 1", file=sys.stderr)
        return 2
    engine = make_engine(settings.resolved_database_url(), settings)
    try:
        check_migrated(engine)
        problem = None
        if settings.db_pool_check != "off":
            problem = pool_capacity_problem(engine, settings, args.workers)
    except NotMigrated as exc:
        print(f"lienxa serve: error: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    if problem:
        refuse = settings.db_pool_check == "refuse"
        print(f"lienxa serve: {'error' if refuse else 'warning'}: {problem}", file=sys.stderr)
        if refuse:
            return 1
    # Forwarded headers are believed only from LIENXA_TRUSTED_PROXIES (uvicorn would otherwise
    # trust 127.0.0.1 by default and rewrite the scheme before SecurityHeaders sees it).
    proxies = settings.trusted_proxies.strip()
    common: dict[str, Any] = {"log_level": args.log_level, "proxy_headers": bool(proxies)}
    if proxies:
        common["forwarded_allow_ips"] = proxies
    if args.workers == 1:
        serve(create_app(settings), workers=1, host=args.host, port=args.port, **common)
    else:
        settings.resolved_secret()  # generated once here, read by every worker
        # each worker builds its app from the same LIENXA_* environment
        serve(
            "api.main:app_factory",
            factory=True,
            workers=args.workers,
            host=args.host,
            port=args.port,
            **common,
        )
    return 0


def run_db_upgrade(args: argparse.Namespace) -> int:
    """Create or migrate the database named by the settings."""
    from api.db import make_engine, migration_state, upgrade

    url = _settings().resolved_database_url()
    upgrade(url)
    engine = make_engine(url)
    current, _ = migration_state(engine)
    print(f"database {engine.url.render_as_string(hide_password=True)} is at migration {current}")
    engine.dispose()
    return 0


def _session() -> AbstractContextManager[Session]:
    """A write session on the configured database (exit 2 when it is not migrated)."""
    from api.db import make_engine, make_sessionmaker, migration_state, session_scope

    engine = make_engine(_settings().resolved_database_url())
    current, head = migration_state(engine)
    if current != head:  # exit 2, apart from ``audit verify``'s 1 for a broken chain
        print(
            "lienxa: error: the database is not migrated: run `lienxa db upgrade` first",
            file=sys.stderr,
        )
        raise SystemExit(2)
    from api.commands.admin_commands import anchored  # audit checkpoints, as the service

    return session_scope(anchored(make_sessionmaker(engine)[1]))


def run_inventory(args: argparse.Namespace) -> int:
    """Import an inventory CSV (or a generated, labelled sample) into the database."""
    from sqlalchemy import select

    from api.models import InventoryItem, utcnow
    from api.services import audit
    from geo.boundaries import load_boundaries
    from geo.resources import read_inventory_csv, sample_inventory

    settings = _settings()
    gdf = load_boundaries(settings.boundaries, layer=settings.boundaries_layer)
    if args.action == "import":
        if not args.csv:
            print("inventory import needs a CSV file", file=sys.stderr)
            return 2
        inv, sample = read_inventory_csv(args.csv, communes=gdf.index), False
    else:
        inv, sample = sample_inventory(gdf, seed=args.seed), True
    with _session() as s:
        existing = {(r.commune_code, r.resource): r for r in s.scalars(select(InventoryItem))}
        for commune, items in inv.items():
            for key, q in items.items():
                row = existing.get((commune, key))
                if row is None:
                    s.add(
                        InventoryItem(
                            commune_code=commune,
                            resource=key,
                            quantity=q,
                            reserved=0,
                            sample=sample,
                            updated_by="cli",
                        )
                    )
                elif row.reserved <= q:
                    row.quantity, row.sample, row.updated_at, row.updated_by = (
                        q,
                        sample,
                        utcnow(),
                        "cli",
                    )
        audit.record(
            s,
            actor="cli",
            action=f"inventory.{args.action}",
            entity="inventory",
            entity_id="*",
            after={"communes": len(inv), "sample": sample},
        )
    print(f"{'SAMPLE ' if sample else ''}inventory of {len(inv)} communes stored")
    return 0


def run_rules_import(args: argparse.Namespace) -> int:
    """Import a JSON or YAML rules file into the database, all or nothing (as ``POST
    /api/v1/rules/import``): exit 1 listing every invalid or contradictory rule by its
    position, 0 when stored (or, with ``--dry-run``, when it would be)."""
    from pathlib import Path

    from api.errors import ServiceError
    from api.services.rules_import import import_rules, rules_document
    from geo.boundaries import load_boundaries
    from geo.rules import RuleError

    settings = _settings()
    communes = set(load_boundaries(settings.boundaries, layer=settings.boundaries_layer).index)
    path = Path(args.file)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        print(
            f"lienxa rules import: error: cannot read {path}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2
    actor = "cli" if args.author == "cli" else f"{args.author} (cli)"
    try:
        items = rules_document(raw, name=path.name)
        with _session() as s:
            created = import_rules(
                s,
                items,
                reason=args.reason,
                author=args.author,
                actor=actor,
                communes=communes,
                dry_run=args.dry_run,
            )
    except RuleError as exc:
        for problem in getattr(exc, "errors", None) or [str(exc)]:
            print(f"lienxa rules import: error: {problem}", file=sys.stderr)
        print(f"lienxa rules import: nothing imported from {path}", file=sys.stderr)
        return 1
    except ServiceError as exc:  # no reason
        print(f"lienxa rules import: error: {exc.detail}", file=sys.stderr)
        return 2
    for v in created:
        rule = v["rule"]
        who = "would be a new rule" if args.dry_run else f"rule {v['id']}"
        print(f"#{v['position']}: {who}: {rule['type']} {rule['a']}-{rule['b']}")
    if args.dry_run:
        print(f"dry run: {len(created)} rules would be imported from {path}; nothing stored")
    else:
        print(f"{len(created)} rules imported from {path} by {args.author}")
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the service commands."""
    p = sub.add_parser("serve", help="run the web service (settings from LIENXA_* variables)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--log-level", default="info")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (default 1); several workers are for PostgreSQL "
        "(SQLite serialises every write, so more workers do not write faster)",
    )
    p.set_defaults(func=run_serve)

    p = sub.add_parser("db", help="database administration")
    dbsub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = dbsub.add_parser("upgrade", help="create or migrate the database")
    up.set_defaults(func=run_db_upgrade)

    p = sub.add_parser("inventory", help="load inventories into the database")
    p.add_argument("action", choices=["import", "sample"])
    p.add_argument("csv", nargs="?", help="inventory CSV (import)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run_inventory)

    p = sub.add_parser("rules", help="adjacency rules in the database")
    rsub = p.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    imp = rsub.add_parser(
        "import",
        help="import a JSON or YAML rules file, all or nothing",
        description="Validate the rules together with the rules in force and store each as "
        "a new rule; with any error, list them all (rule #1 is the first) and "
        "store nothing (exit 1).",
    )
    imp.add_argument(
        "file", help='rules file: JSON, or YAML (.yaml/.yml); a list or {"rules": [...]}'
    )
    imp.add_argument("--reason", required=True, help="why: kept in every imported rule's history")
    imp.add_argument("--author", default="cli", help="recorded as the rules' author (default: cli)")
    imp.add_argument("--dry-run", action="store_true", help="validate and report, store nothing")
    imp.set_defaults(func=run_rules_import)
