"""``lienxa sms``: send the SMS outbox through Kannel once (or in a loop), list it."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any


def _names() -> dict[str, str]:
    """Commune code -> name from the configured boundaries (codes alone when none load)."""
    from api.settings import get_settings
    from geo.boundaries import find_boundaries_file, load_boundaries

    settings = get_settings()
    try:
        gdf = load_boundaries(
            find_boundaries_file(settings.boundaries), layer=settings.boundaries_layer
        )
    except (OSError, ValueError) as exc:
        print(
            f"lienxa sms: boundaries not loaded ({exc}): texts name communes by code",
            file=sys.stderr,
        )
        return {}
    return {str(k): str(v) for k, v in gdf["name"].items()}


def _factory() -> Any:
    from api.db import make_engine, make_sessionmaker
    from api.settings import get_settings

    settings = get_settings()
    _, write = make_sessionmaker(make_engine(settings.resolved_database_url(), settings))
    return write


def run_send_queue(args: argparse.Namespace) -> int:
    """Send what is due in the outbox (``--loop``: every ``--every`` seconds until stopped)."""
    from api.services.sms_out import send_due
    from api.settings import get_settings

    url = get_settings().sms_send_url
    if not url:
        print("lienxa sms send-queue: error: set LIENXA_SMS_SEND_URL", file=sys.stderr)
        return 2
    factory, names = _factory(), _names()
    while True:
        counts = send_due(factory, url, names)
        print(f"sent {counts['sent']}, failed {counts['failed']}")
        if not args.loop:
            return 0
        time.sleep(args.every)


def run_outbox(args: argparse.Namespace) -> int:
    """Print the outbox as JSON lines."""
    from api.db import session_scope
    from api.services.sms_out import outbox_rows

    with session_scope(_factory()) as s:
        for row in outbox_rows(s, to=args.to):
            print(json.dumps(row, default=str, ensure_ascii=False))
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("sms", help="the SMS outbox (Kannel)")
    ssub = p.add_subparsers(dest="sms_command", metavar="ACTION", required=True)
    q = ssub.add_parser("send-queue", help="send the due SMS through LIENXA_SMS_SEND_URL")
    q.add_argument("--loop", action="store_true", help="keep sending until stopped")
    q.add_argument("--every", type=float, default=2.0, help="seconds between rounds (--loop)")
    q.set_defaults(func=run_send_queue)
    o = ssub.add_parser("outbox", help="list the outbox (JSON lines)")
    o.add_argument("--to", help="only the SMS to this number")
    o.set_defaults(func=run_outbox)
