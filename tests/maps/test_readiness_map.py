"""The readiness map: offline, coloured by coverage at the chosen level, popups with partners."""

from __future__ import annotations

import json
import re

import pytest

from maps.readiness import BANDS, NO_REGULATION, band_colour, readiness_map
from maps.simplify import DisplayCache

URL = re.compile(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def test_band_colours():
    assert band_colour(0.0) == BANDS[0][1] and band_colour(1.0) == BANDS[-1][1]
    assert band_colour(0.8) == "#fee08b" and band_colour(0.5) == "#fc8d59"


@pytest.fixture(scope="module")
def display(nghe_an_gdf):
    return DisplayCache(nghe_an_gdf).get()


def features(html):
    found = re.findall(r'"features": (\[.*?\]), "type": "FeatureCollection"', html)
    return [f for block in found for f in json.loads(block)]


def test_readiness_map_is_offline_coloured_and_names_partners(display):
    communes, provinces = display
    rows = [
        {
            "commune": "17254",
            "regulations": [3],
            "partners": ["17248"],
            "coverage": {"1": 1.0, "2": 0.6, "3": 0.3},
        },
        {
            "commune": "17248",
            "regulations": [],
            "partners": [],
            "coverage": {"1": 0.4, "2": 0.2, "3": 0.1},
        },
    ]
    for lang, partners, none in (
        ("vi", "Xã phối hợp", "Chưa có quy chế"),
        ("en", "Partners", "No coordination"),
    ):
        html = (
            readiness_map(communes, provinces, rows, level="2", exceeds={"17254"}, lang=lang)
            .get_root()
            .render()
        )
        assert URL.findall(html) == []
        assert partners in html and none in html
    name = communes.loc["17248", "full_name"]
    assert name in html
    m = readiness_map(communes, provinces, rows, level="3").get_root().render()
    assert "#d73027" in m and NO_REGULATION in m
