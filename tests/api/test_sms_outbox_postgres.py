"""The outbox on PostgreSQL: two workers claiming at once take different rows, without waiting
for each other (``FOR UPDATE SKIP LOCKED``), and a row whose worker died is due again."""

from __future__ import annotations

import datetime as dt

from tests.api.conftest import postgres_write_sessions


def test_two_workers_claim_different_rows_and_a_dead_workers_lease_ends(tmp_path):
    from api.models import SmsOutgoing, utcnow
    from api.services.sms_out import BATCH, LEASE, claim

    with postgres_write_sessions(tmp_path) as write:
        with write() as s, s.begin():
            for k in range(BATCH + 10):
                s.add(SmsOutgoing(key=f"k{k}", to_phone="+84912000001", message="sms.help"))
        now = utcnow()
        first, second = write(), write()
        try:
            a = {c.id for c in claim(first, {}, now=now)}  # still in its transaction
            b = {c.id for c in claim(second, {}, now=now)}  # does not wait for the first
            assert len(a) == BATCH and len(b) == 10 and not a & b
            second.commit()
            first.rollback()  # the first worker dies before recording anything
        finally:
            first.close()
            second.close()
        with write() as s, s.begin():
            again = {c.id for c in claim(s, {}, now=now + dt.timedelta(seconds=1))}
        assert again == a  # its rows are free again; the second's are leased
        with write() as s, s.begin():
            later = {c.id for c in claim(s, {}, now=now + LEASE + dt.timedelta(seconds=2))}
        assert later == set(sorted(a | b)[:BATCH])  # every lease ended: due again, oldest first
