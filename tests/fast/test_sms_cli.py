"""``lienxa users add --phone`` and ``lienxa sms outbox``, in process."""

from __future__ import annotations

import json

from tests.fast.conftest import GIVES, PASSWORD
from tests.fast.test_accounts_cli import lienxa  # noqa: F401  (the fixture)


def test_users_add_stores_the_phone_normalised_and_refuses_a_taken_one(lienxa):  # noqa: F811
    assert lienxa("db", "upgrade")[0] == 0
    add = ("users", "add", "--password-stdin")
    code, _, err = lienxa(
        *add,
        "tayson",
        "--role",
        "commune_leader",
        "--commune",
        GIVES,
        "--phone",
        "0912 000 002",
        stdin=PASSWORD + "\n",
    )
    assert code == 0, err
    code, _, err = lienxa(
        *add, "x2", "--role", "planner", "--phone", "+84912000002", stdin=PASSWORD + "\n"
    )
    assert code == 2 and "+84912000002" in err
    code, _, err = lienxa(*add, "x3", "--role", "planner", "--phone", "12", stdin=PASSWORD + "\n")
    assert code == 2 and "not a phone number" in err
    import sqlite3

    rows = sqlite3.connect(lienxa.db()).execute("SELECT username, phone FROM users").fetchall()
    assert rows == [("tayson", "+84912000002")]
    code, out, _ = lienxa("sms", "outbox")
    assert code == 0 and [json.loads(line) for line in out.splitlines()] == []
