"""``lienxa regulations import FILE.yaml`` / ``export ID --out FILE.yaml``, in process."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.fast.test_accounts_cli import lienxa  # noqa: F401  (the fixture)
from tests.fast.test_regulations import regulation


def test_import_yaml_export_and_import_back(lienxa, tmp_path: Path):  # noqa: F811
    assert lienxa("db", "upgrade")[0] == 0
    src = tmp_path / "qc.yaml"
    src.write_text(yaml.safe_dump(regulation(), allow_unicode=True), encoding="utf-8")
    code, out, err = lienxa("regulations", "import", str(src))
    assert code == 0, err
    assert "regulation 1 (01/QC-PH) imported as a draft" in out
    dst = tmp_path / "out.yaml"
    code, out, err = lienxa("regulations", "export", "1", "--out", str(dst))
    assert code == 0, err
    exported = yaml.safe_load(dst.read_text(encoding="utf-8"))
    assert exported["title"] == "Quy chế phối hợp Đông Hà – Tây Sơn"
    assert exported["box_cards"][0]["resources"] == {"boats": 2, "militia": 10}
    code, out, err = lienxa("regulations", "import", str(dst))  # an export imports back
    assert code == 0, err
    assert "regulation 2" in out


def test_import_with_an_unknown_field_stores_nothing(lienxa, tmp_path: Path):  # noqa: F811
    assert lienxa("db", "upgrade")[0] == 0
    src = tmp_path / "qc.yaml"
    src.write_text(yaml.safe_dump(regulation(scope="x"), allow_unicode=True), encoding="utf-8")
    code, _, err = lienxa("regulations", "import", str(src))
    assert code == 1
    assert "scope" in err and "nothing imported" in err
    assert lienxa("regulations", "export", "1", "--out", str(tmp_path / "o.yaml"))[0] == 1
