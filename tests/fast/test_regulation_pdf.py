"""The regulation document (issue 11, part 6): :func:`api.documents.render_regulation_pdf` on a
hand-made regulation in CONTRACT.md's JSON, read back with ``pdftotext``."""

from __future__ import annotations

import copy

import pytest

from api.documents import DocumentInvalid, DocumentTooLarge, render_regulation_pdf
from api.documents.regulation import MAX_CARDS
from tests.fast.test_orders_pdf import pdf_fonts, pdf_text

pytestmark = pytest.mark.usefixtures("poppler")

CHAU_KHE, CON_CUONG, MON_SON = "17248", "17254", "17249"
NAMES = {CHAU_KHE: "Xã Châu Khê", CON_CUONG: "Xã Con Cuông", MON_SON: "Xã Môn Sơn"}
REGULATION = {
    "id": 7,
    "number": "01/QCPH-CK-CC-MS",
    "title": "Quy chế phối hợp phòng, chống thiên tai và hỗ trợ lẫn nhau",
    "parties": [CHAU_KHE, CON_CUONG, MON_SON],
    "status": "signed",
    "signed_on": "2025-07-25",
    "valid_from": "2025-08-01",
    "valid_to": "2027-07-31",
    "fields": ["disaster_response", "recovery", "staff_secondment"],
    "activities": [
        {
            "field": "staff_secondment",
            "commune": CHAU_KHE,
            "text": "Cử 1 cán bộ công nghệ thông tin trong 2 tuần",
        },
        "Trao đổi kinh nghiệm trồng rừng",
    ],
    "box_cards": [
        {
            "hazard": "flood",
            "level": 2,
            "from": CHAU_KHE,
            "to": CON_CUONG,
            "order": 1,
            "resources": {"militia": 50, "boats": 4},
            "within_minutes": 60,
        },
        {
            "hazard": "flood",
            "level": 2,
            "from": MON_SON,
            "to": CON_CUONG,
            "order": 2,
            "resources": {"life_jackets": 40},
            "within_minutes": 90,
        },
        {
            "hazard": "flood",
            "level": 3,
            "from": CON_CUONG,
            "to": CHAU_KHE,
            "order": 1,
            "resources": {"sandbags": 300},
            "within_minutes": 45,
        },
    ],
    "backfill": [{"helper": CHAU_KHE, "covered_by": MON_SON}],
    "rationale": "Hai xã liền kề, đi lại 35 phút, không ngập cùng lúc.",
}


@pytest.fixture
def poppler():
    import shutil

    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils not installed")


def test_the_regulation_names_the_parties_the_number_and_each_card(tmp_path):
    pdf = render_regulation_pdf(REGULATION, names=NAMES, province="Tỉnh Nghệ An")
    text = pdf_text(pdf, tmp_path)
    assert "Số: 01/QCPH-CK-CC-MS" in text and "QUY CHẾ PHỐI HỢP" in text
    assert "giữa Xã Châu Khê, Xã Con Cuông, Xã Môn Sơn" in text
    assert "Châu Khê, ngày 25 tháng 7 năm 2025" in text
    for basis in ("33/2013/QH13", "60/2020/QH14", "66/2021/NĐ-CP", "72/2025/QH15"):
        assert basis in text
    for article in range(1, 8):
        assert f"Điều {article}." in text
    # each card, as the helper's duty (Article 4)
    assert (
        "Cấp độ 2 (lũ, ngập lụt): gửi dân quân: 50 người; xuồng, ca nô: 4 chiếc tới "
        "Xã Con Cuông trong 60 phút (thứ tự gọi 1)."
    ) in text
    assert "Cấp độ 2 (lũ, ngập lụt): gửi áo phao: 40 cái tới Xã Con Cuông trong 90 phút" in text
    assert "Cấp độ 3 (lũ, ngập lụt): gửi bao cát: 300 bao tới Xã Châu Khê trong 45 phút" in text
    assert "Trực thay bảo vệ địa bàn Xã Châu Khê" in text  # Môn Sơn's backfill duty
    assert "Cử 1 cán bộ công nghệ thông tin trong 2 tuần" in text
    assert "Phụ lục I" in text and "Phụ lục II" in text
    # a signature block for every party
    assert text.count("TM. ỦY BAN NHÂN DÂN") == 3
    assert text.count("(Ký, ghi rõ họ tên, đóng dấu)") == 3
    assert "DỰ THẢO" not in text  # signed


def test_a_draft_is_marked_and_left_undated(tmp_path):
    draft = {**REGULATION, "status": "draft", "signed_on": None}
    text = pdf_text(render_regulation_pdf(draft, names=NAMES), tmp_path)
    assert "DỰ THẢO" in text and "ngày ..... tháng ..... năm ....." in text


def test_english_and_embedded_fonts(tmp_path):
    pdf = render_regulation_pdf(REGULATION, names=NAMES, lang="en", url="http://x/r/7")
    text = pdf_text(pdf, tmp_path)
    assert "COORDINATION REGULATION" in text and "Article 4. Duties of each party" in text
    assert "Level 3 (flood): send sandbags: 300 bags to Xã Châu Khê within 45 minutes" in text
    assert "Châu Khê, 25 July 2025" in text and text.count("FOR THE PEOPLE'S COMMITTEE") == 3
    fonts = pdf_fonts(pdf, tmp_path)
    assert fonts and all(row[-5] == "yes" for row in fonts)
    assert any("Liberation-Serif" in row[0] for row in fonts)


def test_an_absurd_regulation_is_refused_before_layout():
    big = copy.deepcopy(REGULATION)
    big["box_cards"] = [REGULATION["box_cards"][0]] * (MAX_CARDS + 1)
    with pytest.raises(DocumentTooLarge) as e:
        render_regulation_pdf(big, names=NAMES)
    assert (e.value.code, e.value.params) == (
        "document_too_large",
        {"what": "box_cards", "count": MAX_CARDS + 1, "max": MAX_CARDS},
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"number": ""}, "number"),
        ({"parties": [CHAU_KHE]}, "parties"),
        ({"signed_on": "25/07/2025"}, "signed_on"),
        ({"box_cards": [{"level": 2, "to": CON_CUONG}]}, "box_cards.0"),
        ({"fields": "disaster_response"}, "fields"),
    ],
)
def test_a_regulation_missing_what_it_must_say_is_refused(change, field):
    with pytest.raises(DocumentInvalid) as e:
        render_regulation_pdf({**REGULATION, **change}, names=NAMES)
    assert (e.value.code, e.value.field) == ("document_invalid", field)
