"""geo.regulation: every unknown field is an error, cards only between parties, catalogue
resources and positive quantities; staff secondment in people with a skill; validity."""

from __future__ import annotations

import datetime as dt

import pytest

from geo.regulation import RegulationError, parse_regulation
from geo.resources import load_catalogue

CATALOGUE = set(load_catalogue())
A, B, C = "17248", "17254", "16876"


def base(**over):
    return {
        "number": "15/QC-PH",
        "title": "Quy chế phối hợp",
        "parties": [A, B],
        "box_cards": [
            {
                "hazard": "flood",
                "level": 2,
                "from": A,
                "to": B,
                "order": 1,
                "resources": {"militia": 50},
                "within_minutes": 60,
            }
        ],
        **over,
    }


def problems(data, **kw):
    with pytest.raises(RegulationError) as exc:
        parse_regulation(data, catalogue=CATALOGUE, **kw)
    assert exc.value.code == "regulation_invalid"
    assert exc.value.params == {"count": len(exc.value.problems)}
    return [(p.code, p.field) for p in exc.value.problems]


def test_a_regulation_round_trips_as_the_contract_json():
    reg = parse_regulation(base(valid_from="2026-01-01"), catalogue=CATALOGUE)
    out = reg.to_dict()
    assert out["box_cards"] == [
        {"hazard": "flood", "level": 2, "from": A, "to": B, "order": 1,
         "resources": {"militia": 50}, "within_minutes": 60}
    ]  # fmt: skip
    assert parse_regulation(out, catalogue=CATALOGUE) == reg
    assert [c.giver for c in reg.cards_for("flood", 2)] == [A]
    assert reg.cards_for("flood", 3) == []


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (base(scope="x"), [("regulation_unknown_field", "scope")]),
        (base(backfill=[{"helper": A, "covered_by": B, "why": 1}]),
         [("regulation_unknown_field", "backfill[0].why")]),
        (base(parties=[A], box_cards=[]), [("regulation_parties_too_few", "parties")]),
        (base(number=""), [("regulation_value_invalid", "number")]),
        (base(status="approved"), [("regulation_value_invalid", "status")]),
        (base(valid_from="2026-02-01", valid_to="2026-01-01"),
         [("valid_to_before_valid_from", "valid_to")]),
        (base(backfill=[{"helper": A, "covered_by": C}]),
         [("regulation_not_a_party", "backfill[0].covered_by")]),
        (base(activities=[{"field": "staff_secondment", "text": "IT",
                           "people": [{"skill": "IT officer", "count": 0}]}]),
         [("regulation_quantity_invalid", "activities[0].people[0].count")]),
    ],
)  # fmt: skip
def test_each_problem_is_named_by_code_and_field(data, expected):
    assert problems(data) == expected


def test_pairs_of_parties_are_checked_with_the_plan_graph():
    linked = {frozenset((A, B)), frozenset((B, C))}
    data = base(parties=[A, B, C])
    assert problems(data, linked=lambda a, b: frozenset((a, b)) in linked) == [
        ("regulation_parties_not_linked", "parties")
    ]
    assert problems(base(parties=[A, B, "99999"]), communes={A, B}) == [
        ("unknown_commune", "parties")
    ]


def test_staff_secondment_in_people_with_a_skill_and_validity():
    reg = parse_regulation(
        base(
            status="signed",
            valid_from="2026-01-01",
            valid_to="2026-12-31",
            fields=["staff_secondment", "economic_development"],
            activities=[{"field": "staff_secondment", "text": "cử cán bộ CNTT", "from": A,
                         "to": B, "people": [{"skill": "IT officer", "count": 1, "days": 14}]}],
        ),
        catalogue=CATALOGUE,
    )  # fmt: skip
    assert reg.activities[0]["people"] == [{"skill": "IT officer", "count": 1, "days": 14}]
    assert reg.valid_on(dt.date(2026, 6, 1))
    assert not reg.valid_on(dt.date(2027, 1, 1))
    assert not parse_regulation(base(), catalogue=CATALOGUE).valid_on(dt.date(2026, 6, 1))
