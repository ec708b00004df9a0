"""CSV for people (shopee_core.io): a text cell a spreadsheet would run as a formula is written with
a leading apostrophe (OWASP); numbers and every other text come back exactly as they were."""

from __future__ import annotations

import csv
import io

import pandas as pd

from shopee_core.io import atomic_write_people_csv, formula_safe, people_csv

DANGEROUS = ["=HYPERLINK(\"http://tracker.invalid/x\",\"klik\")", "+62 812 promo", "-10% diskon", "@toko resmi",
             "\tdata", "\rline", "=1+1"]
HARMLESS = ["kaos polos", " =not first", "a=b", "'quoted", "", "100% cotton", "√ -ok"]


def _read(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_people_csv_neutralises_formula_cells_and_keeps_the_rest(tmp_path):
    titles = DANGEROUS + HARMLESS
    frame = pd.DataFrame({"posting_id": [f"train_{i}" for i in range(len(titles))], "title": titles,
                          "f1": [-0.5] * len(titles), "delta": [-1] * len(titles),
                          "mixed": ["-2", 3.5] + [None] * (len(titles) - 2)})
    path = tmp_path / "failures.csv"
    atomic_write_people_csv(path, frame)
    rows = _read(path)
    assert [r["title"] for r in rows] == ["'" + t for t in DANGEROUS] + HARMLESS
    assert {r["f1"] for r in rows} == {"-0.5"} and {r["delta"] for r in rows} == {"-1"}  # numbers are not text
    assert rows[0]["mixed"] == "'-2" and rows[1]["mixed"] == "3.5"  # a text cell among numbers is still text
    assert [r["posting_id"] for r in rows] == list(frame["posting_id"])
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically


def test_formula_safe_covers_string_dtypes_and_column_names():
    frame = pd.DataFrame({"=sum": pd.array(["@x", "y", None], dtype="string"), "n": [1, -2, 3]})
    out = formula_safe(frame)
    assert list(out.columns) == ["'=sum", "n"]
    assert out["'=sum"].tolist()[:2] == ["'@x", "y"] and pd.isna(out["'=sum"].iloc[2])
    assert out["n"].tolist() == [1, -2, 3]
    assert list(frame.columns) == ["=sum", "n"] and frame["=sum"].iloc[0] == "@x"  # the input is untouched
    back = list(csv.reader(io.StringIO(people_csv(frame), newline="")))
    assert back == [["'=sum", "n"], ["'@x", "1"], ["y", "-2"], ["", "3"]]
