"""Atomic writes and the locked JSON-lines log: concurrent appends all land, a torn last line is ignored
(and cut off by the next append), temporary files of killed writers are swept, never a live one's.
CSV for people: a text cell a spreadsheet would run as a formula is written with a leading apostrophe
(OWASP); numbers and every other text come back exactly as they were."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from shopee_core import faults
from shopee_core.errors import ShopeeError
from shopee_core.io import (
    append_jsonl,
    atomic_write_people_csv,
    atomic_write_text,
    formula_safe,
    people_csv,
    read_jsonl,
    sweep_temp,
)

ROOT = Path(__file__).resolve().parents[1]
APPENDER = """
import sys
from shopee_core.io import append_jsonl
path, who = sys.argv[1], int(sys.argv[2])
for i in range(100):
    append_jsonl(path, {"who": who, "i": i, "text": "x" * (i * 37 % 3000)})
"""


def test_concurrent_appends_from_several_processes_all_land_whole(tmp_path):
    path = tmp_path / "b.reviews.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", APPENDER, str(path), str(w)], env=env) for w in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0] * 4
    records = read_jsonl(path)
    assert len(records) == 400
    for w in range(4):  # each writer's records whole and in its order
        assert [r["i"] for r in records if r["who"] == w] == list(range(100))
    assert all(r["text"] == "x" * (r["i"] * 37 % 3000) for r in records)


def test_a_torn_last_line_is_ignored_on_read_and_cut_off_by_the_next_append(tmp_path, caplog):
    path = tmp_path / "log.jsonl"
    append_jsonl(path, {"a": 1}, {"a": 2})
    with open(path, "ab") as fh:
        fh.write(b'{"a": 3, "tex')  # a writer killed mid-line: never acknowledged
    with caplog.at_level(logging.WARNING, logger="shopee_core.io"):
        assert read_jsonl(path) == [{"a": 1}, {"a": 2}]
    assert any("ignored a torn last line (line 3" in r.getMessage() for r in caplog.records)
    append_jsonl(path, {"a": 4, "title": "tas\nkulit <b>"})  # text with a newline stays one line
    assert read_jsonl(path) == [{"a": 1}, {"a": 2}, {"a": 4, "title": "tas\nkulit <b>"}]
    assert path.read_bytes().count(b"\n") == 3
    assert any("dropped a torn last line" in r.getMessage() for r in caplog.records)
    assert read_jsonl(tmp_path / "none.jsonl") == []


def test_a_bad_line_that_is_not_the_torn_tail_is_a_one_line_error(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"a": 1}\nnot json\n{"a": 2}\n')
    with pytest.raises(ShopeeError, match=r"log.jsonl: line 2 is not valid JSON"):
        read_jsonl(path)
    path.write_text('{"a": 1}\n[1, 2]\n')
    with pytest.raises(ShopeeError, match="line 2 is not a JSON object"):
        read_jsonl(path)


def test_an_append_on_a_full_disk_changes_nothing(tmp_path):
    path = tmp_path / "log.jsonl"
    append_jsonl(path, {"a": 1})
    before = path.read_bytes()
    faults.configure(enospc="append:log.jsonl")
    try:
        with pytest.raises(OSError) as exc:
            append_jsonl(path, {"a": 2})
    finally:
        faults.configure()
    assert exc.value.errno == 28 and path.read_bytes() == before


def test_sweep_removes_only_temporary_files_of_dead_writers(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".e.npy.{dead_pid}-abc123.tmp"
    live = tmp_path / f".e.npy.{os.getpid()}-def456.tmp"
    other = tmp_path / f".x.npy.{dead_pid}-ghi789.tmp"
    mine = tmp_path / ".hidden.tmp"  # not a name atomic_path makes
    for p in (stale, live, other, mine):
        p.write_bytes(b"half")
    assert sweep_temp(tmp_path, name="e.npy") == [stale.name]
    assert sorted(sweep_temp(tmp_path)) == [other.name]
    assert live.exists() and mine.exists()


def test_an_atomic_write_killed_before_its_rename_leaves_the_old_file(tmp_path):
    path = tmp_path / "a.json"
    atomic_write_text(path, json.dumps({"v": 1}))
    faults.configure(enospc="write:a.json")
    try:
        with pytest.raises(OSError):
            atomic_write_text(path, json.dumps({"v": 2}))
    finally:
        faults.configure()
    assert json.loads(path.read_text()) == {"v": 1} and [p.name for p in tmp_path.iterdir()] == ["a.json"]


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
