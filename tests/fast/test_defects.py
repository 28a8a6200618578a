"""The two defects of issue 9, each pinned by a test that fails without its fix (in process).

- Login answered faster for an unknown user than for a wrong password: an unknown (or
  disabled) user skipped the argon2 verification. Counted here, not timed: every failed login
  costs exactly one verification.
- Dispatching an offer whose inventory row is missing was a 500: it is a 409 with a code, and
  nothing is written.
"""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, update

from tests.fast.inprocess import PASSWORD, running_service


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    with running_service(tmp_path_factory.mktemp("defects")) as service:
        yield service


class CountingHasher:
    """The service's argon2 hasher, counting its verifications."""

    def __init__(self, hasher) -> None:
        self.hasher = hasher
        self.verifications = 0

    def verify(self, password_hash, password):
        self.verifications += 1
        return self.hasher.verify(password_hash, password)

    def __getattr__(self, name):
        return getattr(self.hasher, name)


@pytest.fixture
def hasher(monkeypatch):
    import api.auth

    counting = CountingHasher(api.auth._hasher)
    monkeypatch.setattr(api.auth, "_hasher", counting)
    return counting


def verifications_for(svc, hasher, username: str, password: str, status: int) -> int:
    before = hasher.verifications
    r = svc.client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == status, r.text
    return hasher.verifications - before


def test_an_unknown_user_costs_the_same_argon2_verification_as_a_wrong_password(svc, hasher):
    wrong_password = verifications_for(svc, hasher, "lead1", "not the password", 401)
    unknown_user = verifications_for(svc, hasher, "nobody-at-all", "not the password", 401)
    assert wrong_password == 1
    assert unknown_user == wrong_password


def test_a_disabled_user_costs_the_same_verification_too(svc, hasher):
    from api.db import session_scope
    from api.models import User

    with session_scope(svc.state.write_session) as s:
        s.execute(update(User).where(User.username == "lead4").values(active=False))
    try:
        assert verifications_for(svc, hasher, "lead4", PASSWORD, 401) == 1
    finally:
        with session_scope(svc.state.write_session) as s:
            s.execute(update(User).where(User.username == "lead4").values(active=True))


def test_dispatching_an_offer_whose_inventory_row_is_missing_is_409_and_writes_nothing(svc):
    from api.db import session_scope
    from api.models import AuditEntry, InventoryItem, Offer

    request_id = svc.request(quantity=2, resource="militia")
    r = svc.call(
        "lead2", "POST", f"/requests/{request_id}/offers", json={"commune": "10002", "quantity": 2}
    )
    assert r.status_code == 201, r.text
    offer = r.json()["id"]
    assert svc.call("lead1", "POST", f"/offers/{offer}/accept").status_code == 200
    with session_scope(svc.state.write_session) as s:  # the row is gone (e.g. removed by hand)
        s.execute(
            delete(InventoryItem).where(
                InventoryItem.commune_code == "10002", InventoryItem.resource == "militia"
            )
        )
        audit_before = s.scalar(select(func.count()).select_from(AuditEntry))

    r = svc.call("lead2", "POST", f"/offers/{offer}/dispatch")

    assert r.status_code == 409, r.text
    body = r.json()
    assert body["code"] == "inventory_row_missing"
    assert body["params"] == {"offer_id": offer, "commune": "10002", "resource": "militia"}
    with session_scope(svc.state.read_session) as s:
        assert s.get(Offer, offer).status == "accepted"
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == audit_before
        row = s.get(InventoryItem, ("10002", "militia"))
        assert row is None
