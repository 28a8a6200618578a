"""The incoming SMS rate limit on PostgreSQL, with deliveries from one number handled at the
same instant by two processes (two sessions here): the second waits for the first's commit and
counts its row (:func:`api.services.sms_in.lock_sender`), instead of both passing at the limit."""

from __future__ import annotations

import threading
import time

from tests.api.conftest import postgres_write_sessions

PHONE = "+84912000077"


def _waiting_on_advisory_lock(sessions) -> bool:
    from sqlalchemy import text

    with sessions() as c:
        return bool(
            c.scalar(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    " AND database = (SELECT oid FROM pg_database"
                    " WHERE datname = current_database())"
                )
            )
        )


def test_a_second_delivery_at_the_limit_waits_and_counts_the_first(tmp_path):
    from api.models import SmsIncoming, utcnow
    from api.services.sms_in import RATE_LIMIT, handle_incoming

    with postgres_write_sessions(tmp_path) as write:
        now = utcnow()
        with write() as s, s.begin():  # one short of the limit, within the window
            for k in range(RATE_LIMIT - 1):
                s.add(SmsIncoming(from_phone=PHONE, text=f"HELP {k}", received_at=now))

        def deliver(session, text: str) -> str:
            return handle_incoming(
                session, phone=PHONE, text=text, kannel_id=None, communes_by_province={}
            ).result

        first = write()
        second_result: list[str] = []

        def second() -> None:
            with write() as s, s.begin():
                second_result.append(deliver(s, "HELP second"))

        try:
            first.begin()
            assert deliver(first, "HELP first") == "unknown_number"  # the limit's last one
            other = threading.Thread(target=second)
            other.start()
            # until the second has either finished (no lock: it could not see the first's
            # uncommitted row) or is queued behind the first's lock
            deadline = time.monotonic() + 60
            while other.is_alive() and not _waiting_on_advisory_lock(write):
                assert time.monotonic() < deadline, "the second delivery neither ran nor waited"
                time.sleep(0.02)
            first.commit()
        finally:
            first.close()
        other.join(60)
        assert second_result == ["rate_limited"]  # it counted the first's row: over the limit
